// Starting plugins: cold start of N plugins against N raw workers that load the same module and answer once,
// idle memory per plugin and idle CPU against raw workers (each measured in a fresh process), and reload latency.
import { join } from "node:path";
import { cpuUsage } from "node:process";
import { createPluginHost } from "../mod.ts";
import { rawWorkers, writeBenchPlugins } from "./_fixtures.ts";
import type { Row } from "./_row.ts";
import { alternate, median, pairedRatio, sleep } from "./_stats.ts";

const quiet = { watchConfig: false } as const;

/** In a child process: ms to start `count` plugins (or raw workers) in a fresh process, printed as JSON. */
export async function startChild(kind: "raw" | "host", count: number): Promise<void> {
  const plugins = await writeBenchPlugins(count);
  await sleep(200);
  const t0 = performance.now();
  let ms: number;
  if (kind === "raw") {
    const workers = await rawWorkers(plugins);
    ms = performance.now() - t0;
    for (const w of workers) w.terminate();
  } else {
    const host = await createPluginHost({ Plugins: { PluginsDirectory: plugins.dir } }, quiet);
    await host.start();
    ms = performance.now() - t0;
    const running = host.getPlugins().filter((p) => p.state === "Running").length;
    await host.stop();
    if (running !== count) throw new Error(`only ${running} of ${count} plugins reached Running`);
  }
  await plugins.cleanup();
  console.log(JSON.stringify({ kind, count, ms }));
}

/**
 * The V8 flags of the fresh processes: the host's recommended ones (README, "The host needs"), or
 * `BENCH_V8_FLAGS` (e.g. `--disallow-code-generation-from-strings` alone, V8's default young generation).
 */
export const CHILD_V8_FLAGS: string = Deno.env.get("BENCH_V8_FLAGS") ??
  "--disallow-code-generation-from-strings,--min-semi-space-size=2";

/** Runs this suite's `--child` mode in a fresh process and returns the JSON it printed last. */
export async function child<T>(suite: URL, args: readonly string[]): Promise<T> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--unstable-worker-options",
      "--no-prompt",
      `--v8-flags=${CHILD_V8_FLAGS}`,
      "-A",
      suite.pathname,
      ...args,
    ],
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`bench child ${args.join(" ")} failed`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!) as T;
}

/**
 * Cold start of `count` plugins: createPluginHost + start() until all are Running, against as many raw workers
 * answering once. Each measurement runs in a fresh process, so no round inherits the last one's teardown.
 */
export async function coldStartRow(count: number, rounds: number, suite: URL, target?: number): Promise<Row> {
  const run = (kind: "raw" | "host") => async (): Promise<number> =>
    (await child<{ ms: number }>(suite, ["--child", "start", kind, String(count)])).ms;
  const m = await alternate(rounds, { raw: run("raw"), host: run("host") });
  return {
    scenario: `cold start of ${count} plugin${count > 1 ? "s" : ""} (all answering / all Running)`,
    unit: "ms",
    baseline: "raw workers",
    baselineValue: m.raw.median,
    subject: "host start()",
    subjectValue: m.host.median,
    ratio: pairedRatio(m.host, m.raw),
    ...(target ? { target: { op: "<=" as const, value: target } } : {}),
  };
}

/** How long the idle CPU is measured: an idle plugin's rare ticks are spread, so any stretch holds its share. */
const IDLE_WINDOW_MS = 8000;

/** In a child process: RSS growth per idle plugin (or raw worker), in MiB, and idle CPU, printed as JSON. */
export async function idleChild(kind: "raw" | "host", count: number): Promise<void> {
  const plugins = await writeBenchPlugins(count);
  // Warm-up: one of the kind started and ended first, so what is loaded once per process (module graphs,
  // compiled code) is not charged to the N measured.
  if (kind === "raw") { for (const w of await rawWorkers(plugins, 1)) w.terminate(); }
  else {
    const one = await writeBenchPlugins(1);
    const host = await createPluginHost({ Plugins: { PluginsDirectory: one.dir } }, quiet);
    await host.start();
    await host.stop();
    await one.cleanup();
  }
  await sleep(500);
  const rss0 = Deno.memoryUsage().rss;
  let stop: () => Promise<void>;
  if (kind === "raw") {
    const workers = await rawWorkers(plugins);
    stop = () => Promise.resolve(workers.forEach((w) => w.terminate()));
  } else {
    const host = await createPluginHost({ Plugins: { PluginsDirectory: plugins.dir } }, quiet);
    await host.start();
    stop = () => host.stop();
  }
  // Idle: the second after the plugins' last messages (their start hooks' answers) is over, so the usage clock
  // ticks only what it must (src/isolation/_usage_clock.ts).
  await sleep(3000);
  // CPU while idle (all threads): what the plugins' ticks, reports and runtime cost when nothing happens.
  const c0 = cpuUsage();
  await sleep(IDLE_WINDOW_MS);
  const c = cpuUsage(c0);
  const idleCpuPercent = (c.user + c.system) / 1e3 / IDLE_WINDOW_MS * 100;
  const perMiB = (Deno.memoryUsage().rss - rss0) / count / 2 ** 20;
  await stop();
  await plugins.cleanup();
  console.log(JSON.stringify({ kind, count, perMiB, idleCpuPercent }));
}

