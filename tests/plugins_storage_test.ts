// The storage provider (plugins/storage) in a real host through the test kit, granted only its data/ folder:
// get/set/delete/list, values that survive a restart and a hot reload, atomic writes, refused bad input, and
// no start at all without the grant.
import assert from "node:assert/strict";
import { join } from "node:path";
import { testPlugin } from "../src/testing/testing.ts";
import type storage from "../plugins/storage/mod.ts";

const dir = new URL("../plugins/storage", import.meta.url);
const grant = { read: ["./data"], write: ["./data"] };

Deno.test("storage: get, set, delete and list", async () => {
  await using p = await testPlugin<typeof storage>(dir, { permissions: grant });
  assert.equal(await p.call("get", "missing"), undefined);
  await p.call("set", "user/1", { name: "Ada", langs: ["en"] });
  await p.call("set", "user/2", "Grace");
  await p.call("set", "config", 42);
  await p.call("set", "über/ключ 🔑", true); // any string is a key
  assert.deepEqual(await p.call("get", "user/1"), { name: "Ada", langs: ["en"] });
  assert.deepEqual(await p.call("list"), ["config", "user/1", "user/2", "über/ключ 🔑"]);
  assert.deepEqual(await p.call("list", "user/"), ["user/1", "user/2"]);
  await p.call("set", "user/2", "Grace Hopper");
  assert.equal(await p.call("get", "user/2"), "Grace Hopper");
  assert.equal(await p.call("delete", "user/2"), true);
  assert.equal(await p.call("delete", "user/2"), false);
  assert.equal(await p.call("get", "über/ключ 🔑"), true);
  assert.deepEqual(await p.call("list", "user/"), ["user/1"]);
  // What is on disk: one JSON file per key, in the granted folder, and no temporary file left behind.
  const files = [...Deno.readDirSync(join(p.dir, "data", "kv"))].map((e) => e.name).sort();
  assert.equal(files.length, 3);
  assert.ok(files.every((f) => /^[0-9a-f]+\.json$/.test(f)), files.join());
});

Deno.test("storage: values survive a restart (a new Worker) and a hot reload of new code", async () => {
  await using p = await testPlugin<typeof storage>(dir, { permissions: grant });
  await p.call("set", "counter", 1);
  await p.restart();
  assert.equal(p.metrics().restarts, 1);
  assert.equal(await p.call("get", "counter"), 1);

  // A new version on disk: new code and version, same data folder.
  const mod = join(p.dir, "mod.ts");
  const code = await Deno.readTextFile(mod);
  await Deno.writeTextFile(mod, code.replace("  methods: {", "  methods: {\n    generation: () => 2,"));
  const manifest = join(p.dir, "plugin.jsonc");
  await Deno.writeTextFile(manifest, (await Deno.readTextFile(manifest)).replace('"2.0.0",', '"2.1.0",'));
  await p.reload();
  assert.equal(p.handle.version, "2.1.0");
  const v2 = p.host.getPlugin<{ generation(): number }>(p.id)!; // the new version's own type
  assert.equal(await v2.call("generation"), 2, "the new code runs");
  assert.equal(p.handle.lastReload?.error, undefined);
  assert.equal(await p.call("get", "counter"), 1, "the data survived the reload");
  await p.call("set", "counter", 2);
  assert.equal(await p.call("get", "counter"), 2);
});

Deno.test("storage: writes are atomic — a torn temporary file is never read and is cleaned up", async () => {
  await using p = await testPlugin<typeof storage>(dir, { permissions: grant });
  await p.call("set", "k", "old");
  const kv = join(p.dir, "data", "kv");
  // What a crash between write and rename leaves behind: a hidden, half-written temporary file.
  await Deno.writeTextFile(join(kv, ".tmp-crashed"), '"ne');
  assert.equal(await p.call("get", "k"), "old");
  assert.deepEqual(await p.call("list"), ["k"]);
  await p.restart();
  const left = await p.waitForLog((l) => l.message.includes("interrupted write"));
  assert.match(left.message, /\.tmp-crashed/);
  assert.deepEqual([...Deno.readDirSync(kv)].map((e) => e.name).filter((n) => n.startsWith(".")), []);
  // Many concurrent writes to one key: every read sees one whole value.
  await Promise.all(Array.from({ length: 20 }, (_, i) => p.call("set", "k", { i, pad: "x".repeat(10_000) })));
  const v = await p.call("get", "k") as { i: number; pad: string };
  assert.equal(v.pad.length, 10_000);
});

Deno.test("storage: bad keys and oversized values are refused with INVALID_ARGUMENT", async () => {
  await using p = await testPlugin<typeof storage>(dir, {
    permissions: grant,
    settings: { maxValueBytes: 100 },
  });
  await assert.rejects(p.call("set", "", 1), { code: "INVALID_ARGUMENT", message: /a key must be a string/ });
  await assert.rejects(p.call("get", "x".repeat(257)), { code: "INVALID_ARGUMENT" });
  await assert.rejects(p.call("set", "big", "y".repeat(200)), {
    code: "INVALID_ARGUMENT",
    message: 'the value of "big" is 202 bytes as JSON; at most 100 are allowed',
  });
  assert.equal(p.state, "Running");
});

Deno.test("storage: without a grant for its folder it does not start, and says which access it lacked", async () => {
  await using p = await testPlugin(dir, { expectRunning: false });
  assert.equal(p.state, "Failed");
  assert.match(p.handle.lastError?.message ?? "", /Requires write access to ".*data\/kv/);
  assert.deepEqual(p.handle.permissions.write, []);
});
