// Metrics overhead: pipelined call throughput through the host with Plugins.EnableMetrics true vs false.
//   deno run --unstable-worker-options --no-prompt -A bench/metrics_bench.ts [rounds=10] [calls=20000] [depth=64]
// Two hosts on the bundled plugins, each calling hello.world `sum` with `depth` calls in flight; the rounds
// alternate (on, off, off, on, ...) so drift on the machine hits both alike. Prints calls/s per round and the
// median of the per-pair ratios.
import { CallMetrics, createPluginHost, type PluginHandle, type PluginHost } from "../mod.ts";

const rounds = Number(Deno.args[0] ?? 10);
const calls = Number(Deno.args[1] ?? 20_000);
const depth = Number(Deno.args[2] ?? 64);
const pluginsDir = new URL("../plugins", import.meta.url).pathname;

async function hostFor(enableMetrics: boolean): Promise<{ host: PluginHost; hello: PluginHandle }> {
  const host = await createPluginHost({
    Plugins: { PluginsDirectory: pluginsDir, EnableMetrics: enableMetrics },
  });
  await host.start();
  return { host, hello: host.getPlugin("hello.world")! };
}

/** Calls per second for `n` calls with `depth` of them in flight at any time. */
async function throughput(hello: PluginHandle, n: number): Promise<number> {
  const args = [1, 2, 3];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      next++;
      await hello.call("sum", args);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: depth }, lane));
  return n / ((performance.now() - t0) / 1000);
}

const median = (xs: readonly number[]): number => {
  const s = xs.toSorted((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const on = await hostFor(true);
const off = await hostFor(Deno.env.get("BENCH_AA") === "1"); // BENCH_AA=1: both on (an A/A check)
// Warm up both (JIT, worker start).
await throughput(on.hello, calls / 2);
await throughput(off.hello, calls / 2);

const ratios: number[] = [];
const onRates: number[] = [];
const offRates: number[] = [];
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? [on, off] : [off, on];
  const rates = new Map<unknown, number>();
  for (const h of order) rates.set(h, await throughput(h.hello, calls));
  const a = rates.get(on)!, b = rates.get(off)!;
  onRates.push(a);
  offRates.push(b);
  ratios.push(a / b);
  console.log(
    `round ${r + 1}: metrics on ${a.toFixed(0)} calls/s, off ${b.toFixed(0)} calls/s, on/off ${
      (a / b).toFixed(4)
    }`,
  );
}
const m = median(ratios);
console.log(
  `median: on ${median(onRates).toFixed(0)} calls/s, off ${median(offRates).toFixed(0)} calls/s, ` +
    `on/off ${m.toFixed(4)} (overhead ${((1 - m) * 100).toFixed(2)}%)`,
);
// The metrics' own cost per call, measured alone (robust to load on the machine): begin() and its end.
const cm = new CallMetrics();
const N = 2_000_000;
for (let i = 0; i < N / 10; i++) cm.begin()(undefined);
const t1 = performance.now();
for (let i = 0; i < N; i++) cm.begin()(undefined);
const nsPerCall = ((performance.now() - t1) * 1e6) / N;
const offRate = median(offRates);
console.log(
  `CallMetrics begin+end: ${nsPerCall.toFixed(0)} ns per call = ${(nsPerCall * offRate / 1e7).toFixed(3)}% ` +
    `of a call at ${offRate.toFixed(0)} calls/s`,
);
const counted = on.hello.getMetrics().calls;
const uncounted = off.hello.getMetrics().calls;
console.log(`calls counted: metrics on ${counted}, metrics off ${uncounted}`);
await on.host.stop();
await off.host.stop();
