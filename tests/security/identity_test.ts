// Identity attacks: a plugin granted nothing takes another plugin's id (and so its grants) by being a second
// folder that claims it, and a plugin reads outside its grants through a hard link (Deno checks paths, not
// inodes) in its own folder or in a folder it is granted. Pins (PluginSecurity.<id>.Folder / Signer) decide
// which folder is the real one.
import assert from "node:assert/strict";
import { join } from "node:path";
import { createPluginHost, type DiscoveryFailureEvent, signPlugin } from "../../mod.ts";
import { type PluginSource, writePlugins } from "../_helpers.ts";
import { otherKeys, TRUSTED, trustedKeys } from "../_trust_fixtures.ts";
import { attacker, attackHost, INNOCENT, secret } from "./_attack.ts";

const SECRET = "s3cr3t";
/** A plugin claiming `id` whose `readSecret(path)` reads a file: what the id's grant would let it read. */
const vault = (id: string, who: string): PluginSource =>
  attacker(id, {
    readSecret: `(p) => Deno.readTextFile(p)`,
    who: `() => ${JSON.stringify(who)}`,
  }, { manifest: { permissions: { read: ["../../outside"] } } });
const grantOutside = (root: string, extra: Record<string, unknown> = {}) => ({
  vault: { AllowFileSystemAccess: true, AllowedPaths: [join(root, "outside")], ...extra },
});
const securityConfig = (extra: Record<string, unknown> = {}) => (root: string) => ({
  PluginSecurity: grantOutside(root, extra),
});
const innocent: PluginSource = {
  manifest: { id: INNOCENT },
  code: `export default { methods: { ping: () => "pong" } };`,
};

/** A started host over `plugins` (plus the innocent one) that records its discovery failure events. */
async function identityHost(
  plugins: Record<string, PluginSource>,
  config: (root: string) => Record<string, unknown>,
  prepare: (root: string, dir: string) => Promise<void> = async () => {},
) {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_identity_" }));
  const dir = await writePlugins(root, { ...plugins, [INNOCENT]: innocent });
  await secret(root, "secret.txt", SECRET);
  await prepare(root, dir);
  const c = config(root);
  const host = await createPluginHost(
    {
      ...c,
      Plugins: { PluginsDirectory: dir, EnableHotReload: false, ...(c.Plugins as object | undefined) },
    },
    { restartPolicy: false },
  );
  const events: DiscoveryFailureEvent[] = [];
  host.on("discoveryFailure", (e) => events.push(e));
  await host.start();
  assert.equal(await host.getPlugin(INNOCENT)?.call("ping"), "pong", "the innocent plugin answers");
  return {
    host,
    root,
    dir,
    events,
    failure: (folder: string): DiscoveryFailureEvent => {
      const f = host.getDiscoveryFailures().find((x) => x.dir === join(dir, folder));
      assert.ok(f, `no failure for ${folder}: ${JSON.stringify(host.getDiscoveryFailures())}`);
      assert.ok(events.some((e) => e.dir === f.dir && e.message === f.message), "reported as an event too");
      return f;
    },
    async [Symbol.asyncDispose]() {
      await host.stop();
      await Deno.remove(root, { recursive: true });
    },
  };
}

Deno.test("identity: two folders claiming one id: neither gets its grants, both are reported", async () => {
  // "aaa-evil" sorts first: by folder order it used to win the id and read the secret.
  await using h = await identityHost(
    { "aaa-evil": vault("vault", "evil"), vault: vault("vault", "real") },
    securityConfig(),
  );
  assert.equal(h.host.getPlugin("vault"), undefined, "no folder got the id");
  for (const [folder, other] of [["aaa-evil", "vault"], ["vault", "aaa-evil"]]) {
    const f = h.failure(folder);
    assert.equal(f.id, "vault");
    // Located at its own manifest's id, naming the other folder.
    assert.ok(f.message.startsWith(`${join(h.dir, folder, "plugin.jsonc")}:1:`), f.message);
    assert.match(f.message, /"id": plugin id "vault" .* is declared by .* too, so no folder gets the id/);
    assert.ok(f.message.includes(`"${join(h.dir, other)}"`), f.message);
  }
});

