// Elastic plugins: replicas against one instance on a CPU-bound method, and calls under constant load while a
// plugin's four replicas roll to a new version, then retire at MaxLifetime one by one.
import { join } from "node:path";
import { createPluginHost, type PluginHost, PluginHostError, type ShutdownReason } from "../mod.ts";
import type { Row } from "./_row.ts";
import { alternate, callsPerSecond, pairedRatio, sleep } from "./_stats.ts";

const quiet = { watchConfig: false } as const;

/** Deterministic CPU work: `n` rounds of xorshift32. Also runs here, to size `n` to ~5 ms. */
function spin(n: number): number {
  let x = 2463534242;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  return x | 0;
}

/** The rolling plugin's module: `work` holds its call across a timer tick, so calls stay in flight. */
const rollingModule = (version: number): string =>
  `const V = ${version};
export default {
  methods: { work: () => new Promise((r) => setTimeout(() => r(V), 1)) },
};
`;

/** Writes (or rewrites) plugin `id` in `root/id`: its manifest and mod.js. */
async function writePlugin(
  root: string,
  id: string,
  version: string,
  code: string,
  capabilities: readonly string[],
): Promise<string> {
  const folder = join(root, id);
  await Deno.mkdir(folder, { recursive: true });
  await Deno.writeTextFile(join(folder, "mod.js"), code);
  const manifest = { id, name: id, version, entry: "mod.js", capabilities };
  await Deno.writeTextFile(join(folder, "plugin.json"), JSON.stringify(manifest));
  return folder;
}

/** Iterations of `spin` that take about `ms` on this thread (after warming it up). */
function calibrate(ms: number): number {
  for (let i = 0; i < 20; i++) spin(100_000);
  const n = 2_000_000, times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    spin(n);
    times.push(performance.now() - t0);
  }
  return Math.round(n * ms / Math.min(...times));
}

/**
 * `Replicas: 2` against `Replicas: 1` of the same Scalable plugin (two ids, one module) on ~5 ms of pure-JS
 * work per call, `depth` calls in flight, `calls` per sample, rounds alternating. Target ≥ 1.7× on 2 cores.
 */
export async function replicasRow(rounds: number, calls: number, depth = 64): Promise<Row> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_bench_" }));
  const code = `const spin = ${spin.toString()};\nexport default { methods: { spin } };\n`;
  for (const id of ["bench.one", "bench.two"]) await writePlugin(root, id, "1.0.0", code, ["Scalable"]);
  const host = await createPluginHost({
    Plugins: { PluginsDirectory: root, "bench.one": { Replicas: 1 }, "bench.two": { Replicas: 2 } },
  }, quiet);
  try {
    await host.start();
    const n = calibrate(5);
    const expected = spin(n);
    const one = host.getPlugin("bench.one")!, two = host.getPlugin("bench.two")!;
    let wrong = 0;
    const call = (p: typeof one) => async (): Promise<void> => {
      if (await p.call("spin", n) !== expected) wrong++;
    };
    for (const p of [one, two]) await callsPerSecond(2 * depth, depth, call(p)); // JIT in every replica
    const m = await alternate(rounds, {
      one: () => callsPerSecond(calls, depth, call(one)),
      two: () => callsPerSecond(calls, depth, call(two)),
    });
    const perReplica = two.getMetrics().replicas?.map((r) => r.calls).join(" + ") ?? "?";
    return {
      scenario: `replicas: ~5 ms CPU-bound calls, ${depth} in flight`,
      unit: "calls/s",
      baseline: "Replicas: 1",
      baselineValue: m.one.median,
      subject: "Replicas: 2",
      subjectValue: m.two.median,
      ratio: pairedRatio(m.two, m.one),
      target: { op: ">=", value: 1.7 },
      ok: wrong === 0,
      note: `${rounds} rounds of ${calls} calls; spin(${n}) ≈ ${(1000 / m.one.median).toFixed(2)} ms ` +
        `per call on one replica; calls per replica of Replicas: 2 (warm-up included) ${perReplica}` +
        (wrong ? `; ${wrong} wrong answers` : ""),
    };
  } finally {
    await host.stop();
    await Deno.remove(root, { recursive: true });
  }
}

/** `depth` callers, each calling again as soon as its call settles, until stopped; counts what happened. */
class Load {
  served = 0;
  failed = 0;
  readonly errors = new Map<string, number>();
  readonly versions = new Map<unknown, number>();
  #stopped = false;
  readonly #lanes: Promise<void>[];

  constructor(depth: number, call: () => Promise<unknown>) {
    const lane = async (): Promise<void> => {
      while (!this.#stopped) {
        try {
          const v = await call();
          this.served++;
          this.versions.set(v, (this.versions.get(v) ?? 0) + 1);
        } catch (e) {
          this.failed++;
          const code = e instanceof PluginHostError ? e.code : e instanceof Error ? e.name : String(e);
          this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
        }
      }
    };
    this.#lanes = Array.from({ length: depth }, lane);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#lanes);
  }
}

/** Counts the host's `shutdown` events by reason while it runs. */
function countShutdowns(host: PluginHost): Map<ShutdownReason, number> {
  const counts = new Map<ShutdownReason, number>();
  host.on("shutdown", (e) => counts.set(e.reason, (counts.get(e.reason) ?? 0) + 1));
  return counts;
}

const ID = "bench.roll";
const CAPS = ["Scalable", "HotReloadable"];
const reasons = (m: Map<ShutdownReason, number>): string =>
  [...m].map(([k, v]) => `${k} ${v}`).join(", ") || "none";
const errorsOf = (load: Load): string =>
  load.failed ? ` (${[...load.errors].map(([k, v]) => `${k} ${v}`).join(", ")})` : "";

