// Bundles across the fleet, against a real nats-server and three real hosts with Cluster.Bundles: a signed
// folder published with the CLI's `publish` is Running on all three; one signed by a key the hosts do not trust
// is installed nowhere; a version asking for more permissions is held on every host until `approve --cluster`
// decides once; `fleet --cluster --json` lists the hosts. Malformed store entries are refused, field named.
import assert from "node:assert/strict";
import { join } from "node:path";
import { type BundleEvent, generateKeyPair, type PluginHost, signPlugin, thumbprint } from "../mod.ts";
import { main } from "../src/cli/cli.ts";
import { encodeFrame } from "../src/cluster/_codec.ts";
import { connectNats } from "../src/cluster/_connect.ts";
import { openBundleStore } from "../src/cluster/bundles.ts";
import { hostWith, type PluginSource } from "./_helpers.ts";
import { natsServerPath, startNats } from "./_nats.ts";

const other: PluginSource = { manifest: { id: "other.local" }, code: "export default {};" };

/** The host's next bundle event for `id` that `match` accepts. */
function bundleEvent(host: PluginHost, id: string, match: (e: BundleEvent) => boolean = () => true) {
  return new Promise<BundleEvent>((resolve) => {
    const off = host.on("bundle", (e) => {
      if (e.id !== id || !match(e)) return;
      off();
      resolve(e);
    });
  });
}

/** A plugin folder `id` at `version` whose hello() answers `version`, signed with `keys`. */
async function signedFolder(
  root: string,
  id: string,
  version: string,
  keys: Awaited<ReturnType<typeof generateKeyPair>>,
  permissions: Record<string, unknown> = {},
): Promise<string> {
  const dir = join(root, `${id}-${version}`);
  await Deno.mkdir(join(dir, "lib"), { recursive: true });
  await Deno.writeTextFile(
    join(dir, "plugin.jsonc"),
    JSON.stringify({ id, name: id, version, capabilities: ["HotReloadable"], permissions }),
  );
  await Deno.writeTextFile(
    join(dir, "lib", "answer.ts"),
    `export const answer = ${JSON.stringify(version)};`,
  );
  await Deno.writeTextFile(
    join(dir, "mod.ts"),
    `import { answer } from "./lib/answer.ts";\nexport default { methods: { hello: () => answer } };`,
  );
  await signPlugin(dir, keys);
  return dir;
}

/** Runs the CLI with `args`; its exit code and what it printed. */
async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(" "));
  try {
    return { code: await main(args), out: lines.join("\n") };
  } finally {
    console.log = log;
  }
}

Deno.test({
  name:
    "bundles: published once, Running on three hosts; an untrusted one nowhere; more permissions held until approved once",
  ignore: natsServerPath === undefined,
  async fn() {
    await using nats = await startNats();
    const trusted = await generateKeyPair(), stranger = await generateKeyPair();
    const trustedThumbprint = await thumbprint(trusted.publicKey);
    const root = await Deno.makeTempDir({ prefix: "dotcompute_bundles_" });
    const config = (hostId: string) => ({
      Plugins: {
        TrustedCertificateThumbprints: [trustedThumbprint],
        Cluster: { Servers: [nats.url], Name: "b", HostId: hostId, Bundles: true },
      },
    });
    await using a = await hostWith({ other }, config("host-a"));
    await using b = await hostWith({ other }, config("host-b"));
    await using c = await hostWith({ other }, config("host-c"));
    const hosts = [a.host, b.host, c.host];
    await Promise.all(hosts.map((h) => h.start()));

    // Published with the CLI: installed and Running on every host.
    const installed = Promise.all(hosts.map((h) => bundleEvent(h, "greet.app")));
    const v1 = await signedFolder(root, "greet.app", "1.0.0", trusted);
    const published = await cli("publish", v1, "--cluster", nats.url, "--name", "b");
    assert.equal(published.code, 0);
    assert.match(published.out, /published greet\.app 1\.0\.0/);
    for (const e of await installed) assert.deepEqual([e.outcome, e.version], ["installed", "1.0.0"]);
    for (const h of hosts) {
      const p = h.getPlugin("greet.app")!;
      assert.equal(p.state, "Running");
      assert.equal(await p.call("hello"), "1.0.0");
    }

    // Signed by a key no host trusts: refused everywhere, never written where a plugin runs from.
    const refused = Promise.all(hosts.map((h) => bundleEvent(h, "rogue.app")));
    assert.equal(
      (await cli(
        "publish",
        await signedFolder(root, "rogue.app", "1.0.0", stranger),
        "--cluster",
        nats.url,
        "--name",
        "b",
      )).code,
      0,
    );
    for (const e of await refused) {
      assert.equal(e.outcome, "refused");
      assert.match(e.reason!, /does not trust/);
    }
    for (const x of [a, b, c]) {
      assert.equal(x.host.getPlugin("rogue.app"), undefined);
      assert.equal(
        await Deno.stat(join(x.root, "plugins", ".fleet", "rogue.app")).catch(() => undefined),
        undefined,
      );
    }

    // A version asking for more: held on every host, the old one serving, until approved once for the fleet.
    const held = Promise.all(hosts.map((h) => bundleEvent(h, "greet.app")));
    const v2 = await signedFolder(root, "greet.app", "2.0.0", trusted, { read: ["/tmp"] });
    assert.equal((await cli("publish", v2, "--cluster", nats.url, "--name", "b")).code, 0);
    for (const e of await held) assert.deepEqual([e.outcome, e.version], ["held", "2.0.0"]);
    for (const h of hosts) {
      assert.equal(await h.getPlugin("greet.app")!.call("hello"), "1.0.0");
      assert.deepEqual(h.getPendingApprovals().map((p) => [p.id, p.toVersion]), [["greet.app", "2.0.0"]]);
    }
    const swapped = Promise.all(hosts.map((h) =>
      new Promise<string | undefined>((resolve) => {
        const off = h.on("reload", (e) => {
          if (e.id !== "greet.app" || e.outcome === "held") return;
          off();
          resolve(e.toVersion);
        });
      })
    ));
    const approved = await cli("approve", "greet.app", "--cluster", nats.url, "--name", "b");
    assert.deepEqual([approved.code, approved.out], [
      0,
      "approved greet.app 2.0.0 for every host of fleet b",
    ]);
    assert.deepEqual(await swapped, ["2.0.0", "2.0.0", "2.0.0"]);
    for (const h of hosts) {
      assert.equal(await h.getPlugin("greet.app")!.call("hello"), "2.0.0");
      assert.equal(h.getPendingApprovals().length, 0);
    }

    // The fleet from the CLI: every host and its plugins.
    const listed = await cli("fleet", "--cluster", nats.url, "--name", "b", "--json");
    assert.equal(listed.code, 0);
    const view = JSON.parse(listed.out) as {
      hosts: { hostId: string; plugins: { id: string; version: string }[] }[];
    };
    assert.deepEqual(view.hosts.map((h) => h.hostId), ["host-a", "host-b", "host-c"]);
    for (const h of view.hosts) {
      assert.deepEqual(h.plugins.map((p) => `${p.id}@${p.version}`).sort(), [
        "greet.app@2.0.0",
        "other.local@1.0.0",
      ]);
    }
    await Deno.remove(root, { recursive: true });
  },
});

