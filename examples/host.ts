// The seed's quick start, in Deno: a host on the bundled plugins, one call, a clean stop.
//
// Least privilege: the host reads its own code, the config and the plugins; nothing else.
//   deno run --unstable-worker-options --no-prompt --v8-flags=--disallow-code-generation-from-strings \
//     --allow-read=. examples/host.ts
import { createPluginHost } from "../mod.ts";

await using host = await createPluginHost(new URL("./host.jsonc", import.meta.url).pathname);
host.on("state", (c) => console.log(`${c.id}: ${c.from} → ${c.to}`));
await host.start();

console.log(await host.getPlugin("hello.world")?.call("greet", "Ada"));
const scaled = await host.getPlugin("my.plugin")?.call("scale", new Float32Array([1, 2, 3]), 2);
console.log(scaled, host.getStatistics());
