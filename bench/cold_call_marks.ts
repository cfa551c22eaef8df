// Where the first call to a cold lazy plugin spends its time, seen from the host's thread alone (no change to
// src/): a Worker class that stamps its construction and messages, and the host's state events. Bare Workers
// (bench/workers/raw_start.ts) are measured alternately in the same process; both kinds stay alive, as in the
// suite's lazy row (a Worker created just after another ended reuses its memory and starts ~10 ms faster).
//
//   deno run --unstable-worker-options --no-prompt --v8-flags=--disallow-code-generation-from-strings,--min-semi-space-size=2 -A \
//     bench/cold_call_marks.ts 1000 15      # lazy plugins, cold calls
import { createPluginHost } from "../mod.ts";
import { rawWorkers, writeBenchPlugins } from "./_fixtures.ts";
import { median, sleep } from "./_stats.ts";

const count = Number(Deno.args[0] ?? 1000), samples = Number(Deno.args[1] ?? 15);
let marks: Record<string, number> = {};
const mark = (name: string): void => void (marks[name] ??= performance.now());

const BaseWorker = globalThis.Worker;
/** A Worker that marks when it is constructed, when its constructor returns and each kind of message. */
class MarkedWorker extends BaseWorker {
  constructor(url: string | URL, options?: WorkerOptions) {
    mark("new Worker");
    super(url, options);
    mark("new Worker returned");
    this.addEventListener("message", (e) => mark(`in: ${(e as MessageEvent).data?.t ?? "message"}`));
  }
  override postMessage(message: unknown, transfer?: Transferable[] | StructuredSerializeOptions): void {
    mark(`out: ${(message as { t?: string } | null)?.t ?? "message"}`);
    if (transfer === undefined) super.postMessage(message);
    else super.postMessage(message, transfer as Transferable[]);
  }
}
globalThis.Worker = MarkedWorker;

/** Runs `f` with fresh marks; returns them relative to its start. */
async function marked(f: () => Promise<unknown>): Promise<Record<string, number>> {
  marks = {};
  mark("start");
  await f();
  mark("answered");
  return Object.fromEntries(Object.entries(marks).map(([k, v]) => [k, v - marks.start]));
}

const plugins = await writeBenchPlugins(count);
await sleep(200);
const host = await createPluginHost(
  { Plugins: { PluginsDirectory: plugins.dir, Activation: "lazy" } },
  { watchConfig: false },
);
await host.start();
host.on("state", (e) => mark(`state ${e.to}`));
const kept: Worker[] = [];
let next = 1;
const cold = (): Promise<unknown> => host.getPlugin(plugins.ids[next++])!.call("sum", [1, 2, 3]);
// Each bare Worker loads a module never loaded before, as each cold plugin does: Deno analyses a module file
// it has not seen (and caches what it found in DENO_DIR), ~1.5-3 ms the first time, measured.
let last = count;
const bare = async (): Promise<void> => void kept.push(...await rawWorkers(plugins, 1, --last));
await marked(bare); // the first of each in the process also pays for what loads once
await marked(cold);
const seen = { bare: [] as Record<string, number>[], cold: [] as Record<string, number>[] };
for (let i = 0; i < samples; i++) {
  seen.bare.push(await marked(bare));
  seen.cold.push(await marked(cold));
}
for (const [kind, runs] of Object.entries(seen)) {
  const names = Object.keys(runs[0]).sort((a, b) => runs[0][a] - runs[0][b]);
  console.log(`${kind} (median of ${samples}, ms from the start):`);
  for (const name of names) {
    const at = runs.map((r) => r[name]).filter((t) => t !== undefined);
    console.log(
      `  ${median(at).toFixed(1).padStart(6)}  ${name}${
        at.length < runs.length ? ` (${at.length} of ${runs.length})` : ""
      }`,
    );
  }
}
for (const w of kept) w.terminate();
await host.stop();
await plugins.cleanup();
