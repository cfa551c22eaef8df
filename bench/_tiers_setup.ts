// Shared by the tier benchmarks: N identical echo plugins in a temp folder, hosted in one isolation tier.
import { join } from "node:path";
import { createPluginHost, type PluginHost, ProcessTier, WorkerTier } from "../mod.ts";

/** The tiers compared: the worker tier plain and guarded (a heap cap), and the process tier. */
export const TIERS = ["worker", "worker-guarded", "process"] as const;
/** One of {@linkcode TIERS}. */
export type TierName = typeof TIERS[number];

/** A host over `count` echo plugins (`bench.p0`…), not started, and how to clean it up. */
export async function tierHost(
  tier: TierName,
  count: number,
): Promise<{ host: PluginHost; ids: string[]; processes: ProcessTier; cleanup(): Promise<void> }> {
  const root = await Deno.makeTempDir({ prefix: "dotcompute_bench_" });
  const ids: string[] = [];
  const blocks: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const id = `bench.p${i}`;
    ids.push(id);
    const dir = join(root, id);
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(join(dir, "plugin.json"), JSON.stringify({ id, name: id, version: "1.0.0" }));
    await Deno.writeTextFile(join(dir, "mod.ts"), "export default { methods: { echo(x) { return x; } } };");
    blocks[id] = {
      Isolation: tier === "process" ? "process" : "worker",
      ...(tier === "worker" ? {} : { ResourceLimits: { MaxMemoryMB: 128 } }),
    };
  }
  const processes = new ProcessTier();
  const host = await createPluginHost({ Plugins: { PluginsDirectory: root, ...blocks } }, {
    watchConfig: false,
    tiers: { worker: new WorkerTier(), process: processes },
  });
  return {
    host,
    ids,
    processes,
    async cleanup() {
      await host.stop();
      await Deno.remove(root, { recursive: true });
    },
  };
}
