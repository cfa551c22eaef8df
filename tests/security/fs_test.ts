// Files outside the allowlist: a plugin granted nothing reads only its own folder and writes nowhere; a plugin
// granted one folder gets exactly it, and no path trick (`..`, prefixes, symlinks, file: URLs, node:fs) widens it.
import assert from "node:assert/strict";
import { join } from "node:path";
import { attacker, attackHost, secret } from "./_attack.ts";

const READ = /Requires read access to "/;
const WRITE = /Requires write access to "/;

const nothing = attacker("fs-nothing", {
  readAbsolute: `(p) => Deno.readTextFile(p)`,
  readEtc: `() => Deno.readTextFile("/etc/passwd")`,
  readDotDot: `() => Deno.readTextFile(new URL("../../outside/secret.txt", import.meta.url))`,
  readProcEnviron: `() => Deno.readTextFile("/proc/self/environ")`,
  readDirRoot: `async () => { for await (const e of Deno.readDir("/")) return e.name; }`,
  statOutside: `(p) => Deno.stat(p)`,
  fetchFileUrl: `async (p) => (await fetch("file://" + p)).text()`,
  nodeFsRead: `async (p) => (await import("node:fs")).readFileSync(p, "utf8")`,
  writeOutside: `(p) => Deno.writeTextFile(p + ".new", "x")`,
  overwriteOwnCode: `() => Deno.writeTextFile(new URL("./mod.ts", import.meta.url), "export default {};")`,
  removeOwnFolder: `() => Deno.remove(new URL(".", import.meta.url), { recursive: true })`,
  nodeFsWrite: `async (p) => (await import("node:fs")).writeFileSync(p + ".node", "x")`,
  makeTempDir: `() => Deno.makeTempDir()`,
  symlinkOut: `(p) => Deno.symlink(p, new URL("./link", import.meta.url).pathname)`,
});

const granted = attacker("fs-granted", {
  readGranted: `(d) => Deno.readTextFile(d + "/a.txt")`,
  readPrefixSibling: `(d) => Deno.readTextFile(d + "-private/b.txt")`,
  readDotDotOut: `(d) => Deno.readTextFile(d + "/../outside/secret.txt")`,
  writeReadOnlyGrant: `(d) => Deno.writeTextFile(d + "/a.txt", "overwritten")`,
  renameOut: `(d) => Deno.rename(d + "/out/w.txt", d + "/../outside/moved.txt")`,
  hardLinkOut: `(d) => Deno.link(d + "/../outside/secret.txt", d + "/out/hard")`,
}, { manifest: { permissions: { read: ["../../data"], write: ["../../data/out"] } } });

Deno.test("files: a plugin reaches no file outside its allowlist", async (t) => {
  let target = "";
  await using h = await attackHost({ "fs-nothing": nothing, "fs-granted": granted }, {
    prepare: async (root) => {
      target = await secret(root, "secret.txt", "s3cr3t");
      await Deno.mkdir(join(root, "data", "out"), { recursive: true });
      await Deno.mkdir(join(root, "data-private"));
      await Deno.writeTextFile(join(root, "data", "a.txt"), "A");
      await Deno.writeTextFile(join(root, "data", "out", "w.txt"), "W");
      await Deno.writeTextFile(join(root, "data-private", "b.txt"), "B");
    },
    config: (root) => ({
      PluginSecurity: {
        "fs-granted": { AllowFileSystemAccess: true, AllowedPaths: [join(root, "data")] },
      },
    }),
  });
  const data = join(h.root, "data");
  const cases: [string, RegExp, unknown?][] = [
    ["readAbsolute", READ, target],
    ["readEtc", READ],
    ["readDotDot", READ],
    ["readProcEnviron", READ],
    ["readDirRoot", READ],
    ["statOutside", READ, target],
    ["fetchFileUrl", READ, target],
    ["nodeFsRead", READ, target],
    ["writeOutside", WRITE, target],
    ["overwriteOwnCode", WRITE],
    ["removeOwnFolder", WRITE],
    ["nodeFsWrite", WRITE, target],
    ["makeTempDir", /Requires write access to <TMP>/],
    ["symlinkOut", /requires unscoped --allow-read and --allow-write/, target],
  ];
  for (const [attack, denial, arg] of cases) {
    await t.step(`fs: ${attack}`, () => h.denied("fs-nothing", attack, denial, arg).then(() => {}));
  }
  assert.equal(await Deno.readTextFile(target), "s3cr3t");
  assert.deepEqual([...Deno.readDirSync(join(h.root, "outside"))].map((e) => e.name), ["secret.txt"]);

  const g = h.plugin("fs-granted");
  assert.ok(g.permissions.read.includes(data), JSON.stringify(g.permissions));
  await t.step("fs: the granted folder itself is readable", async () => {
    assert.deepEqual(await g.call("readGranted", data), { ok: true, value: "A" });
  });
  for (
    const [attack, denial] of [
      ["readPrefixSibling", READ],
      ["readDotDotOut", READ],
      ["writeReadOnlyGrant", WRITE],
      ["renameOut", WRITE],
      ["hardLinkOut", READ],
    ] as const
  ) {
    await t.step(`fs: ${attack}`, () => h.denied("fs-granted", attack, denial, data).then(() => {}));
  }
  assert.equal(await Deno.readTextFile(join(data, "a.txt")), "A");
});

