// GET /plugins/:id/diagnosis: why a plugin is not running, in words and actions an operator can follow.
import assert from "node:assert/strict";
import { join } from "node:path";
import { createAdminApp, createPluginHost } from "../mod.ts";
import type { Diagnosis, Finding } from "../src/admin/diagnosis.ts";
import { classify, permissionAdvice, permissionFailure } from "../src/admin/_diagnosis_advice.ts";
import { hostWith, nextEvent, type PluginSource, writePlugins } from "./_helpers.ts";

const plain: PluginSource = {
  manifest: { id: "kv" },
  code: "export default { methods: { get() { return 1; } } };",
};

async function diagnosis(app: ReturnType<typeof createAdminApp>, id: string): Promise<Diagnosis> {
  const res = await app.request(`/plugins/${id}/diagnosis`);
  assert.equal(res.status, 200, `${id}: ${res.status}`);
  return await res.json();
}

const find = (d: Diagnosis, pred: (f: Finding) => boolean): Finding => {
  const f = d.findings.find(pred);
  assert.ok(f, `no such finding in ${JSON.stringify(d, null, 2)}`);
  return f;
};

Deno.test("a plugin refused a path says which key to add it to", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_diag_" }));
  const data = join(root, "data");
  await Deno.mkdir(data);
  await Deno.writeTextFile(join(data, "x.txt"), "x");
  try {
    await using t = await hostWith({
      reader: {
        manifest: { id: "reader", permissions: { read: [data] } },
        code: `export default { async initialize() { await Deno.readTextFile(${
          JSON.stringify(join(data, "x.txt"))
        }); } };`,
      },
    }, { PluginSecurity: { reader: { AllowFileSystemAccess: true, AllowedPaths: [join(root, "other")] } } });
    await t.host.start();
    const app = createAdminApp(t.host, { token: null });
    const d = await diagnosis(app, "reader");
    assert.equal(d.id, "reader");
    assert.equal(d.state, "Failed");
    assert.equal(d.running, false);
    const first = d.findings[0];
    assert.equal(first.kind, "permission");
    assert.equal(first.severity, "error");
    assert.match(first.message, /read access to/);
    assert.equal(first.action, `add ${JSON.stringify(data)} to PluginSecurity.reader.AllowedPaths`);
    assert.equal(
      d.findings.filter((f) => f.kind === "permission").length,
      1,
      "the denial behind the failure is not repeated as a warning",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("dependencies: missing, out of range, and stopped, each with its action", async () => {
  await using t = await hostWith({
    kv: plain,
    app: { manifest: { id: "app", dependencies: { kv: "^1.0.0" } }, code: "export default {};" },
    lost: { manifest: { id: "lost", dependencies: { nope: "^1.0.0" } }, code: "export default {};" },
    old: { manifest: { id: "old", dependencies: { kv: "^2.0.0" } }, code: "export default {};" },
  });
  await t.host.start();
  const app = createAdminApp(t.host, { token: null });

  const lost = await diagnosis(app, "lost");
  assert.equal(lost.running, false);
  const missing = find(
    lost,
    (f) => f.kind === "dependency" && /no plugin is or provides nope/.test(f.message),
  );
  assert.equal(missing.severity, "error");
  assert.match(missing.action, /^install a plugin nope matching \^1\.0\.0 in /);

  const old = await diagnosis(app, "old");
  find(old, (f) => f.kind === "dependency" && f.message === "needs dependency kv ^2.0.0, found 1.0.0");

  assert.equal((await diagnosis(app, "app")).running, true);
  await t.host.stopPlugin("kv");
  await t.host.stopPlugin("app");
  const stopped = await diagnosis(app, "app");
  assert.equal(stopped.running, false);
  const dep = find(stopped, (f) => f.kind === "dependency");
  assert.equal(dep.message, "dependency kv 1.0.0 is Unloaded, not Running");
  assert.equal(dep.action, "start dependency kv: POST /plugins/kv/start");
  find(stopped, (f) => f.kind === "lifecycle" && f.action === "POST /plugins/app/start");
});

Deno.test("a disabled plugin and a folder discovery rejected are explained; an unknown id is 404", async () => {
  await using t = await hostWith(
    { kv: plain, off: { manifest: { id: "off" }, code: "export default {};" } },
    {
      Plugins: { off: { Enabled: false } },
    },
  );
  await Deno.mkdir(join(t.root, "plugins", "broken"));
  await Deno.writeTextFile(
    join(t.root, "plugins", "broken", "plugin.jsonc"),
    '{\n  "id": "broken",\n  "name": "Broken",\n  "version": "one"\n}\n',
  );
  await t.host.start();
  const app = createAdminApp(t.host, { token: null });

  const off = await diagnosis(app, "off");
  const config = find(off, (f) => f.kind === "config");
  assert.equal(config.severity, "error");
  assert.match(config.action, /^set Plugins\.off\.Enabled to true/);

  const broken = await diagnosis(app, "broken");
  assert.deepEqual([broken.state, broken.running], ["Unknown", false]);
  const rejected = find(broken, (f) => f.kind === "discovery");
  assert.match(rejected.message, /plugin\.jsonc:4:\d+/);
  assert.match(rejected.action, /deno task cli validate/);

  const res = await app.request("/plugins/nope/diagnosis");
  assert.equal(res.status, 404);
  assert.equal((await res.json()).error.code, "PLUGIN_NOT_FOUND");
});

Deno.test("a crash, then a restart: crash history and recovery", async () => {
  await using t = await hostWith({
    bomb: {
      manifest: { id: "bomb" },
      code:
        "export default { methods: { async die() { setTimeout(() => Deno.exit(3), 5); await new Promise(() => {}); } } };",
    },
  });
  await t.host.start();
  const app = createAdminApp(t.host, { token: null });
  const healthy = await diagnosis(app, "bomb");
  assert.equal(healthy.running, true);
  assert.ok(healthy.findings.every((f) => f.severity === "info"), JSON.stringify(healthy));
  assert.match(healthy.findings[0].message, /^is Running: up /);

  const failed = nextEvent(t.host, "state", (e) => "to" in e && e.to === "Failed");
  await t.host.getPlugin("bomb")!.call("die").catch(() => {});
  await failed;
  const crashed = await diagnosis(app, "bomb");
  assert.equal(crashed.state, "Failed");
  const crash = crashed.findings[0];
  assert.deepEqual([crash.kind, crash.severity], ["crash", "error"]);
  assert.match(crash.action, /POST \/plugins\/bomb\/start$/);

  await t.host.startPlugin("bomb");
  const back = await diagnosis(app, "bomb");
  assert.equal(back.running, true);
  find(back, (f) => f.severity === "info" && /^recovered from an earlier failure/.test(f.message));
  find(back, (f) => f.kind === "crash" && /started again 1 time after/.test(f.message));
});

Deno.test("a plugin that never finishes loading points at CallTimeout", async () => {
  await using t = await hostWith({
    stuck: { manifest: { id: "stuck" }, code: "await new Promise(() => {}); export default {};" },
  }, { Plugins: { CallTimeout: 300 } });
  await t.host.start();
  const d = await diagnosis(createAdminApp(t.host, { token: null }), "stuck");
  assert.equal(d.state, "Failed");
  const f = find(d, (x) => x.severity === "error");
  assert.match(f.message, /within CallTimeout \(300 ms\)/);
  assert.match(f.action, /top-level await/);
});

Deno.test("advice for every denial reason names the key to change", () => {
  const advice = (kind: string, value: string, reason: string): string =>
    permissionAdvice("my.plugin", { kind, value, reason });
  assert.equal(
    advice("read", "/data", "not inside AllowedPaths"),
    'add "/data" to PluginSecurity.my.plugin.AllowedPaths',
  );
  assert.equal(
    advice("write", "/data", "AllowFileSystemAccess is false"),
    'set PluginSecurity.my.plugin.AllowFileSystemAccess to true and add "/data" to PluginSecurity.my.plugin.AllowedPaths',
  );
  assert.equal(
    advice("net", "api.example.com:443", "AllowNetworkAccess is false"),
    'set PluginSecurity.my.plugin.AllowNetworkAccess to true and add "api.example.com:443" to ' +
      "PluginSecurity.my.plugin.AllowedNetworkEndpoints",
  );
  assert.equal(
    advice("env", "HOME", "not in AllowedEnvironmentVariables"),
    'add "HOME" to PluginSecurity.my.plugin.AllowedEnvironmentVariables',
  );
  assert.match(
    advice("read", "/x", "no PluginSecurity entry"),
    /"my\.plugin": \{ "AllowFileSystemAccess": true/,
  );
  assert.equal(
    advice("read", "/etc", "the host itself does not hold it"),
    "start the host with --allow-read=/etc (it never grants what it does not hold)",
  );
  assert.deepEqual(
    permissionFailure('Requires net access to "a.com:443", run again with the --allow-net flag'),
    {
      kind: "net",
      value: "a.com:443",
    },
  );
  assert.equal(permissionFailure("something else"), undefined);
  assert.equal(classify("x", "SIGNATURE_INVALID"), "signature");
  assert.equal(classify("worker ended", undefined, "memory"), "limit");
  assert.equal(classify('Requires env access to "HOME"'), "permission");
  assert.equal(classify("boom"), "lifecycle");
});

Deno.test("a plugin self-healing gave up on says so, then why it kept failing", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_diag_" }));
  try {
    const dir = await writePlugins(root, {
      flaky: {
        manifest: { id: "flaky" },
        code: 'export default { start() { throw new Error("no database"); } };',
      },
    });
    await using host = await createPluginHost({ Plugins: { PluginsDirectory: dir } }, {
      restartPolicy: { maxRestarts: 0 },
    });
    const quarantined = new Promise<void>((resolve) =>
      host.on("heal", (e) => e.action === "quarantined" && resolve())
    );
    await host.start();
    await quarantined;
    const d = await diagnosis(createAdminApp(host, { token: null }), "flaky");
    assert.equal(d.running, false);
    const [first, second] = d.findings;
    assert.deepEqual([first.kind, first.severity], ["crash", "error"]);
    assert.match(first.message, /^is quarantined: self-healing gave up/);
    assert.match(first.action, /POST \/plugins\/flaky\/start: an operator's start lifts the quarantine$/);
    assert.match(second.message, /no database/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a plugin that needs WebGPU without AllowGpu is told to set it", async () => {
  await using t = await hostWith({
    painter: {
      manifest: { id: "painter" },
      code: `export default { async initialize() {
        if (!navigator.gpu) throw new Error("needs WebGPU: PluginSecurity AllowGpu is false");
      } };`,
    },
  });
  await t.host.start();
  const d = await diagnosis(createAdminApp(t.host, { token: null }), "painter");
  const f = find(d, (f) => f.kind === "permission");
  assert.equal(f.severity, "error");
  assert.equal(f.action, "set PluginSecurity.painter.AllowGpu to true, then POST /plugins/painter/start");
});
