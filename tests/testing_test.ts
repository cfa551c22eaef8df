// The test kit (`./testing`) against real plugins in real hosts: one line to start, call, logs, metrics,
// permissions as an operator grants them, copies that keep the source tree clean, and a clean dispose.
import assert from "node:assert/strict";
import { join } from "node:path";
import { testPlugin } from "../src/testing/testing.ts";
import type hello from "../plugins/hello/mod.ts";

const helloDir = new URL("../plugins/hello", import.meta.url);

Deno.test("testPlugin starts a plugin in one line: call, logs, metrics, settings, dispose", async () => {
  let dir: string;
  {
    await using p = await testPlugin<typeof hello>(helloDir, { settings: { greeting: "hi" } });
    dir = p.dir;
    assert.equal(p.id, "hello.world");
    assert.equal(p.state, "Running");
    assert.equal(await p.call("greet", "Ada"), "hi Ada");
    assert.equal(await p.call("sum", [1, 2, 3]), 6);
    const m = p.metrics();
    assert.equal(m.calls, 2);
    assert.equal(m.errors, 0);
    const init = await p.waitForLog((l) => l.message.startsWith("initializing"));
    assert.equal(init.message, "initializing hello.world");
    assert.ok(p.logs.every((l) => l.category[2] === "hello.world"));
    assert.ok(p.hostLogs.length >= p.logs.length);
    assert.notEqual(p.dir, helloDir.pathname.replace(/\/$/, ""), "runs a copy by default");
  }
  await assert.rejects(Deno.stat(dir), Deno.errors.NotFound, "dispose removes the copy");
});

async function fixture(code: string, manifest: Record<string, unknown> = {}): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "kit_fixture_" });
  await Deno.writeTextFile(
    join(dir, "plugin.jsonc"),
    JSON.stringify({ id: "kit.fixture", name: "Fixture", version: "1.0.0", ...manifest }),
  );
  await Deno.writeTextFile(join(dir, "mod.ts"), code);
  return dir;
}

Deno.test("testPlugin grants what the operator would, narrowed by the manifest, and nothing by default", async () => {
  const src = await fixture(
    `export default { methods: {
      async write(text) { await Deno.mkdir(new URL("./data/", import.meta.url), { recursive: true });
        await Deno.writeTextFile(new URL("./data/x.txt", import.meta.url), text); return "ok"; },
      env() { return Deno.env.get("KIT_VAR"); },
    } };`,
    { permissions: { read: ["./data"], write: ["./data"], env: ["KIT_VAR"] } },
  );
  try {
    Deno.env.set("KIT_VAR", "visible");
    {
      await using denied = await testPlugin(src);
      await assert.rejects(denied.call("write", "a"), Deno.errors.NotCapable);
      await assert.rejects(denied.call("env"), Deno.errors.NotCapable);
      assert.equal(denied.metrics().errors, 2);
    }
    {
      await using granted = await testPlugin(src, { permissions: { write: ["./data"], env: ["KIT_VAR"] } });
      assert.equal(await granted.call("write", "b"), "ok");
      assert.equal(await granted.call("env"), "visible");
      assert.equal(await Deno.readTextFile(join(granted.dir, "data", "x.txt")), "b");
    }
    {
      await using all = await testPlugin(src, { permissions: "manifest" });
      assert.equal(await all.call("write", "c"), "ok");
    }
    await assert.rejects(
      Deno.stat(join(src, "data")),
      Deno.errors.NotFound,
      "the source folder is untouched",
    );
  } finally {
    Deno.env.delete("KIT_VAR");
    await Deno.remove(src, { recursive: true });
  }
});

Deno.test("testPlugin names the state and the error when a plugin does not start, and can restart one", async () => {
  const broken = await fixture(`export default { start() { throw new Error("no database"); } };`);
  const counting = await fixture(
    `let starts = 0; export default { start(ctx) { starts++; ctx.log.info("start {n}", { n: starts }); },
      methods: { starts: () => starts } };`,
  );
  try {
    await assert.rejects(testPlugin(broken), /Plugin "kit.fixture" is Failed, not Running: .*no database/);
    {
      await using failed = await testPlugin(broken, { expectRunning: false });
      assert.equal(failed.state, "Failed");
    }
    await using p = await testPlugin(counting);
    assert.equal(await p.call("starts"), 1);
    await p.restart();
    assert.equal(await p.call("starts"), 1, "a restart is a new Worker: module state starts over");
    assert.equal(p.metrics().restarts, 1);
    assert.deepEqual(p.logs.filter((l) => l.message.startsWith("start")).map((l) => l.message), [
      "start 1",
      "start 1",
    ]);
  } finally {
    await Deno.remove(broken, { recursive: true });
    await Deno.remove(counting, { recursive: true });
  }
});

Deno.test("testPlugin runs a plugin in place with copy: false and beside others given by `with`", async () => {
  const dep = await fixture(`export default { methods: { twice: (x) => 2 * x } };`, { id: "kit.dep" });
  const app = await fixture(
    `export default { initialize(ctx) { globalThis.ctx = ctx; },
      methods: { quad: async (x) => 2 * await globalThis.ctx.plugins.call("kit.dep", "twice", x) } };`,
    { id: "kit.app", dependencies: { "kit.dep": "^1.0.0" } },
  );
  try {
    await using p = await testPlugin(app, { with: [dep], copy: false });
    assert.equal(p.dir, await Deno.realPath(app));
    assert.equal(p.host.getPlugin("kit.dep")?.state, "Running");
    assert.equal(await p.call("quad", 5), 20);
  } finally {
    await Deno.remove(dep, { recursive: true });
    await Deno.remove(app, { recursive: true });
  }
});
