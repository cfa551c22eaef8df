import assert from "node:assert/strict";
import { join } from "node:path";
import type { SecurityEntry } from "../src/config/config.ts";
import type { ManifestPermissions } from "../src/manifest/manifest.ts";
import { normalizeConfig, securityFor } from "../src/config/config.ts";
import {
  computePermissions,
  type PermissionInput,
  toDenoFlags,
  toWorkerPermissions,
} from "../src/permissions/permissions.ts";

const PLUGIN = "/srv/plugins/hello";
const NONE: ManifestPermissions = { read: [], write: [], net: [], env: [] };
const all = (): boolean => true;

function entry(overrides: Partial<SecurityEntry>): SecurityEntry {
  return {
    allowFileSystemAccess: false,
    allowedPaths: [],
    allowNetworkAccess: false,
    allowedNetworkEndpoints: [],
    allowedEnvironmentVariables: [],
    ...overrides,
  };
}

function compute(asked: Partial<ManifestPermissions>, rest: Partial<PermissionInput> = {}) {
  return computePermissions({
    manifestPermissions: { ...NONE, ...asked },
    pluginDir: PLUGIN,
    hostHolds: all,
    ...rest,
  });
}

Deno.test("deny by default: no PluginSecurity entry grants nothing and says why", () => {
  const p = compute({ read: ["./assets"], write: ["/tmp/out"], net: ["api.example.com:443"], env: ["HOME"] });
  assert.deepEqual([p.read, p.write, p.net, p.env], [[], [], [], []]);
  assert.deepEqual([p.run, p.ffi, p.sys, p.import], [false, false, false, false]);
  assert.deepEqual(p.denied, [
    { kind: "read", value: `${PLUGIN}/assets`, reason: "no PluginSecurity entry" },
    { kind: "write", value: "/tmp/out", reason: "no PluginSecurity entry" },
    { kind: "net", value: "api.example.com:443", reason: "no PluginSecurity entry" },
    { kind: "env", value: "HOME", reason: "no PluginSecurity entry" },
  ]);
  assert.deepEqual(toWorkerPermissions(p), {
    read: false,
    write: false,
    net: false,
    env: false,
    run: false,
    ffi: false,
    sys: false,
    import: false,
  });
  assert.deepEqual(toDenoFlags(p), []);
});

Deno.test("implicit reads are granted without an entry, but only if the host holds them", () => {
  const api = "/opt/host/src/plugin_api.ts";
  const p = compute({}, { implicitRead: [PLUGIN, `file://${api}`, PLUGIN] });
  assert.deepEqual(p.read, [PLUGIN, api]);
  assert.deepEqual(p.denied, []);
  const q = compute({}, {
    implicitRead: [PLUGIN, api],
    hostHolds: (d) => !(d.name === "read" && d.path === api),
  });
  assert.deepEqual(q.read, [PLUGIN]);
  assert.deepEqual(q.denied, [{ kind: "read", value: api, reason: "the host itself does not hold it" }]);
  // A manifest read inside an implicit one needs no entry; a write there still does.
  const r = compute({ read: ["./assets"], write: ["./assets"] }, { implicitRead: [PLUGIN] });
  assert.deepEqual([r.read, r.write], [[PLUGIN], []]);
  assert.deepEqual(r.denied, [{
    kind: "write",
    value: `${PLUGIN}/assets`,
    reason: "no PluginSecurity entry",
  }]);
});

Deno.test("files: the manifest's request intersected with AllowedPaths", () => {
  const security = entry({ allowFileSystemAccess: true, allowedPaths: [`${PLUGIN}/assets`, "/var/data"] });
  const p = compute({ read: ["./assets", "assets/img", "/var/data/x", "/etc"], write: ["/var/data"] }, {
    security,
  });
  assert.deepEqual(p.read, [`${PLUGIN}/assets`, "/var/data/x"]); // assets/img is inside assets: compacted
  assert.deepEqual(p.write, ["/var/data"]);
  assert.deepEqual(p.denied, [{ kind: "read", value: "/etc", reason: "not inside AllowedPaths" }]);
  const off = compute({ read: ["./assets"] }, { security: { ...security, allowFileSystemAccess: false } });
  assert.deepEqual(off.read, []);
  assert.deepEqual(off.denied, [{
    kind: "read",
    value: `${PLUGIN}/assets`,
    reason: "AllowFileSystemAccess is false",
  }]);
});

Deno.test("files: a request wider than AllowedPaths is narrowed to the allowed paths inside it", () => {
  const security = entry({
    allowFileSystemAccess: true,
    allowedPaths: ["/srv/data/a", "/srv/data/b", "/elsewhere"],
  });
  const p = compute({ read: ["/srv"] }, { security });
  assert.deepEqual(p.read, ["/srv/data/a", "/srv/data/b"]);
  assert.deepEqual(p.narrowed, [{ kind: "read", value: "/srv", grantedAs: ["/srv/data/a", "/srv/data/b"] }]);
  assert.deepEqual(p.denied, []);
});