Deno.test("identity: a change to one of two claimants (hot reload) does not hand it the id", async () => {
  await using h = await identityHost(
    { "aaa-evil": vault("vault", "evil"), vault: vault("vault", "real") },
    (root) => ({ ...securityConfig()(root), Plugins: { EnableHotReload: true, ReloadDelay: 50 } }),
  );
  const evil = join(h.dir, "aaa-evil");
  // Whichever comes: the folder refused again, or a reload of (or adding) "vault".
  const again = new Promise<{ message?: string; outcome?: string }>((resolve) => {
    h.host.on("discoveryFailure", (e) => e.dir === evil && resolve(e));
    h.host.on("reload", (e) => e.id === "vault" && resolve(e));
  });
  await Deno.writeTextFile(join(evil, "mod.ts"), `export default { methods: { who: () => "evil, again" } };`);
  const e = await again;
  assert.match(
    e.message ?? `a reload: ${e.outcome}`,
    /"id": plugin id "vault" .* is declared by .*plugins\/vault" .* too/,
  );
  assert.equal(h.host.getPlugin("vault"), undefined, "still no folder has the id");
});

Deno.test("identity: a Folder pin picks the real folder; the other claimant is refused", async (t) => {
  await t.step("duplicates: the pinned folder runs with the grant, the other is refused", async () => {
    await using h = await identityHost(
      { "aaa-evil": vault("vault", "evil"), vault: vault("vault", "real") },
      (root) => securityConfig({ Folder: join(root, "plugins", "vault") })(root),
    );
    const p = h.host.getPlugin("vault");
    assert.deepEqual(await p?.call("who"), { ok: true, value: "real" });
    const read = await p!.call("readSecret", join(h.root, "outside", "secret.txt")) as { value: string };
    assert.equal(read.value, SECRET, "the real plugin keeps its grant");
    const f = h.failure("aaa-evil");
    assert.ok(f.message.startsWith(`${join(h.dir, "aaa-evil", "plugin.jsonc")}:1:`), f.message);
    assert.match(
      f.message,
      /"id": plugin "vault" is pinned by PluginSecurity\."vault"\.Folder to ".*plugins\/vault"/,
    );
  });
  await t.step("a lone plugin from another folder than its pin does not start", async () => {
    await using h = await identityHost(
      { "aaa-evil": vault("vault", "evil") },
      (root) => securityConfig({ Folder: join(root, "plugins", "vault") })(root),
    );
    assert.equal(h.host.getPlugin("vault"), undefined);
    assert.match(h.failure("aaa-evil").message, /pinned by PluginSecurity\."vault"\.Folder/);
  });
});

Deno.test("identity: a Signer pin needs a valid signature by that key, whatever ValidateSignatures says", async (t) => {
  const sign = (folder: string, keys: typeof trustedKeys) => async (_root: string, dir: string) =>
    void await signPlugin(join(dir, folder), keys);
  await t.step(
    "duplicates: the folder signed by the pinned key wins; one signed by another key is refused",
    async () => {
      await using h = await identityHost(
        { "aaa-evil": vault("vault", "evil"), vault: vault("vault", "real") },
        (root) => ({ PluginSecurity: grantOutside(root, { Signer: TRUSTED }) }),
        async (root, dir) => {
          await sign("vault", trustedKeys)(root, dir);
          await sign("aaa-evil", otherKeys)(root, dir);
        },
      );
      const p = h.host.getPlugin("vault");
      assert.deepEqual(await p?.call("who"), { ok: true, value: "real" });
      const f = h.failure("aaa-evil");
      assert.match(
        f.message,
        /"id": plugin "vault" is pinned by PluginSecurity\."vault"\.Signer to key [0-9a-f]{16}/,
      );
      assert.match(f.message, /carries no valid signature by it/);
    },
  );
  await t.step("an unsigned lone claimant is refused, with ValidateSignatures off", async () => {
    await using h = await identityHost(
      { "aaa-evil": vault("vault", "evil") },
      (root) => ({
        Plugins: { ValidateSignatures: false },
        PluginSecurity: grantOutside(root, { Signer: TRUSTED }),
      }),
    );
    assert.equal(h.host.getPlugin("vault"), undefined);
    assert.match(h.failure("aaa-evil").message, /pinned by PluginSecurity\."vault"\.Signer.*unsigned|has no/);
  });
  await t.step(
    "checked at reload: a tampered pinned plugin is refused and the old version stays",
    async () => {
      await using h = await identityHost(
        { vault: vault("vault", "real") },
        (root) => ({ PluginSecurity: grantOutside(root, { Signer: TRUSTED }) }),
        sign("vault", trustedKeys),
      );
      assert.equal(h.host.getPlugin("vault")?.state, "Running");
      await Deno.writeTextFile(
        join(h.dir, "vault", "mod.ts"),
        `export default { methods: { who: () => "x" } };`,
      );
      await assert.rejects(h.host.reload("vault"), /pinned by PluginSecurity\."vault"\.Signer/);
      assert.deepEqual(await h.host.getPlugin("vault")?.call("who"), { ok: true, value: "real" });
    },
  );
});

