// Resource limits the host survives, in the worker tier: a heap cap that ends only the plugin, and a plugin
// stuck in a busy loop that is ended after its call times out — after which the host still exits by itself.
import assert from "node:assert/strict";
import { join } from "node:path";
import { PluginCrashedError } from "../mod.ts";
import { hostWith, type PluginSource } from "./_helpers.ts";

const hog: PluginSource = {
  manifest: { id: "hog" },
  code: `export default { methods: {
    ping: () => "pong",
    // Keeps ~2 GiB of small objects reachable: a heap cap must end it long before.
    eat() { const keep = []; for (let i = 0; i < 2 ** 31 / 64; i++) keep.push({ i, s: "x" + i }); return keep.length; },
    spin() { for (;;) {} },
  } };`,
};
const bystander: PluginSource = {
  manifest: { id: "bystander" },
  code: `export default { methods: { ping: () => "pong" } };`,
};

Deno.test("a plugin allocating 2 GiB under MaxMemoryMB 64 is stopped with reason memory; the rest answer", async () => {
  await using t = await hostWith({ hog, bystander }, {
    Plugins: { hog: { ResourceLimits: { MaxMemoryMB: 64 } } },
  });
  await t.host.start();
  const p = t.host.getPlugin("hog")!;
  assert.equal(await p.call("ping"), "pong");
  const crashed = new Promise((resolve) => t.host.on("crash", resolve));
  await assert.rejects(p.call("eat"), PluginCrashedError);
  await crashed;
  assert.equal(p.state, "Failed");
  assert.equal(p.lastExit?.kind, "memory");
  assert.match(p.lastExit!.reason, /heap limit of 64 MiB/);
  assert.equal(await t.host.getPlugin("bystander")!.call("ping"), "pong");
  // And it can be started again.
  await t.host.startPlugin("hog");
  assert.equal(await p.call("ping"), "pong");
});

Deno.test("a spinning plugin is ended after its call times out, and the rest keep answering", async () => {
  await using t = await hostWith({ hog, bystander }, {
    Plugins: { CallTimeout: 300, hog: { ResourceLimits: { MaxMemoryMB: 128 } } },
  });
  await t.host.start();
  const p = t.host.getPlugin("hog")!;
  const crashed = new Promise((resolve) => t.host.on("crash", resolve));
  await assert.rejects(p.call("spin"), (e: Error) => e.name === "CallTimeoutError");
  await crashed;
  assert.equal(p.state, "Failed");
  assert.equal(p.lastExit?.kind, "timeout");
  assert.match(p.lastExit!.reason, /unresponsive/);
  assert.equal(await t.host.getPlugin("bystander")!.call("ping"), "pong");
});

Deno.test("after a plugin spun, the host still stops and its process exits by itself", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir());
  const dir = join(root, "plugins", "spinner");
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "plugin.jsonc"), '{ "id": "spinner", "name": "s", "version": "1.0.0" }');
  await Deno.writeTextFile(join(dir, "mod.ts"), "export default { methods: { spin() { for (;;) {} } } };");
  const script = join(root, "host.ts");
  await Deno.writeTextFile(
    script,
    `import { createPluginHost } from ${JSON.stringify(new URL("../mod.ts", import.meta.url).href)};
     const host = await createPluginHost({ Plugins: { PluginsDirectory: ${
      JSON.stringify(join(root, "plugins"))
    },
       CallTimeout: 200, ResourceLimits: { MaxMemoryMB: 128 } } });
     await host.start();
     await host.getPlugin("spinner").call("spin").catch((e) => console.log("call:", e.name));
     await new Promise((r) => host.on("crash", r));
     await host.stop();
     console.log("stopped; state", host.getPlugin("spinner").state);`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--unstable-worker-options",
      "--no-prompt",
      "-A",
      "--config",
      new URL("../deno.json", import.meta.url).pathname,
      script,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Bounded: a host that cannot exit is killed after 20 s and the test fails on its exit status.
  const guard = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const out = await child.output();
  clearTimeout(guard);
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.signal, null, `the host did not exit by itself: ${text}`);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(text, /call: CallTimeoutError/);
  assert.match(text, /stopped; state (Failed|Unloaded)/);
  await Deno.remove(root, { recursive: true });
});