/** One round: v1 under load, `host.reload` to v2 (rolled one replica at a time), until v2 answers. */
async function rollOnce(root: string, depth: number) {
  await writePlugin(root, ID, "1.0.0", rollingModule(1), CAPS);
  const host = await createPluginHost({ Plugins: { PluginsDirectory: root, [ID]: { Replicas: 4 } } }, quiet);
  const shutdowns = countShutdowns(host);
  try {
    await host.start();
    const p = host.getPlugin(ID)!;
    const load = new Load(depth, () => p.call("work"));
    await sleep(200);
    const s0 = load.served;
    await sleep(500);
    const before = load.served, t0 = performance.now(), steady = (before - s0) / 0.5;
    await writePlugin(root, ID, "1.0.1", rollingModule(2), CAPS);
    await host.reload(ID);
    const rollMs = performance.now() - t0, duringRoll = load.served - before;
    await sleep(300);
    await load.stop();
    const rate = duringRoll / (rollMs / 1000);
    const latest = await p.call("work"), replicas = p.getMetrics().replicas?.length;
    const reload = shutdowns.get("reload") ?? 0, seen = new Map(shutdowns);
    return { load, rollMs, rate, steady, latest, replicas, reload, shutdowns: seen };
  } finally {
    await host.stop(); // also when the reload failed: no host left running for the next round
  }
}

/** One round: v2 with MaxLifetime under load until every one of its 4 replicas was retired and replaced. */
async function retireOnce(root: string, depth: number, lifetimeMs: number) {
  const host = await createPluginHost({
    Plugins: { PluginsDirectory: root, [ID]: { Replicas: 4, ResourceLimits: { MaxLifetime: lifetimeMs } } },
  }, quiet);
  const shutdowns = countShutdowns(host);
  try {
    await host.start();
    const p = host.getPlugin(ID)!;
    const retired = () => shutdowns.get("retired:lifetime") ?? 0;
    const load = new Load(depth, () => p.call("work"));
    const t0 = performance.now();
    while (retired() < 4 && performance.now() - t0 < lifetimeMs + 20_000) await sleep(20);
    const allMs = performance.now() - t0;
    await sleep(200);
    await load.stop();
    const count = retired(), replicas = p.getMetrics().replicas?.length;
    return { load, count, allMs, replicas, shutdowns: new Map(shutdowns) };
  } finally {
    await host.stop();
  }
}

/**
 * A Scalable, HotReloadable plugin with `Replicas: 4` under `depth` calls in flight: a hot reload rolls its
 * replicas to a new version one at a time (expect 4 `shutdown` events with reason `reload`), then a host with
 * `MaxLifetime` retires and replaces each replica (4 `retired:lifetime`). Target: no call fails.
 */
export async function rollingRows(rounds: number, depth = 64, lifetimeMs = 1500): Promise<Row[]> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_bench_" }));
  try {
    let served = 0, failed = 0, reloads = 0, stale = 0, shrunk = 0, rollErrors = "";
    const rollMs: number[] = [],
      rates: number[] = [],
      steady: number[] = [],
      other = new Map<ShutdownReason, number>();
    let rServed = 0, rFailed = 0, retired = 0, rErrors = "", rShrunk = 0;
    const retireMs: number[] = [], rOther = new Map<ShutdownReason, number>();
    for (let r = 0; r < rounds; r++) {
      const roll = await rollOnce(root, depth);
      served += roll.load.served, failed += roll.load.failed, reloads += roll.reload;
      rollErrors += errorsOf(roll.load);
      rollMs.push(roll.rollMs), rates.push(roll.rate), steady.push(roll.steady);
      if (roll.latest !== 2) stale++;
      if (roll.replicas !== 4) shrunk++;
      for (const [k, v] of roll.shutdowns) if (k !== "reload") other.set(k, (other.get(k) ?? 0) + v);
      const ret = await retireOnce(root, depth, lifetimeMs);
      rServed += ret.load.served, rFailed += ret.load.failed, retired += ret.count;
      rErrors += errorsOf(ret.load);
      retireMs.push(ret.allMs);
      if (ret.replicas !== 4) rShrunk++;
      for (const [k, v] of ret.shutdowns) {
        if (k !== "retired:lifetime") rOther.set(k, (rOther.get(k) ?? 0) + v);
      }
    }
    const ms = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(", ");
    return [{
      scenario: `rolling reload of 4 replicas, ${depth} calls in flight (${rounds} rounds)`,
      unit: "calls",
      baseline: "calls served",
      baselineValue: served,
      subject: "calls failed",
      subjectValue: failed,
      ratio: failed / served,
      target: { op: "<=", value: 0 },
      ok: reloads === 4 * rounds && stale === 0 && shrunk === 0,
      note: `shutdown reload ${reloads} (4 per round), other shutdowns: ${reasons(other)}; roll took ` +
        `${ms(rollMs)} ms, at ${ms(rates)} calls/s against ${ms(steady)} before it; v2 answering after: ` +
        `${rounds - stale}/${rounds}${rollErrors}`,
    }, {
      scenario:
        `MaxLifetime ${lifetimeMs} ms: 4 replicas retired and replaced, ${depth} in flight (${rounds} rounds)`,
      unit: "calls",
      baseline: "calls served",
      baselineValue: rServed,
      subject: "calls failed",
      subjectValue: rFailed,
      ratio: rFailed / rServed,
      target: { op: "<=", value: 0 },
      ok: retired >= 4 * rounds && rShrunk === 0,
      note: `shutdown retired:lifetime ${retired} (≥ 4 per round), other shutdowns: ${reasons(rOther)}; ` +
        `all 4 retired ${ms(retireMs)} ms after the load began${rErrors}`,
    }];
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}
