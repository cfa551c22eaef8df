// Isolation tiers side by side: spawn time (start → Running), call round trip, idle RSS per plugin.
//
//   deno run --unstable-worker-options --no-prompt -A bench/tiers_compare.ts [plugins=10] [calls=2000]
//
// Each tier is measured in a fresh process of this script (so one tier's leftovers never count against the
// next). Idle RSS per plugin: for the worker tiers, the host's RSS growth from starting N plugins, divided by N;
// for the process tier, each child's VmRSS (/proc/<pid>/status) and, apart, the host's own growth per plugin.
import { tierHost, type TierName, TIERS } from "./_tiers_setup.ts";

interface Result {
  readonly tier: TierName;
  readonly spawnMedianMs: number;
  readonly spawnP90Ms: number;
  readonly callMedianUs: number;
  readonly callP90Us: number;
  readonly hostRssPerPluginMiB: number;
  readonly childRssMiB?: number;
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number): number => bytes / 2 ** 20;

async function vmRss(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb * 1024;
}

async function measure(tier: TierName, count: number, calls: number): Promise<Result> {
  const setup = await tierHost(tier, count);
  const { host, ids } = setup;
  try {
    // Idle RSS: the host with its plugins discovered but none started, then all of them started and idle.
    await host.start();
    for (const id of ids) await host.stopPlugin(id);
    await sleep(1000);
    const rss0 = Deno.memoryUsage().rss;
    // Spawn time: each plugin from Unloaded to Running, one at a time (new worker or process each time).
    const spawns: number[] = [];
    for (const id of ids) {
      const t0 = performance.now();
      await host.startPlugin(id);
      spawns.push(performance.now() - t0);
    }
    await sleep(2000);
    const hostRssPerPluginMiB = mib(Deno.memoryUsage().rss - rss0) / count;
    const childRss = tier === "process"
      ? await Promise.all(setup.processes.processes.map((p) => vmRss(p.pid)))
      : [];
    // Round trip: one plugin, sequential calls, after a warm-up.
    const p = host.getPlugin(ids[0])!;
    for (let i = 0; i < 200; i++) await p.call("echo", [1, 2, 3]);
    const rtts: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now();
      await p.call("echo", [1, 2, 3]);
      rtts.push((performance.now() - t0) * 1000);
    }
    return {
      tier,
      spawnMedianMs: quantile(spawns, 0.5),
      spawnP90Ms: quantile(spawns, 0.9),
      callMedianUs: quantile(rtts, 0.5),
      callP90Us: quantile(rtts, 0.9),
      hostRssPerPluginMiB,
      ...(childRss.length ? { childRssMiB: mib(childRss.reduce((a, b) => a + b, 0) / childRss.length) } : {}),
    };
  } finally {
    await setup.cleanup();
  }
}

const [first, second, third] = Deno.args;
if (first === "--tier") {
  const result = await measure(second as TierName, Number(third ?? 10), Number(Deno.args[3] ?? 2000));
  console.log(JSON.stringify(result));
} else {
  const count = Number(first ?? 10);
  const calls = Number(second ?? 2000);
  const rows: Result[] = [];
  for (const tier of TIERS) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--unstable-worker-options",
        "--no-prompt",
        "--v8-flags=--disallow-code-generation-from-strings,--min-semi-space-size=2",
        "-A",
        new URL(import.meta.url).pathname,
        "--tier",
        tier,
        String(count),
        String(calls),
      ],
      stderr: "inherit",
    }).output();
    rows.push(JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!));
  }
  const f = (n: number | undefined, digits = 1): string => n === undefined ? "—" : n.toFixed(digits);
  console.log(`${count} plugins per tier, ${calls} calls; Deno ${Deno.version.deno}, ${Deno.build.target}\n`);
  console.log(
    "| tier | spawn → Running, median (p90) | call round trip, median (p90) | idle RSS per plugin |",
  );
  console.log("| --- | --- | --- | --- |");
  for (const r of rows) {
    const rss = r.childRssMiB === undefined
      ? `${f(r.hostRssPerPluginMiB)} MiB (host growth)`
      : `${f(r.childRssMiB)} MiB (child VmRSS) + ${f(r.hostRssPerPluginMiB)} MiB (host growth)`;
    console.log(
      `| ${r.tier} | ${f(r.spawnMedianMs)} ms (${f(r.spawnP90Ms)} ms) | ${f(r.callMedianUs, 0)} µs (${
        f(r.callP90Us, 0)
      } µs) | ${rss} |`,
    );
  }
}