Deno.test("files: containment respects path-segment boundaries and resolves '..'", () => {
  const security = entry({ allowFileSystemAccess: true, allowedPaths: ["/data"] });
  const p = compute({ read: ["/database", "/data", "/data/x/../y", "/data/../etc", "/dat"] }, { security });
  assert.deepEqual(p.read, ["/data"]);
  assert.deepEqual(p.denied.map((d) => d.value), ["/database", "/etc", "/dat"]);
  const q = compute({ read: ["/data/x/../y", "/data/..foo"] }, { security });
  assert.deepEqual(q.read, ["/data/y", "/data/..foo"]);
});

Deno.test("net: exact endpoints, narrowing of a port-less request, never a port not allowed", () => {
  const security = entry({
    allowNetworkAccess: true,
    allowedNetworkEndpoints: ["api.example.com:443", "api.example.com:8443", "db.local:5432"],
  });
  const p = compute({
    net: [
      "API.Example.com:443",
      "api.example.com",
      "db.local:5433",
      "other.example:443",
      "https://db.local:5432",
      "a b",
    ],
  }, { security });
  assert.deepEqual(p.net, ["api.example.com:443", "api.example.com:8443", "db.local:5432"]);
  assert.deepEqual(p.narrowed, [{
    kind: "net",
    value: "api.example.com",
    grantedAs: ["api.example.com:443", "api.example.com:8443"],
  }]);
  assert.deepEqual(p.denied.map((d) => [d.value, d.reason]), [
    ["db.local:5433", "endpoint not in AllowedNetworkEndpoints"],
    ["other.example:443", "endpoint not in AllowedNetworkEndpoints"],
    ["a b", '"a b" is not a valid host'],
  ]);
  const off = compute({ net: ["api.example.com:443"] }, {
    security: { ...security, allowNetworkAccess: false },
  });
  assert.deepEqual(off.denied.map((d) => d.reason), ["AllowNetworkAccess is false"]);
});

Deno.test("net: the seed's URL endpoint from a loaded config grants host:443", () => {
  const { config } = normalizeConfig({
    PluginSecurity: {
      "my.plugin": { AllowNetworkAccess: true, AllowedNetworkEndpoints: ["https://api.example.com"] },
    },
  });
  const p = compute({ net: ["api.example.com:443", "api.example.com:80"] }, {
    security: securityFor(config, "my.plugin"),
  });
  assert.deepEqual(p.net, ["api.example.com:443"]);
  assert.deepEqual(p.denied.map((d) => d.value), ["api.example.com:80"]);
});

Deno.test("env: exact names, a trailing * in the allowlist is a prefix, a wildcard request narrows", () => {
  const security = entry({ allowedEnvironmentVariables: ["MY_VAR", "APP_*", "LOG_LEVEL"] });
  const p = compute({ env: ["MY_VAR", "APP_MODE", "APP_X_*", "HOME", "MY_*", "LOG"] }, { security });
  assert.deepEqual(p.env, ["MY_VAR", "APP_MODE", "APP_X_*"]);
  assert.deepEqual(p.narrowed, [{ kind: "env", value: "MY_*", grantedAs: ["MY_VAR"] }]);
  assert.deepEqual(p.denied.map((d) => [d.value, d.reason]), [
    ["HOME", "not in AllowedEnvironmentVariables"],
    ["LOG", "not in AllowedEnvironmentVariables"],
  ]);
});

Deno.test("anything the host does not hold is denied, whatever the entry allows", () => {
  const security = entry({
    allowFileSystemAccess: true,
    allowedPaths: ["/srv/data"],
    allowNetworkAccess: true,
    allowedNetworkEndpoints: ["api.example.com:443"],
    allowedEnvironmentVariables: ["*"],
  });
  const p = compute({
    read: ["/srv/data"],
    write: ["/srv/data"],
    net: ["api.example.com:443"],
    env: ["A", "B"],
  }, {
    security,
    hostHolds: (d) => d.name === "read" || (d.name === "env" && d.variable === "A"),
  });
  assert.deepEqual([p.read, p.write, p.net, p.env], [["/srv/data"], [], [], ["A"]]);
  assert.deepEqual(p.denied.map((d) => `${d.kind} ${d.value}: ${d.reason}`), [
    "write /srv/data: the host itself does not hold it",
    "net api.example.com:443: the host itself does not hold it",
    "env B: the host itself does not hold it",
  ]);
});

