// "Without Cluster nothing changes and no NATS module is loaded": a real host in a child process whose import
// map puts a marker in front of src/_npm/nats.ts (the one file that names the NATS packages). Started and
// stopped without Plugins.Cluster the marker stays unset; with a Cluster (servers out of reach: the host runs
// without the fleet) it is set, so the check can fail.
import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DENO_RUN } from "./_helpers.ts";

const root = new URL("..", import.meta.url);

async function natsLoaded(cluster: boolean): Promise<boolean> {
  const dir = await Deno.makeTempDir({ prefix: "dotcompute_lazy_" });
  const marker = join(dir, "marker.ts");
  await Deno.writeTextFile(
    marker,
    `(globalThis as { natsLoaded?: boolean }).natsLoaded = true;
export * from "npm:@nats-io/transport-node@3.4.0";
export { Objm } from "npm:@nats-io/obj@3.4.0";
export { Kvm } from "npm:@nats-io/kv@3.4.0";`,
  );
  await Deno.writeTextFile(
    join(dir, "map.json"),
    JSON.stringify({ imports: { [new URL("src/_npm/nats.ts", root).href]: pathToFileURL(marker).href } }),
  );
  await Deno.writeTextFile(
    join(dir, "main.ts"),
    `import { createPluginHost } from ${JSON.stringify(new URL("mod.ts", root).href)};
const host = await createPluginHost({ Plugins: {
  PluginsDirectory: ${JSON.stringify(new URL("plugins", root).pathname)},
  ${cluster ? 'Cluster: { Servers: ["nats://127.0.0.1:1"] },' : ""}
} }, { fallbackReport: false });
await host.start();
await host.stop();
console.log(JSON.stringify({ natsLoaded: (globalThis as { natsLoaded?: boolean }).natsLoaded === true }));`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...DENO_RUN, "--import-map", join(dir, "map.json"), join(dir, "main.ts")],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(dir, { recursive: true });
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(text.trim().split("\n").at(-1)!).natsLoaded;
}

Deno.test("a host without Plugins.Cluster loads no NATS module; one with it does", async () => {
  assert.equal(await natsLoaded(false), false);
  assert.equal(await natsLoaded(true), true);
});