Deno.test({
  name: "bundles: a malformed store entry, a path leaving its folder, and an unsigned folder are refused",
  ignore: natsServerPath === undefined,
  async fn() {
    await using nats = await startNats();
    const keys = await generateKeyPair();
    const keysThumbprint = await thumbprint(keys.publicKey);
    await using h = await hostWith({ other }, {
      Plugins: {
        TrustedCertificateThumbprints: [keysThumbprint],
        Cluster: { Servers: [nats.url], Name: "m", HostId: "only", Bundles: true },
      },
    });
    await h.host.start();
    const nc = await connectNats([nats.url], "test", {}, false);
    const store = await openBundleStore(nc, "m");
    const put = async (name: string, bytes: Uint8Array) => {
      const seen = bundleEvent(h.host, name);
      await store.putBlob({
        name,
        description: JSON.stringify({ version: "1.0.0", thumbprint: keysThumbprint }),
      }, bytes);
      return (await seen).reason ?? "";
    };
    assert.match(await put("junk.app", new TextEncoder().encode("not a bundle")), /bad magic/);
    const file = (path: string) => ({ path, data: new Uint8Array([1]) });
    const bundle = (files: unknown[]) =>
      encodeFrame({ v: 1, id: "evil.app", version: "1.0.0", thumbprint: keysThumbprint, files });
    assert.match(
      await put("evil.app", bundle([file("../../escape.ts"), file("plugin.sig.json")])),
      /files\[0\]\.path "\.\.\/\.\.\/escape\.ts" leaves its folder/,
    );
    assert.match(await put("evil.app", bundle([file("mod.ts")])), /holds no plugin\.sig\.json/);
    assert.match(
      await put("evil.app", bundle([file("mod.ts"), file("plugin.sig.json")])),
      /plugin\.sig\.json is malformed/,
    );
    assert.equal(await Deno.stat(join(h.root, "escape.ts")).catch(() => undefined), undefined);
    assert.equal(h.host.getPlugin("evil.app"), undefined);
    // publish refuses a folder whose signature does not verify, before anything reaches the store.
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(
      join(dir, "plugin.jsonc"),
      '{ "id": "plain.app", "name": "p", "version": "1.0.0" }',
    );
    const errors: string[] = [];
    const error = console.error;
    console.error = (...a: unknown[]) => void errors.push(a.join(" "));
    try {
      assert.equal(await main(["publish", dir, "--cluster", nats.url, "--name", "m"]), 1);
    } finally {
      console.error = error;
    }
    assert.match(errors.join("\n"), /not published: the plugin is not signed/);
    assert.equal(await store.info("plain.app"), null);
    await nc.drain();
    await Deno.remove(dir, { recursive: true });
  },
});
