// Call round trip: a raw postMessage echo worker (the physical baseline) against a call through the host.
//   deno task bench
import { createPluginHost } from "../mod.ts";

const raw = new Worker(
  URL.createObjectURL(
    new Blob(["self.onmessage = (e) => self.postMessage(e.data);"], { type: "text/javascript" }),
  ),
  { type: "module" },
);
let resolveRaw: (v: unknown) => void = () => {};
raw.onmessage = (e) => resolveRaw(e.data);
const rawEcho = (v: unknown) => new Promise((r) => (resolveRaw = r, raw.postMessage(v)));

const host = await createPluginHost({
  Plugins: { PluginsDirectory: new URL("../plugins", import.meta.url).pathname },
});
await host.start();
const hello = host.getPlugin("hello.world")!;

Deno.bench("raw postMessage echo", { group: "round trip", baseline: true }, async () => {
  await rawEcho([1, 2, 3]);
});
Deno.bench("host call (hello.world sum)", { group: "round trip" }, async () => {
  await hello.call("sum", [1, 2, 3]);
});

globalThis.addEventListener("unload", () => {
  raw.terminate();
  void host.stop();
});
