// Signed plugins: keys, signing, every tamper case against verifyPlugin, and the same cases refused by a real
// host at discovery while the untouched plugins load.
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  discoverPlugins,
  exportKeyPem,
  importPublicKey,
  rawPublicKey,
  readSigningKeys,
  SIGNATURE_FILE,
  SignatureError,
  signPlugin,
  thumbprint,
  verifyPlugin,
  writeKeyPair,
} from "../mod.ts";
import { hostWith, type PluginSource, writePlugins } from "./_helpers.ts";
import { otherKeys, signedSource, TAMPERS, TRUSTED, trustedKeys } from "./_trust_fixtures.ts";

async function tempPlugin(id: string): Promise<{ dir: string } & AsyncDisposable> {
  const root = await Deno.makeTempDir({ prefix: "dotcompute_trust_" });
  const plugins = await writePlugins(root, { [id]: signedSource(id) });
  return { dir: join(plugins, id), [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }) };
}

Deno.test("a signed folder verifies; signing is deterministic; the thumbprint is SHA-256 of the raw key", async () => {
  await using p = await tempPlugin("svc");
  const sig = await signPlugin(p.dir, trustedKeys);
  const paths = ["README.md", "lib/table.json", "lib/util.ts", "mod.ts", "plugin.jsonc"];
  assert.deepEqual(sig.files.map((f) => f.path), paths);
  assert.equal(sig.manifest.path, "plugin.jsonc");
  const first = await Deno.readTextFile(join(p.dir, SIGNATURE_FILE));
  await signPlugin(p.dir, trustedKeys);
  assert.equal(await Deno.readTextFile(join(p.dir, SIGNATURE_FILE)), first);
  const raw = await rawPublicKey(trustedKeys.publicKey);
  const expected = new Uint8Array(await crypto.subtle.digest("SHA-256", raw)).toHex();
  assert.equal(TRUSTED, expected);
  assert.deepEqual(await verifyPlugin(p.dir, { trusted: [TRUSTED.toUpperCase()] }), {
    ok: true,
    thumbprint: TRUSTED,
    files: 5,
  });
  assert.equal((await verifyPlugin(p.dir)).ok, true, "no trust list: integrity only");
  assert.equal((await verifyPlugin(p.dir, { trusted: [] })).ok, false, "an empty list trusts nothing");
});

Deno.test("a large file (hashed off the event loop) is covered like a small one", async () => {
  await using p = await tempPlugin("svc");
  const big = new Uint8Array(300 * 1024).map((_, i) => i % 251);
  await Deno.mkdir(join(p.dir, "assets"));
  await Deno.writeFile(join(p.dir, "assets", "model.bin"), big);
  const sig = await signPlugin(p.dir, trustedKeys);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", big)).toHex();
  assert.equal(sig.files.find((f) => f.path === "assets/model.bin")?.sha256, digest);
  assert.equal((await verifyPlugin(p.dir)).ok, true);
  big[150_000] ^= 1;
  await Deno.writeFile(join(p.dir, "assets", "model.bin"), big);
  const result = await verifyPlugin(p.dir);
  assert.ok(!result.ok);
  assert.match(result.reason, /^"assets\/model\.bin" differs from the signed file$/);
});