/**
 * Idle cost of `count` plugins against as many raw workers, `rounds` pairs of fresh processes: RSS per plugin
 * (target: at most +1 MiB over a raw worker) and the CPU all of them use while idle (target: at most +0.5% of
 * one core over the raw workers'). Both targets are on the paired differences of the same round.
 */
export async function idleRows(count: number, rounds: number, suite: URL): Promise<Row[]> {
  const cpu = { raw: [] as number[], host: [] as number[] };
  const run = (kind: "raw" | "host") => async (): Promise<number> => {
    const r = await child<{ perMiB: number; idleCpuPercent: number }>(suite, [
      "--child",
      "idle",
      kind,
      String(count),
    ]);
    cpu[kind].push(r.idleCpuPercent);
    return r.perMiB;
  };
  const m = await alternate(rounds, { raw: run("raw"), host: run("host") });
  const extra = median(m.host.samples.map((h, i) => h - m.raw.samples[i]));
  const c = {
    raw: { samples: cpu.raw, median: median(cpu.raw) },
    host: { samples: cpu.host, median: median(cpu.host) },
  };
  const extraCpu = median(cpu.host.map((h, i) => h - cpu.raw[i]));
  return [{
    scenario: `idle memory per plugin (RSS growth / ${count})`,
    unit: "MiB",
    baseline: "raw worker",
    baselineValue: m.raw.median,
    subject: "idle plugin",
    subjectValue: m.host.median,
    ratio: pairedRatio(m.host, m.raw),
    ok: extra <= 1,
    note: `+${extra.toFixed(2)} MiB per plugin over a raw worker, target at most +1 MiB`,
  }, {
    scenario: `idle CPU of ${count} plugins (% of one core, ${IDLE_WINDOW_MS / 1000} s)`,
    unit: "%",
    baseline: `${count} raw workers`,
    baselineValue: c.raw.median,
    subject: `${count} idle plugins`,
    subjectValue: c.host.median,
    ratio: pairedRatio(c.host, c.raw),
    ok: extraCpu <= 0.5,
    note: `${extraCpu >= 0 ? "+" : ""}${
      extraCpu.toFixed(2)
    }% of one core over the raw workers, target at most +0.5%`,
  }];
}

/** A HotReloadable plugin's blue/green reload (host.reload) against one raw worker's spawn → answer. */
export async function reloadRow(rounds: number): Promise<Row> {
  const plugins = await writeBenchPlugins(1, { capabilities: ["HotReloadable"] });
  const host = await createPluginHost({ Plugins: { PluginsDirectory: plugins.dir } }, quiet);
  try {
    await host.start();
    const id = plugins.ids[0];
    const file = join(plugins.folders[0], "mod.js");
    let version = 0;
    const m = await alternate(rounds, {
      raw: async () => {
        const t0 = performance.now();
        const [w] = await rawWorkers(plugins, 1);
        const ms = performance.now() - t0;
        w.terminate();
        return ms;
      },
      host: async () => {
        version++;
        await Deno.writeTextFile(file, `export default { methods: { version: () => ${version} } };\n`);
        const t0 = performance.now();
        await host.reload(id);
        const answered = await host.getPlugin(id)!.call("version");
        const ms = performance.now() - t0;
        if (answered !== version) throw new Error(`reload answered version ${answered}, not ${version}`);
        return ms;
      },
    });
    return {
      scenario: "reload (blue/green swap until the new version answers)",
      unit: "ms",
      baseline: "raw worker spawn → answer",
      baselineValue: m.raw.median,
      subject: "host.reload()",
      subjectValue: m.host.median,
      ratio: pairedRatio(m.host, m.raw),
    };
  } finally {
    await host.stop();
    await plugins.cleanup();
  }
}
