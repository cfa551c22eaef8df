// keygen, sign, verify, approvals, approve and reject as a user runs them: subprocesses, output, exit codes.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { ReloadEvent } from "../mod.ts";
import { hostWith, writePlugins } from "./_helpers.ts";
import { signedSource } from "./_trust_fixtures.ts";

const repo = new URL("..", import.meta.url).pathname;
const cliArgs = ["run", "--unstable-worker-options", "--no-prompt", "-A", "src/cli/cli.ts"];

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...cliArgs, ...args],
    cwd: repo,
    env: { NO_COLOR: "1" },
  })
    .output();
  const decode = (b: Uint8Array): string => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("keygen → sign → verify exits 0; a tampered file makes verify exit 1 naming it", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_cli_trust_" }));
  try {
    const plugin = join(await writePlugins(root, { svc: signedSource("svc") }), "svc");
    const keygen = await cli("keygen", "--out", join(root, "release"));
    assert.equal(keygen.code, 0, keygen.stderr);
    const thumb = /thumbprint:\s+([0-9a-f]{64})$/m.exec(keygen.stdout)?.[1];
    assert.ok(thumb, keygen.stdout);
    assert.match(await Deno.readTextFile(join(root, "release.pub")), /BEGIN PUBLIC KEY/);
    assert.equal((await cli("keygen", "--out", join(root, "release"))).code, 2, "never overwrites a key");

    const sign = await cli("sign", plugin, "--key", join(root, "release.key"));
    assert.equal(sign.code, 0, sign.stderr);
    assert.match(sign.stdout, new RegExp(`signed .*svc: 5 files, key ${thumb}`));

    const verify = await cli("verify", plugin, "--trusted", thumb);
    assert.equal(verify.code, 0, verify.stdout);
    assert.match(verify.stdout, /^ok: .*svc: 5 files intact, signed by [0-9a-f]{64}, trusted$/m);
    const untrusted = await cli("verify", plugin, "--trusted", "0".repeat(64));
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stdout, /not in TrustedCertificateThumbprints/);

    await Deno.writeTextFile(join(plugin, "lib", "util.ts"), "export const V = 666;\n");
    const tampered = await cli("verify", plugin);
    assert.equal(tampered.code, 1);
    assert.match(tampered.stdout, /^failed: .*svc$/m);
    assert.match(tampered.stdout, /"lib\/util\.ts" differs from the signed file/);

    const badKey = await cli("sign", plugin, "--key", join(root, "release.pub"));
    assert.equal(badKey.code, 1);
    assert.match(badKey.stderr, /not an Ed25519 private key/);
    for (const args of [["keygen"], ["sign", plugin], ["verify"], ["approve", "svc"], ["approvals"]]) {
      const usage = await cli(...args);
      assert.equal(usage.code, 2, args.join(" "));
      assert.match(usage.stderr, /Usage: deno task cli/);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("approvals, approve and reject talk to a running host's admin API", async () => {
  await using t = await hostWith({ svc: signedSource("svc") }, {
    Plugins: { EnableHotReload: true, ReloadDelay: 50, Admin: { Token: "s3cret-token-0123" } },
  });
  await t.host.start();
  const server = await t.host.serveAdmin({ port: 0 });
  const held = (version: string): Promise<void> =>
    new Promise((resolve) => {
      const off = t.host.on("reload", (e: ReloadEvent) => {
        if (e.outcome === "held" && e.toVersion === version) resolve(off());
      });
    });
  const url = ["--url", server.url, "--token", "s3cret-token-0123"];

  let waiting = held("1.0.2");
  await writePlugins(t.root, { svc: signedSource("svc", 2, { env: ["HOME"] }) });
  await waiting;
  const list = await cli("approvals", ...url);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^svc 1\.0\.1 → 1\.0\.2 asks for more: env: HOME$/m);
  const rejected = await cli("reject", "svc", ...url);
  assert.equal(rejected.code, 0, rejected.stderr);
  assert.match(rejected.stdout, /rejected svc 1\.0\.2: the running version stays/);
  assert.equal(await t.host.getPlugin("svc")!.call("version"), 1);

  waiting = held("1.0.3");
  await writePlugins(t.root, { svc: signedSource("svc", 3, { env: ["HOME"] }) });
  await waiting;
  const noToken = await cli("approve", "svc", "--url", server.url);
  assert.equal(noToken.code, 1);
  assert.match(noToken.stderr, /401/);
  const approved = await cli("approve", "svc", ...url);
  assert.equal(approved.code, 0, approved.stderr);
  assert.match(approved.stdout, /approved svc: now 1\.0\.3 \(Running\)/);
  assert.equal(await t.host.getPlugin("svc")!.call("version"), 3);
  const none = await cli("approve", "svc", ...url);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /404 No version of plugin "svc" is waiting for approval/);
});