Deno.test({
  name: "the default hostHolds asks Deno what the host holds",
  permissions: { read: ["/srv/data"], env: ["A"], net: false, write: false },
  fn() {
    const security = entry({
      allowFileSystemAccess: true,
      allowedPaths: ["/srv"],
      allowNetworkAccess: true,
      allowedNetworkEndpoints: ["api.example.com:443"],
      allowedEnvironmentVariables: ["A", "B"],
    });
    const p = computePermissions({
      manifestPermissions: {
        read: ["/srv/data", "/srv/other"],
        write: [],
        net: ["api.example.com:443"],
        env: ["A", "B"],
      },
      pluginDir: PLUGIN,
      security,
    });
    assert.deepEqual([p.read, p.net, p.env], [["/srv/data"], [], ["A"]]);
    assert.deepEqual(p.denied.map((d) => d.value), ["/srv/other", "api.example.com:443", "B"]);
  },
});

Deno.test("toWorkerPermissions and toDenoFlags express the same grant", () => {
  const security = entry({
    allowFileSystemAccess: true,
    allowedPaths: ["/srv/data"],
    allowNetworkAccess: true,
    allowedNetworkEndpoints: ["api.example.com:443", "[::1]:8080"],
    allowedEnvironmentVariables: ["MY_*"],
  });
  const p = compute({ read: ["/srv/data"], net: ["api.example.com:443", "[::1]:8080"], env: ["MY_*"] }, {
    security,
    implicitRead: [PLUGIN],
  });
  assert.deepEqual(toWorkerPermissions(p), {
    read: [PLUGIN, "/srv/data"],
    write: false,
    net: ["api.example.com:443", "[::1]:8080"],
    env: ["MY_*"],
    run: false,
    ffi: false,
    sys: false,
    import: false,
  });
  assert.deepEqual(toDenoFlags(p), [
    `--allow-read=${PLUGIN},/srv/data`,
    "--allow-net=api.example.com:443,[::1]:8080",
    "--allow-env=MY_*",
  ]);
  const comma = compute({}, { implicitRead: ["/srv/a,b"] });
  assert.deepEqual(toWorkerPermissions(comma).read, ["/srv/a,b"]);
  assert.throws(() => toDenoFlags(comma), TypeError);
});

Deno.test("the flags really confine a deno subprocess", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "dc_perm_" }));
  const allowed = join(dir, "allowed");
  await Deno.mkdir(allowed);
  await Deno.writeTextFile(join(allowed, "a.txt"), "yes");
  await Deno.writeTextFile(join(dir, "secret.txt"), "no");
  const script = join(allowed, "probe.ts");
  await Deno.writeTextFile(
    script,
    `const r = (p: string) => { try { return Deno.readTextFileSync(p); } catch (e) { return (e as Error).name; } };
console.log(JSON.stringify([r(${JSON.stringify(join(allowed, "a.txt"))}), r(${
      JSON.stringify(join(dir, "secret.txt"))
    })]));`,
  );
  const security = entry({ allowFileSystemAccess: true, allowedPaths: [allowed] });
  const flags = toDenoFlags(compute({ read: [dir] }, { security }));
  assert.deepEqual(flags, [`--allow-read=${allowed}`]);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--no-config", "--no-check", ...flags, script],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), ["yes", "NotCapable"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("toWorkerPermissions is accepted by a Worker and confines it", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "dc_perm_" }));
  const pluginDir = join(dir, "plugin");
  await Deno.mkdir(pluginDir);
  await Deno.writeTextFile(join(pluginDir, "a.txt"), "yes");
  await Deno.writeTextFile(join(dir, "secret.txt"), "no");
  await Deno.writeTextFile(
    join(pluginDir, "worker.ts"),
    `const r = (p: string) => { try { return Deno.readTextFileSync(p); } catch (e) { return (e as Error).name; } };
const env = (n: string) => { try { return Deno.env.get(n) ?? null; } catch (e) { return (e as Error).name; } };
self.postMessage([r(${JSON.stringify(join(pluginDir, "a.txt"))}), r(${
      JSON.stringify(join(dir, "secret.txt"))
    }),
  env("DC_OK"), env("DC_NO")]);`,
  );
  const p = compute({ env: ["DC_OK", "DC_NO"] }, {
    security: entry({ allowedEnvironmentVariables: ["DC_OK"] }),
    implicitRead: [pluginDir],
  });
  const host = join(dir, "host.ts");
  await Deno.writeTextFile(
    host,
    `const w = new Worker(${JSON.stringify(`file://${pluginDir}/worker.ts`)}, { type: "module",
  deno: { permissions: ${JSON.stringify(toWorkerPermissions(p))} } });
w.onmessage = (e) => { console.log(JSON.stringify(e.data)); w.terminate(); };`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--unstable-worker-options",
      "--no-prompt",
      "--no-config",
      "--no-check",
      "--allow-read",
      "--allow-env",
      host,
    ],
    env: { DC_OK: "1", DC_NO: "2" },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), [
    "yes",
    "NotCapable",
    "1",
    "NotCapable",
  ]);
  await Deno.remove(dir, { recursive: true });
});