Deno.test("key files: PKCS#8 and SPKI PEM, the private one 0600 and never overwritten", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dotcompute_keys_" });
  try {
    const files = await writeKeyPair(join(dir, "release"));
    assert.match(await Deno.readTextFile(files.privateKeyFile), /^-----BEGIN PRIVATE KEY-----\n/);
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(files.privateKeyFile)).mode! & 0o777, 0o600);
    }
    const keys = await readSigningKeys(files.privateKeyFile);
    assert.equal(await thumbprint(keys.publicKey), files.thumbprint);
    const pub = await importPublicKey(await Deno.readTextFile(files.publicKeyFile));
    assert.equal(await thumbprint(pub), files.thumbprint);
    assert.match(await exportKeyPem(pub), /^-----BEGIN PUBLIC KEY-----\n/);
    await assert.rejects(writeKeyPair(join(dir, "release")), Deno.errors.AlreadyExists);
    await assert.rejects(readSigningKeys(files.publicKeyFile), TypeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("signing refuses a folder with a symlink", async () => {
  await using p = await tempPlugin("svc");
  await Deno.symlink("mod.ts", join(p.dir, "alias.ts"));
  await assert.rejects(signPlugin(p.dir, trustedKeys), (e) => {
    assert.ok(e instanceof SignatureError);
    assert.equal(e.code, "SIGNATURE_INVALID");
    assert.match(e.message, /cannot be signed: "alias\.ts" is a symlink/);
    return true;
  });
});

for (const tamper of TAMPERS) {
  Deno.test(`verifyPlugin refuses ${tamper.name}, naming it`, async () => {
    await using p = await tempPlugin("svc");
    await signPlugin(p.dir, trustedKeys);
    await tamper.apply(p.dir);
    const result = await verifyPlugin(p.dir, { trusted: [TRUSTED] });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.ok(result.problems.some((x) => x.kind === tamper.kind && x.path === (tamper.path ?? x.path)));
    assert.match(result.reason, tamper.reason);
  });
}

Deno.test("a malformed signature file is refused with why", async () => {
  await using p = await tempPlugin("svc");
  for (
    const [text, why] of [["{", /not JSON/], ['{"format":2}', /unknown format 2/], [
      "[]",
      /not a JSON object/,
    ]]
  ) {
    await Deno.writeTextFile(join(p.dir, SIGNATURE_FILE), text as string);
    const result = await verifyPlugin(p.dir);
    assert.ok(!result.ok && result.problems[0].kind === "malformed", String(text));
    assert.match(result.reason, why as RegExp);
  }
  const missing = await verifyPlugin(join(p.dir, "nope"));
  assert.ok(!missing.ok && missing.problems[0].kind === "unreadable");
  assert.match(missing.reason, /is not a plugin folder/);
});

Deno.test("with ValidateSignatures, discovery refuses every tampered plugin with its reason; the others run", async () => {
  const sources: Record<string, PluginSource> = { good: signedSource("good") };
  TAMPERS.forEach((_, i) => sources[`t${i}`] = signedSource(`t${i}`));
  await using t = await hostWith(sources, {
    Plugins: { ValidateSignatures: true, TrustedCertificateThumbprints: [TRUSTED] },
  });
  const plugins = join(t.root, "plugins");
  for (const folder of Object.keys(sources)) await signPlugin(join(plugins, folder), trustedKeys);
  for (const [i, tamper] of TAMPERS.entries()) await tamper.apply(join(plugins, `t${i}`));
  const failures: { id?: string; message: string }[] = [];
  t.host.on("discoveryFailure", (f) => failures.push(f));

  await t.host.start();
  assert.equal(await t.host.getPlugin("good")?.call("version"), 1);
  assert.deepEqual(t.host.getPlugins().map((p) => p.id), ["good"]);
  assert.equal(failures.length, TAMPERS.length);
  for (const [i, tamper] of TAMPERS.entries()) {
    const f = t.host.getDiscoveryFailures().find((x) => x.id === `t${i}`);
    assert.ok(f, `no failure for ${tamper.name}`);
    assert.match(f.message, /Plugin "t\d+" failed signature verification: /);
    assert.match(f.message, tamper.reason, tamper.name);
  }
  // Without ValidateSignatures the same folders are only checked as plugin folders.
  const plain = await discoverPlugins(plugins);
  assert.equal(plain.filter((r) => r.ok).length, TAMPERS.length + 1);
});

Deno.test("a trusted list that does not hold the signer refuses even an intact plugin", async () => {
  await using t = await hostWith({ svc: signedSource("svc") }, {
    Plugins: {
      ValidateSignatures: true,
      TrustedCertificateThumbprints: [await thumbprint(otherKeys.publicKey)],
    },
  });
  await signPlugin(join(t.root, "plugins", "svc"), trustedKeys);
  await t.host.start();
  assert.equal(t.host.getPlugin("svc"), undefined);
  assert.match(t.host.getDiscoveryFailures()[0].message, /not in TrustedCertificateThumbprints/);
});