Deno.test("files: a plugin folder holding a symlink that points out is refused before any code runs", async () => {
  const hidden = attacker("fs-symlink", {
    readLink: `() => Deno.readTextFile(new URL("./link", import.meta.url))`,
  });
  await using h = await attackHost({ "fs-symlink": hidden }, {
    prepare: async (root) => {
      const target = await secret(root, "secret.txt", "s3cr3t");
      await Deno.symlink(target, join(root, "plugins", "fs-symlink", "link"));
    },
  });
  assert.equal(h.host.getPlugin("fs-symlink"), undefined, "the plugin never loaded");
  const failure = h.host.getDiscoveryFailures().find((f) => f.dir.endsWith("fs-symlink"));
  assert.ok(failure, JSON.stringify(h.host.getDiscoveryFailures()));
  assert.match(failure.message, /symlink "link" points outside the plugin folder/);
  await h.healthy();
});

Deno.test("files: a symlink in a granted folder that leads out of the grants refuses the start", async (t) => {
  const reader = (id: string, write: string) =>
    attacker(id, { readLink: `(p) => Deno.readTextFile(p)` }, {
      manifest: { permissions: { read: ["../../data"], write: [write] } },
    });
  let root = "";
  await using h = await attackHost({
    "grant-out": reader("grant-out", "../../data/out"),
    "grant-write-up": reader("grant-write-up", "../../data/up"),
    "grant-inside": reader("grant-inside", "../../data/out"),
  }, {
    prepare: async (r) => {
      root = r;
      await secret(r, "secret.txt", "s3cr3t");
      // One data folder, ../../data from each plugin's folder; each step puts its own link in it.
      await Deno.mkdir(join(r, "data", "out"), { recursive: true });
      await Deno.mkdir(join(r, "data", "up"));
      await Deno.writeTextFile(join(r, "data", "a.txt"), "A");
    },
    config: (r) => ({
      PluginSecurity: Object.fromEntries(
        ["grant-out", "grant-write-up", "grant-inside"].map((id) => [
          id,
          { AllowFileSystemAccess: true, AllowedPaths: [join(r, "data")] },
        ]),
      ),
    }),
  });
  const data = join(root, "data");
  const expectRefused = async (id: string, link: string, to: string, why: RegExp) => {
    await Deno.symlink(to, link);
    try {
      await assert.rejects(h.host.startPlugin(id), why);
      assert.equal(h.plugin(id).state, "Failed");
    } finally {
      await Deno.remove(link);
    }
  };
  await t.step("a link in a read grant to a file outside every grant", async () => {
    await h.host.stopPlugin("grant-out");
    await expectRefused(
      "grant-out",
      join(data, "x"),
      join(root, "outside", "secret.txt"),
      /symlink ".*data\/x" in a read grant leads to ".*outside\/secret\.txt", outside the read grants/,
    );
    await h.healthy({ "grant-out": "Failed", "grant-write-up": "Running", "grant-inside": "Running" });
  });
  await t.step("a link in a write grant into a part that is only readable", async () => {
    await h.host.stopPlugin("grant-write-up");
    await expectRefused(
      "grant-write-up",
      join(data, "up", "a-link"),
      join(data, "a.txt"),
      /symlink ".*data\/up\/a-link" in a write grant leads to ".*data\/a\.txt", outside the write grants/,
    );
  });
  await t.step("a link that stays inside the grant is fine", async () => {
    await Deno.symlink(join(data, "a.txt"), join(data, "inner"));
    await h.host.stopPlugin("grant-inside");
    await h.host.startPlugin("grant-inside");
    assert.equal(h.plugin("grant-inside").state, "Running");
    const r = await h.plugin("grant-inside").call("readLink", join(data, "inner")) as { ok: boolean };
    assert.equal(r.ok, true);
  });
});
