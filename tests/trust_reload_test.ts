// Signatures on every hot reload, and the permission-diff gate, against real files, the real watcher and real
// workers: a refused or held version never replaces the one that answers.
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type ApprovalEvent,
  createAdminApp,
  type HostEventMap,
  permissionIncrease,
  type PluginHost,
  type ReloadEvent,
  signPlugin,
} from "../mod.ts";
import { hostWith, writePlugins } from "./_helpers.ts";
import { signedSource, TAMPERS, TRUSTED, trustedKeys } from "./_trust_fixtures.ts";

/** Events of one type in order; `until` resolves with the first that matches, dropping those before it. */
function queue<K extends keyof HostEventMap>(
  host: PluginHost,
  type: K,
): { until(pred: (e: HostEventMap[K]) => boolean): Promise<HostEventMap[K]>; off(): void } {
  const seen: HostEventMap[K][] = [];
  let wake = (): void => {};
  const off = host.on(type, (e) => (seen.push(e), wake()));
  return {
    async until(pred) {
      for (;;) {
        const i = seen.findIndex(pred);
        if (i >= 0) return seen.splice(0, i + 1)[i];
        await new Promise<void>((r) => wake = r);
      }
    },
    off,
  };
}

const signedHot = {
  Plugins: {
    EnableHotReload: true,
    ReloadDelay: 50,
    ValidateSignatures: true,
    TrustedCertificateThumbprints: [TRUSTED],
  },
};
const isReload = (outcome: ReloadEvent["outcome"], toVersion?: string) => (e: ReloadEvent): boolean =>
  e.outcome === outcome && (toVersion === undefined || e.toVersion === toVersion);

Deno.test("every tamper case is refused at hot reload; the old version keeps answering; undoing it reloads", async () => {
  await using t = await hostWith({ svc: signedSource("svc") }, signedHot);
  const dir = join(t.root, "plugins", "svc");
  await signPlugin(dir, trustedKeys);
  await t.host.start();
  const p = t.host.getPlugin("svc")!;
  assert.equal(await p.call("version"), 1);
  const reloads = queue(t.host, "reload");
  const pristine = join(t.root, "pristine");
  for (const tamper of TAMPERS) {
    await Deno.remove(pristine, { recursive: true }).catch(() => {});
    await copyFolder(dir, pristine);
    await tamper.apply(dir);
    const e = await reloads.until(isReload("rolled-back"));
    assert.match(e.error!, /failed signature verification/, tamper.name);
    assert.match(e.error!, tamper.reason, tamper.name);
    assert.equal(await p.call("version"), 1, tamper.name);
    assert.equal(p.state, "Running");
    assert.equal(p.lastReload?.outcome, "rolled-back");
    await restore(pristine, dir);
    await reloads.until(isReload("swapped"));
    assert.equal(await p.call("version"), 1);
  }
  reloads.off();
});

Deno.test("a new version signed with a trusted key swaps in; a new unsigned folder is refused", async () => {
  await using t = await hostWith({ svc: signedSource("svc") }, signedHot);
  const plugins = join(t.root, "plugins");
  await signPlugin(join(plugins, "svc"), trustedKeys);
  await t.host.start();
  const reloads = queue(t.host, "reload");
  // Written then signed: a reload may run between the two and be refused; the signed one goes through.
  await writePlugins(t.root, { svc: signedSource("svc", 2) });
  await signPlugin(join(plugins, "svc"), trustedKeys);
  const e = await reloads.until(isReload("swapped", "1.0.2"));
  assert.equal(e.fromVersion, "1.0.1");
  assert.equal(await t.host.getPlugin("svc")!.call("version"), 2);

  const failures = queue(t.host, "discoveryFailure");
  await writePlugins(join(t.root, "staging"), { fresh: signedSource("fresh") });
  await Deno.rename(join(t.root, "staging", "plugins", "fresh"), join(plugins, "fresh"));
  const f = await failures.until(() => true);
  assert.equal(f.id, "fresh");
  assert.match(f.message, /not signed/);
  assert.equal(t.host.getPlugin("fresh"), undefined);
  failures.off();
  reloads.off();
});

const hot = { Plugins: { EnableHotReload: true, ReloadDelay: 50 } };
const outside = (root: string): string => join(root, "shared-data");

Deno.test("gate: a version asking for more is held, the old one answers; approving swaps it in", async () => {
  await using t = await hostWith({ svc: signedSource("svc") }, hot);
  await t.host.start();
  const p = t.host.getPlugin("svc")!;
  const reloads = queue(t.host, "reload");
  const approvals = queue(t.host, "approval");
  await writePlugins(t.root, { svc: signedSource("svc", 2, { read: [outside(t.root)] }) });
  const held = await reloads.until(isReload("held", "1.0.2"));
  assert.deepEqual([held.fromVersion, held.toVersion], ["1.0.1", "1.0.2"]);
  const requested = await approvals.until(() => true);
  assert.equal(requested.action, "requested");
  assert.deepEqual(requested.added.read, [outside(t.root)]);
  assert.equal(await p.call("version"), 1);
  assert.equal(p.version, "1.0.1");

  const app = createAdminApp(t.host, { token: null });
  const pending = await (await app.request("/approvals")).json();
  assert.deepEqual(pending.map((x: ApprovalEvent) => [x.id, x.toVersion]), [["svc", "1.0.2"]]);
  // An operator's reload does not get around the gate.
  const reload = await app.request("/plugins/svc/reload", { method: "POST" });
  assert.equal(reload.status, 409);
  assert.equal((await reload.json()).error.code, "APPROVAL_REQUIRED");
  assert.equal(await p.call("version"), 1);

  const approved = await app.request("/plugins/svc/approve", { method: "POST" });
  assert.equal(approved.status, 200);
  assert.deepEqual(await approved.json(), { id: "svc", state: "Running", version: "1.0.2" });
  assert.equal(await p.call("version"), 2);
  assert.deepEqual(t.host.getPendingApprovals(), []);
  assert.equal((await app.request("/plugins/svc/approve", { method: "POST" })).status, 404);
  reloads.off();
  approvals.off();
});

