// Save → new version answering, through the real watcher, debounce and blue/green swap.
//   deno run --unstable-worker-options --no-prompt -A bench/reload_latency.ts [ReloadDelayMs=100] [saves=30]
// Prints the median and p90 of the time from the write to the first call answered by the new version, and the
// median minus ReloadDelay: what the host adds on top of the debounce it was asked for.
import { join } from "node:path";
import { createPluginHost } from "../mod.ts";

const delay = Number(Deno.args[0] ?? 100);
const saves = Number(Deno.args[1] ?? 30);
const root = await Deno.makeTempDir({ prefix: "dotcompute_reload_bench_" });
const dir = join(root, "plugins", "svc");
await Deno.mkdir(dir, { recursive: true });
const write = async (v: number): Promise<void> => {
  await Deno.writeTextFile(join(dir, "mod.ts"), `export default { methods: { version: () => ${v} } };`);
  await Deno.writeTextFile(
    join(dir, "plugin.jsonc"),
    JSON.stringify({ id: "svc", name: "svc", version: `1.0.${v}`, capabilities: ["HotReloadable"] }),
  );
};
await write(0);
const host = await createPluginHost({
  Plugins: { PluginsDirectory: join(root, "plugins"), EnableHotReload: true, ReloadDelay: delay },
});
await host.start();
const svc = host.getPlugin("svc")!;
const samples: number[] = [];
for (let v = 1; v <= saves; v++) {
  const t0 = performance.now();
  await write(v);
  while (await svc.call("version") !== v) { /* the old version still answers */ }
  samples.push(performance.now() - t0);
}
await host.stop();
await Deno.remove(root, { recursive: true });
samples.sort((a, b) => a - b);
const q = (p: number): number => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))];
console.log(JSON.stringify({
  reloadDelayMs: delay,
  saves,
  medianMs: +q(0.5).toFixed(1),
  p90Ms: +q(0.9).toFixed(1),
  overheadMedianMs: +(q(0.5) - delay).toFixed(1),
}));
