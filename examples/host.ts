// The seed's quick start, in Deno: a host on the bundled plugins, a few typed calls, a clean stop.
//
// Least privilege, from the repository root: the host reads its code, the config and the plugins, and may
// write only the storage plugin's data folder (each plugin gets a narrower share of that in its own Worker):
//   deno run --unstable-worker-options --no-prompt --v8-flags=--disallow-code-generation-from-strings,--min-semi-space-size=2 \
//     --allow-read=. --allow-write=plugins/storage/data examples/host.ts
import { createPluginHost } from "../mod.ts";
import type compute from "../plugins/compute/mod.ts";
import type storage from "../plugins/storage/mod.ts";

await using host = await createPluginHost(new URL("./host.jsonc", import.meta.url).pathname);
host.on("state", (c) => console.log(`${c.id}: ${c.from} → ${c.to}`));
await host.start();

console.log(await host.getPlugin("hello.world")?.call("greet", "Ada"));
const gpu = host.getPlugin<typeof compute>("dotcompute.compute")!; // typed: names, arguments, results
const [a, b] = [new Float32Array([1, 2, 3, 4]), new Float32Array([5, 6, 7, 8])];
console.log(await gpu.call("matmul", a, b, { m: 2, k: 2, n: 2 }), await gpu.call("info"));
const kv = host.getPlugin<typeof storage>("dotcompute.storage")!;
await kv.call("set", "runs", Number(await kv.call("get", "runs") ?? 0) + 1); // kept in plugins/storage/data
console.log("runs:", await kv.call("get", "runs"), host.getStatistics());
