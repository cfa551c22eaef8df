// Bench plugins on disk: N small plugin folders, each with the module a raw worker would load too.
import { join } from "node:path";
import { toFileUrl } from "../src/_common/paths.ts";

/** The bench plugin's module: the same small module the raw cold-start workers load. */
export const PLUGIN_MODULE = `let seen = 0, detached = 0;
export default {
  methods: {
    sum(values) { return values.reduce((a, b) => a + b, 0); },
    echo(x) { return x; },
    // Returns the buffer, then looks whether sending it back detached it here (moved, not copied).
    echoChecked(x) {
      setTimeout(() => { seen++; if (x.byteLength === 0) detached++; }, 0);
      return x;
    },
    // After the checks' timers (timers fire in deadline order).
    async transferStats() { await new Promise((r) => setTimeout(r, 5)); return { seen, detached }; },
  },
};
`;

/** A folder of `count` bench plugins (`bench.p0`…); `extra` adds manifest fields. */
export interface BenchPlugins {
  /** The plugins folder. */
  readonly dir: string;
  readonly ids: readonly string[];
  /** Each plugin's entry module, as a file URL. */
  readonly entries: readonly string[];
  /** Each plugin's folder. */
  readonly folders: readonly string[];
  cleanup(): Promise<void>;
}

export async function writeBenchPlugins(
  count: number,
  extra: Record<string, unknown> = {},
): Promise<BenchPlugins> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_bench_" }));
  const ids: string[] = [], entries: string[] = [], folders: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `bench.p${i}`;
    const folder = join(dir, id);
    await Deno.mkdir(folder);
    await Deno.writeTextFile(join(folder, "mod.js"), PLUGIN_MODULE);
    await Deno.writeTextFile(
      join(folder, "plugin.json"),
      JSON.stringify({ id, name: id, version: "1.0.0", entry: "mod.js", ...extra }),
    );
    ids.push(id);
    entries.push(toFileUrl(join(folder, "mod.js")));
    folders.push(folder);
  }
  return { dir, ids, entries, folders, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

/**
 * Starts `count` raw workers that each load a module (plugin `from`, the next, …) and answer once; resolves
 * when all have answered.
 */
export async function rawWorkers(
  plugins: BenchPlugins,
  count = plugins.entries.length,
  from = 0,
): Promise<Worker[]> {
  const url = new URL("./workers/raw_start.ts", import.meta.url);
  const workers: Worker[] = [];
  const answered: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const w = new Worker(url, {
      type: "module",
      deno: { permissions: { read: [plugins.folders[from + i]] } },
    });
    workers.push(w);
    answered.push(new Promise((resolve) => w.onmessage = resolve));
    w.postMessage(plugins.entries[from + i]);
  }
  await Promise.all(answered);
  return workers;
}