/** A plugin that reads a file by path: `./leak` in its folder, or anything it names. */
const leaker = (id: string, permissions: Record<string, string[]> = {}): PluginSource =>
  attacker(id, {
    readOwn: `() => Deno.readTextFile(new URL("./leak.txt", import.meta.url))`,
    read: `(p) => Deno.readTextFile(p)`,
  }, { manifest: { permissions } });

Deno.test("identity: a hard link in a plugin folder to a secret outside refuses the plugin", async (t) => {
  await t.step("at discovery (host start)", async () => {
    await using h = await attackHost({ "hl-folder": leaker("hl-folder") }, {
      prepare: async (root) => {
        const target = await secret(root, "secret.txt", SECRET);
        await Deno.link(target, join(root, "plugins", "hl-folder", "leak.txt"));
      },
    });
    assert.equal(h.host.getPlugin("hl-folder"), undefined, "the plugin never loaded");
    const f = h.host.getDiscoveryFailures().find((x) => x.dir.endsWith("hl-folder"));
    assert.ok(f, JSON.stringify(h.host.getDiscoveryFailures()));
    assert.match(f.message, /plugins\/hl-folder\/leak\.txt: "leak\.txt" has 2 hard links/);
    await h.healthy();
  });
  await t.step("at reload: a hard link slipped in is refused and the old version stays", async () => {
    await using h = await attackHost({ "hl-reload": leaker("hl-reload") });
    const target = await secret(h.root, "secret.txt", SECRET);
    await Deno.link(target, join(h.root, "plugins", "hl-reload", "leak.txt"));
    await assert.rejects(h.host.reload("hl-reload"), /"leak\.txt" has 2 hard links/);
    await h.healthy({ "hl-reload": "Running" });
  });
});

for (const isolation of ["worker", "process"] as const) {
  Deno.test(`identity: a hard link in a granted folder refuses the start (${isolation} tier)`, async (t) => {
    const id = `hl-grant-${isolation}`;
    await using h = await attackHost({ [id]: leaker(id, { read: ["../../data", "../../single.txt"] }) }, {
      prepare: async (root) => {
        await secret(root, "secret.txt", SECRET);
        await Deno.mkdir(join(root, "data"), { recursive: true });
        await Deno.writeTextFile(join(root, "data", "a.txt"), "A");
      },
      config: (root) => ({
        Plugins: { [id]: { Isolation: isolation } },
        PluginSecurity: {
          [id]: { AllowFileSystemAccess: true, AllowedPaths: [join(root, "data"), join(root, "single.txt")] },
        },
      }),
    });
    const link = join(h.root, "data", "leak.txt");
    assert.equal(h.plugin(id).state, "Running", "a clean grant starts");
    await t.step("at start", async () => {
      await h.host.stopPlugin(id);
      await Deno.link(join(h.root, "outside", "secret.txt"), link);
      try {
        await assert.rejects(
          h.host.startPlugin(id),
          /file ".*data\/leak\.txt" in a read grant has 2 hard links/,
        );
        assert.equal(h.plugin(id).state, "Failed");
      } finally {
        await Deno.remove(link);
      }
      await h.host.startPlugin(id);
      await h.healthy({ [id]: "Running" });
    });
    await t.step("a granted file that is a second name of the secret", async () => {
      const single = join(h.root, "single.txt");
      await h.host.stopPlugin(id);
      await Deno.link(join(h.root, "outside", "secret.txt"), single);
      try {
        await assert.rejects(h.host.startPlugin(id), /file ".*single\.txt" in a read grant has 2 hard links/);
      } finally {
        await Deno.remove(single);
      }
      await h.host.startPlugin(id);
      await h.healthy({ [id]: "Running" });
    });
    await t.step("at reload", async () => {
      await Deno.link(join(h.root, "outside", "secret.txt"), link);
      try {
        await assert.rejects(h.host.reload(id), /file ".*data\/leak\.txt" in a read grant has 2 hard links/);
      } finally {
        await Deno.remove(link);
      }
      await h.healthy();
    });
  });
}