Deno.test("gate: rejecting keeps the old version; the same ask later is held again", async () => {
  await using t = await hostWith({ svc: signedSource("svc") }, hot);
  await t.host.start();
  const p = t.host.getPlugin("svc")!;
  const reloads = queue(t.host, "reload");
  await writePlugins(t.root, { svc: signedSource("svc", 2, { net: ["example.com:443"] }) });
  await reloads.until(isReload("held", "1.0.2"));
  const rejected = await createAdminApp(t.host, { token: null }).request("/plugins/svc/reject", {
    method: "POST",
  });
  assert.equal(rejected.status, 200);
  assert.equal((await rejected.json()).toVersion, "1.0.2");
  assert.deepEqual(t.host.getPendingApprovals(), []);
  assert.equal(await p.call("version"), 1);

  await writePlugins(t.root, { svc: signedSource("svc", 3, { net: ["example.com:443"] }) });
  const again = await reloads.until(isReload("held", "1.0.3"));
  assert.equal(again.trigger, "watch");
  assert.equal(await p.call("version"), 1);
  await assert.rejects(
    t.host.reload("svc"),
    /asks for more permissions than 1\.0\.1 \(net: example\.com:443\)/,
  );

  // Asking for no more than before (a read inside its own folder is always granted) goes straight through.
  await writePlugins(t.root, { svc: signedSource("svc", 4, { read: ["./lib"] }) });
  const next = await reloads.until((e) => e.toVersion === "1.0.4" && e.outcome !== "rolled-back");
  assert.equal(next.outcome, "swapped");
  assert.equal(await p.call("version"), 4);
  assert.deepEqual(t.host.getPendingApprovals(), [], "the stale held version is dropped");
  reloads.off();
});

Deno.test("gate with signatures: approving verifies again; a version tampered while held is refused", async () => {
  await using t = await hostWith({ svc: signedSource("svc") }, signedHot);
  const dir = join(t.root, "plugins", "svc");
  await signPlugin(dir, trustedKeys);
  await t.host.start();
  const reloads = queue(t.host, "reload");
  await writePlugins(t.root, { svc: signedSource("svc", 2, { env: ["HOME"] }) });
  await signPlugin(dir, trustedKeys);
  await reloads.until(isReload("held", "1.0.2"));
  await Deno.writeTextFile(join(dir, "lib", "util.ts"), "export const V = 666;\n");
  const refused = await reloads.until(isReload("rolled-back"));
  assert.match(refused.error!, /"lib\/util\.ts" differs/);
  await assert.rejects(t.host.approve("svc"), /failed signature verification: "lib\/util\.ts" differs/);
  assert.equal(await t.host.getPlugin("svc")!.call("version"), 1);
  reloads.off();
});

Deno.test("permissionIncrease: paths by containment, endpoints by host and port, variables by prefix", () => {
  const none = { read: [], write: [], net: [], env: [] };
  const before = { read: ["/data"], write: ["./out"], net: ["api.example.com", "b.com:80"], env: ["MY_*"] };
  const after = {
    read: ["/data/x", "./assets", "/etc"],
    write: ["./out/sub", "/tmp"],
    net: ["api.example.com:443", "b.com:80", "b.com:81"],
    env: ["MY_A", "HOME"],
  };
  assert.deepEqual(permissionIncrease(before, after, "/srv/p"), {
    read: ["/etc"],
    write: ["/tmp"],
    net: ["b.com:81"],
    env: ["HOME"],
  });
  assert.deepEqual(permissionIncrease(after, before, "/srv/p"), { ...before, net: ["api.example.com"] });
  assert.deepEqual(permissionIncrease(before, before, "/srv/p"), none);
});

async function copyFolder(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyFolder(join(from, e.name), join(to, e.name));
    else if (e.isFile) await Deno.copyFile(join(from, e.name), join(to, e.name));
  }
}

/** Puts `dir` back as `pristine` holds it: extra entries removed, missing and changed files written back. */
async function restore(pristine: string, dir: string): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    const exists = await Deno.lstat(join(pristine, e.name)).then(() => true, () => false);
    if (!exists || e.isSymlink) await Deno.remove(join(dir, e.name), { recursive: true });
  }
  for await (const e of Deno.readDir(pristine)) {
    if (e.isDirectory) await restore(join(pristine, e.name), join(dir, e.name)).catch(() => {});
    else {
      const want = await Deno.readFile(join(pristine, e.name));
      const have = await Deno.readFile(join(dir, e.name)).catch(() => undefined);
      if (!have || want.length !== have.length || want.some((b, i) => b !== have[i])) {
        await Deno.writeFile(join(dir, e.name), want);
      }
    }
  }
}
