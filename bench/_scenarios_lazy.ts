// Lazy activation: start() of many lazy plugins and the RSS after it, in a fresh process each round, and the
// first call to a cold lazy plugin against a bare Worker's spawn → answer in that same process.
import { createPluginHost } from "../mod.ts";
import { rawWorkers, writeBenchPlugins } from "./_fixtures.ts";
import type { Row } from "./_row.ts";
import { child } from "./_scenarios_start.ts";
import { median, sleep } from "./_stats.ts";

const MiB = 2 ** 20;

/** What one `--child lazy` process measured. */
export interface LazyChildResult {
  readonly count: number;
  /** createPluginHost → start() resolved, ms. */
  readonly startMs: number;
  /** RSS before createPluginHost and right after start(), MiB. */
  readonly rssBeforeMiB: number;
  readonly rssMiB: number;
  /** First call → answer of a cold lazy plugin, and a bare Worker's spawn → answer, ms, alternating. */
  readonly cold: number[];
  readonly bare: number[];
  /** The first of each in the process (not in `cold` / `bare`: it also pays for what loads once). */
  readonly firstCold: number;
  readonly firstBare: number;
}

/** In a child process: start `count` lazy plugins, then `pairs` cold calls against as many bare Workers. */
export async function lazyChild(count: number, pairs: number): Promise<void> {
  const plugins = await writeBenchPlugins(count);
  await sleep(200);
  const rssBefore = Deno.memoryUsage().rss;
  const t0 = performance.now();
  const host = await createPluginHost(
    { Plugins: { PluginsDirectory: plugins.dir, Activation: "lazy" } },
    { watchConfig: false },
  );
  await host.start();
  const startMs = performance.now() - t0;
  const rss = Deno.memoryUsage().rss;
  const dormant = host.getPlugins().filter((p) => p.state === "Loaded" && p.dormant === "lazy").length;
  if (dormant !== count) throw new Error(`only ${dormant} of ${count} plugins are lazy and Loaded`);
  // Plugin i is cold until its first call (from bench.p1 up); each bare Worker loads a module never loaded
  // before too (from the last plugin down): Deno analyses a module file it has not seen (and caches what it
  // found in DENO_DIR), 1.5-3 ms the first time, measured, so a bare Worker that loaded bench.p0's module
  // every time was 1.6 ms faster than a cold plugin for that alone.
  let next = 1, last = count;
  const coldCall = async (): Promise<number> => {
    const p = host.getPlugin(plugins.ids[next++])!;
    const t = performance.now();
    const answer = await p.call("sum", [1, 2, 3]);
    const ms = performance.now() - t;
    if (answer !== 6) throw new Error(`cold plugin ${p.id} answered ${answer}`);
    return ms;
  };
  // Bare Workers stay alive, as the cold plugins do: a Worker created right after another one ended reuses
  // its freed memory and its `new Worker` blocks ~10 ms less (measured), which would favour whichever
  // alternating subject came second.
  const kept: Worker[] = [];
  const bareWorker = async (): Promise<number> => {
    const t = performance.now();
    const [w] = await rawWorkers(plugins, 1, --last);
    const ms = performance.now() - t;
    kept.push(w);
    return ms;
  };
  const firstBare = await bareWorker(), firstCold = await coldCall();
  const cold: number[] = [], bare: number[] = [];
  for (let i = 0; i < pairs; i++) {
    if (i % 2) cold.push(await coldCall()), bare.push(await bareWorker());
    else bare.push(await bareWorker()), cold.push(await coldCall());
  }
  for (const w of kept) w.terminate();
  await host.stop();
  await plugins.cleanup();
  const result: LazyChildResult = {
    count,
    startMs,
    rssBeforeMiB: rssBefore / MiB,
    rssMiB: rss / MiB,
    cold,
    bare,
    firstCold,
    firstBare,
  };
  console.log(JSON.stringify(result));
}

/**
 * `rounds` fresh processes, each starting `count` lazy plugins: start() time (target ≤ 1000 ms), RSS after it
 * (target ≤ 300 MiB), and a cold lazy plugin's first call against a bare Worker (target ≤ bare + 10 ms).
 */
export async function lazyRows(count: number, rounds: number, pairs: number, suite: URL): Promise<Row[]> {
  const runs: LazyChildResult[] = [];
  for (let r = 0; r < rounds; r++) {
    runs.push(await child<LazyChildResult>(suite, ["--child", "lazy", String(pairs), String(count)]));
  }
  const start = median(runs.map((r) => r.startMs));
  const rss = median(runs.map((r) => r.rssMiB)), before = median(runs.map((r) => r.rssBeforeMiB));
  const cold = runs.map((r) => median(r.cold)), bare = runs.map((r) => median(r.bare));
  const extra = median(cold.map((c, i) => c - bare[i]));
  const coldMedian = median(cold), bareMedian = median(bare);
  const ms = (xs: number[]): string => xs.map((x) => x.toFixed(1)).join(", ");
  const budget = (value: number, limit: number) => ({
    baselineValue: limit,
    subjectValue: value,
    ratio: value / limit,
    target: { op: "<=" as const, value: 1 },
  });
  return [
    {
      scenario: `lazy: createPluginHost → start() of ${count} lazy plugins (fresh process, ${rounds} rounds)`,
      unit: "ms",
      baseline: "budget",
      subject: "host start()",
      ...budget(start, 1000),
      note: `rounds ${ms(runs.map((r) => r.startMs))} ms`,
    },
    {
      scenario: `lazy: RSS of the process after start() of ${count} lazy plugins`,
      unit: "MiB",
      baseline: "budget",
      subject: "process RSS",
      ...budget(rss, 300),
      note: `${before.toFixed(0)} MiB before createPluginHost, +${
        (rss - before).toFixed(1)
      } MiB for the host`,
    },
    {
      scenario:
        `lazy: first call to a cold lazy plugin, among ${count} (${pairs} pairs × ${rounds} processes)`,
      unit: "ms",
      baseline: "bare Worker spawn → answer",
      baselineValue: bareMedian,
      subject: "cold call() → answer",
      subjectValue: coldMedian,
      ratio: median(cold.map((c, i) => c / bare[i])),
      ok: extra <= 10,
      note: `+${extra.toFixed(1)} ms, target at most +10 ms; first in each process (not counted): ` +
        `bare ${ms(runs.map((r) => r.firstBare))}, cold ${ms(runs.map((r) => r.firstCold))}`,
    },
  ];
}
