// Starting plugins: cold start of N plugins against N raw workers that load the same module and answer once,
// idle memory per plugin against a raw worker (each measured in a fresh process), and reload latency.
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

/** Runs this suite's `--child` mode in a fresh process and returns the JSON it printed last. */
export async function child<T>(suite: URL, args: readonly string[]): Promise<T> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--unstable-worker-options",
      "--no-prompt",
      "--v8-flags=--disallow-code-generation-from-strings",
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
  await sleep(1500); // idle: each plugin's usage timer has ticked, a usage report has been sent
  // CPU while idle (all threads), over 2 s: what the plugins' timers and reports cost when nothing happens.
  const c0 = cpuUsage();
  await sleep(2000);
  const c = cpuUsage(c0);
  const idleCpuPercent = (c.user + c.system) / 1e6 / 2 * 100;
  const perMiB = (Deno.memoryUsage().rss - rss0) / count / 2 ** 20;
  await stop();
  await plugins.cleanup();
  console.log(JSON.stringify({ kind, count, perMiB, idleCpuPercent }));
}

/** Idle RSS per plugin against per raw worker: `rounds` pairs of fresh processes. */
export async function idleMemoryRow(count: number, rounds: number, suite: URL): Promise<Row> {
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
  return {
    scenario: `idle memory per plugin (RSS growth / ${count})`,
    unit: "MiB",
    baseline: "raw worker",
    baselineValue: m.raw.median,
    subject: "idle plugin",
    subjectValue: m.host.median,
    ratio: pairedRatio(m.host, m.raw),
    ok: extra <= 2,
    note: `+${extra.toFixed(2)} MiB per plugin, target at most +2 MiB; idle CPU of all ${count}: ` +
      `raw ${median(cpu.raw).toFixed(2)}%, host ${median(cpu.host).toFixed(2)}% of one core`,
  };
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
