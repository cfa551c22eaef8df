import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CONFIG_DEFAULTS,
  isHostConfig,
  loadConfig,
  normalizeConfig,
  parseConfig,
  pluginConfigFor,
  securityFor,
} from "../src/config/config.ts";
import { ConfigError, type Diagnostic } from "../src/errors.ts";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

/** Writes `text` to a fresh temp file and returns its path. */
async function tempConfig(text: string, name = "host.jsonc"): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dc_config_" });
  const path = join(dir, name);
  await Deno.writeTextFile(path, text);
  return path;
}

/** Runs `fn`, which must throw a ConfigError, and returns its diagnostics. */
function diagnosticsOf(fn: () => unknown): readonly Diagnostic[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    assert.equal(e.code, "CONFIG_INVALID");
    return e.diagnostics;
  }
  assert.fail("expected a ConfigError");
}

/** 1-based line and column of the first occurrence of `needle` in `text`. */
function positionOf(text: string, needle: string): { line: number; column: number } {
  const offset = text.indexOf(needle);
  assert.ok(offset >= 0, `${needle} not in text`);
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

Deno.test("the seed README's 'Configure Your Plugin' JSON loads verbatim", async () => {
  const path = join(FIXTURES, "seed_config.json");
  const { config, warnings } = await loadConfig(path);
  assert.deepEqual(warnings, []);
  assert.equal(config.configFile, path);
  assert.equal(config.baseDir, FIXTURES);
  assert.equal(config.pluginsDirectory, join(FIXTURES, "plugins"));
  assert.equal(config.enableHotReload, true);
  assert.equal(config.healthCheckIntervalMs, 60_000);
  assert.equal(config.reloadDelayMs, CONFIG_DEFAULTS.reloadDelayMs);
  assert.deepEqual(config.plugins["my.plugin"], {
    enabled: true,
    isolation: "worker",
    resourceLimits: {},
    settings: { CustomOption: "value" },
  });
  assert.deepEqual(config.security, {});
});

Deno.test("the seed README's 'Permissions' JSON loads verbatim", async () => {
  const { config, warnings } = await loadConfig(join(FIXTURES, "seed_security.json"));
  assert.deepEqual(warnings, []);
  assert.deepEqual(securityFor(config, "my.plugin"), {
    allowFileSystemAccess: false,
    allowedPaths: [],
    allowNetworkAccess: true,
    allowedNetworkEndpoints: ["api.example.com:443"],
    allowedEnvironmentVariables: [],
  });
  assert.equal(securityFor(config, "other.plugin"), undefined);
});

Deno.test("the CONTRACT section 3 example loads with every value", async () => {
  const { config, warnings } = await loadConfig(join(FIXTURES, "contract_host.jsonc"));
  assert.deepEqual(warnings, []);
  assert.equal(config.enableHotReload, true);
  assert.equal(config.reloadDelayMs, 500);
  assert.equal(config.healthCheckIntervalMs, 60_000);
  assert.equal(config.enableMetrics, true);
  assert.equal(config.callTimeoutMs, 30_000);
  assert.equal(config.drainTimeoutMs, 5_000);
  assert.deepEqual(config.resourceLimits, { maxMemoryMB: 512, maxCpuPercent: 50 });
  assert.equal(config.validateSignatures, false);
  assert.deepEqual(config.trustedCertificateThumbprints, []);
  assert.deepEqual(config.admin, { hostname: "127.0.0.1", port: 8080, token: null });
  assert.deepEqual(Object.keys(config.plugins), ["my.plugin"]);
  assert.deepEqual(pluginConfigFor(config, "my.plugin"), {
    enabled: true,
    isolation: "worker",
    resourceLimits: { maxMemoryMB: 128 },
    settings: { CustomOption: "value" },
  });
  assert.deepEqual(securityFor(config, "my.plugin"), {
    allowFileSystemAccess: false,
    allowedPaths: [join(FIXTURES, "data")],
    allowNetworkAccess: true,
    allowedNetworkEndpoints: ["api.example.com:443"],
    allowedEnvironmentVariables: [],
  });
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.admin) && Object.isFrozen(config.plugins));
});

Deno.test("defaults fill an empty configuration; an object resolves against cwd or baseDir", () => {
  const { config, warnings } = normalizeConfig({});
  assert.deepEqual(warnings, []);
  assert.equal(config.configFile, undefined);
  assert.equal(config.baseDir, Deno.cwd());
  assert.equal(config.pluginsDirectory, join(Deno.cwd(), "plugins"));
  assert.equal(config.callTimeoutMs, 30_000);
  assert.equal(config.enableMetrics, true);
  assert.equal(config.enableHotReload, false);
  assert.equal(config.activation, "eager");
  assert.deepEqual(config.admin, { hostname: "127.0.0.1", port: 8080, token: null });
  assert.ok(isHostConfig(config));
  assert.ok(!isHostConfig({ Plugins: {} }));
  const rooted = normalizeConfig({ plugins: { pluginsDirectory: "p" } }, { baseDir: "/srv/app" }).config;
  assert.equal(rooted.pluginsDirectory, "/srv/app/p");
  assert.deepEqual(pluginConfigFor(rooted, "absent"), {
    enabled: true,
    isolation: "worker",
    resourceLimits: {},
    settings: {},
  });
});

Deno.test("keys match without regard to case; settings keep theirs; the last duplicate wins", () => {
  const text = `{
  "plugins": {
    "pluginsdirectory": "./a",
    "ENABLEHOTRELOAD": true,
    "callTimeout": 10,
    "CallTimeout": 20,
    "My.Plugin": { "ISOLATION": "Process", "settings": { "MixedCase": 1 } },
  },
  "pluginSecurity": { "MY.PLUGIN": { "allownetworkaccess": "true", "ALLOWEDNETWORKENDPOINTS": ["x:1"] } },
}`;
  const { config, warnings } = parseConfig(text, "/srv/host.jsonc");
  assert.equal(config.pluginsDirectory, "/srv/a");
  assert.equal(config.enableHotReload, true);
  assert.equal(config.callTimeoutMs, 20);
  assert.deepEqual(pluginConfigFor(config, "my.plugin").settings, { MixedCase: 1 });
  assert.equal(pluginConfigFor(config, "MY.PLUGIN").isolation, "process");
  assert.equal(securityFor(config, "My.Plugin")?.allowNetworkAccess, true);
  assert.deepEqual(warnings.map((w) => [w.line, w.column, w.field]), [[6, 5, "plugins.CallTimeout"]]);
  assert.match(warnings[0].message, /last one wins/);
});

Deno.test("durations: milliseconds or .NET time spans", () => {
  const cases: [unknown, number][] = [
    [250, 250],
    ["00:00:30", 30_000],
    ["00:01:00", 60_000],
    ["00:00:00.500", 500],
    ["00:00:00.5", 500],
    ["00:00:01.2345678", 1_234.5678],
    ["1.02:03:04", 93_784_000],
    ["2.00:00:00.250", 172_800_250],
    ["01:30", 5_400_000], // .NET's hh:mm
  ];
  for (const [input, ms] of cases) {
    const { config } = normalizeConfig({ Plugins: { CallTimeout: input, DrainTimeout: input } });
    assert.equal(config.callTimeoutMs, ms, String(input));
    assert.equal(config.drainTimeoutMs, ms, String(input));
  }
  for (const bad of ["30s", "00:60:00", "24:00:00", "-00:00:01", "500", "00:00:00.12345678", -1, true]) {
    const [d] = diagnosticsOf(() => normalizeConfig({ Plugins: { ReloadDelay: bad } }));
    assert.equal(d.field, "Plugins.ReloadDelay", String(bad));
    assert.equal(d.file, "<config object>");
  }
  // A zero ReloadDelay is fine; a zero CallTimeout would fail every call, so it is refused (found by fuzzing).
  assert.equal(normalizeConfig({ Plugins: { ReloadDelay: 0 } }).config.reloadDelayMs, 0);
  for (const zero of [0, "00:00:00"]) {
    const [d] = diagnosticsOf(() => normalizeConfig({ Plugins: { CallTimeout: zero } }));
    assert.equal(d.field, "Plugins.CallTimeout");
    assert.match(d.message, /must be more than zero/);
  }
});

Deno.test("a bad duration is reported at its exact line and column in the file", async () => {
  const text =
    '{\n  // host\n  "Plugins": {\n    "EnableHotReload": true,\n    "CallTimeout": "00:00:3x"\n  }\n}\n';
  const path = await tempConfig(text);
  await assert.rejects(() => loadConfig(path), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.diagnostics.length, 1);
    const [d] = e.diagnostics;
    assert.deepEqual({ file: d.file, line: d.line, column: d.column, field: d.field }, {
      file: path,
      ...positionOf(text, '"00:00:3x"'),
      field: "Plugins.CallTimeout",
    });
    assert.deepEqual(positionOf(text, '"00:00:3x"'), { line: 5, column: 20 });
    assert.match(e.message, new RegExp(`${path}:5:20: "Plugins.CallTimeout": "00:00:3x" is not a duration`));
    return true;
  });
});

Deno.test("every problem is reported, in file order, with the key path as written", () => {
  const text = `{
  "Plugins": {
    "Admin": { "Port": 70000, "Token": "" },
    "p.one": { "Enabled": "yes", "Isolation": "thread", "Settings": [] },
    "TrustedCertificateThumbprints": ["AB:CD"],
  },
  "PluginSecurity": { "p.one": { "AllowedPaths": [""], "AllowedEnvironmentVariables": ["A*B"] }, "p.two": 3 },
}`;
  const ds = diagnosticsOf(() => parseConfig(text, "h.jsonc"));
  const at = (needle: string, field: string): string => {
    const { line, column } = positionOf(text, needle);
    return `${line}:${column} ${field}`;
  };
  assert.deepEqual(ds.map((d) => `${d.line}:${d.column} ${d.field}`), [
    at("70000", "Plugins.Admin.Port"),
    at('""', "Plugins.Admin.Token"),
    at('"yes"', "Plugins.p.one.Enabled"),
    at('"thread"', "Plugins.p.one.Isolation"),
    at("[]", "Plugins.p.one.Settings"),
    at('"AB:CD"', "Plugins.TrustedCertificateThumbprints.0"),
    at('""]', "PluginSecurity.p.one.AllowedPaths.0"),
    at('"A*B"', "PluginSecurity.p.one.AllowedEnvironmentVariables.0"),
    at("3 }", "PluginSecurity.p.two"),
  ]);
  assert.equal(ds[0].line, 3);
  assert.equal(ds[0].column, 24);
  assert.ok(ds.every((d) => d.file === "h.jsonc"));
});

Deno.test("JSONC syntax errors carry file:line:col; comments and trailing commas are fine", async () => {
  const text = '{\n  "Plugins": {\n    "EnableHotReload": true\n    "EnableMetrics": false\n  }\n}\n';
  const path = await tempConfig(text);
  await assert.rejects(() => loadConfig(path), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.deepEqual(e.diagnostics[0], {
      file: path,
      line: 4,
      column: 5,
      // The same wording as a manifest's (one JSONC reader: src/_common/jsonc.ts).
      message: "syntax error: expected ',' (CommaExpected)",
    });
    return true;
  });
  const ds = diagnosticsOf(() => parseConfig("", "empty.jsonc"));
  assert.equal(ds[0].line, 1);
  assert.equal(
    parseConfig('\uFEFF{ /* c */ "Plugins": { "EnableMetrics": false, }, }', "b.jsonc").config.enableMetrics,
    false,
  );
  assert.deepEqual(
    diagnosticsOf(() => parseConfig("[1]", "a.jsonc"))[0].message,
    "the configuration must be a JSON object",
  );
  await assert.rejects(() => loadConfig(join(FIXTURES, "no_such_file.jsonc")), ConfigError);
});

Deno.test("unknown keys are warnings with a did-you-mean hint", () => {
  const text = `{
  "$schema": "ignored",
  "Plugin": {},
  "Plugins": {
    "CallTimout": "00:00:05",
    "ResourceLimit": { "MaxMemoryMB": 1 },
    "ResourceLimits": { "MaxMemory": 64 },
    "Admin": { "Hostnme": "0.0.0.0" },
    "my.plugin": { "Enabeld": false, "Settings": { "anything": 1 } },
    "Bad_Id": {}
  },
  "PluginSecurity": { "my.plugin": { "AllowNetworkAcess": true } }
}`;
  const { config, warnings } = parseConfig(text, "w.jsonc");
  const got = warnings.map((w) =>
    `${w.line}:${w.column} ${w.field} ${w.message.match(/did you mean "(\w+)"/)?.[1]}`
  );
  assert.deepEqual(got, [
    "3:3 Plugin Plugins",
    "5:5 Plugins.CallTimout CallTimeout",
    "6:5 Plugins.ResourceLimit ResourceLimits",
    "6:24 Plugins.ResourceLimit.MaxMemoryMB undefined",
    "7:25 Plugins.ResourceLimits.MaxMemory MaxMemoryMB",
    "8:16 Plugins.Admin.Hostnme Hostname",
    "9:20 Plugins.my.plugin.Enabeld Enabled",
    "10:5 Plugins.Bad_Id undefined",
    "12:38 PluginSecurity.my.plugin.AllowNetworkAcess AllowNetworkAccess",
  ]);
  assert.match(warnings[7].message, /no plugin can have the id "bad_id"/);
  // Warnings never change what loads: the typo'd keys are simply ignored.
  assert.equal(config.callTimeoutMs, 30_000);
  assert.equal(pluginConfigFor(config, "my.plugin").enabled, true);
  assert.equal(config.admin.hostname, "127.0.0.1");
});

Deno.test("network endpoints are normalized to host:port; a bare host is an error", () => {
  const endpoints = [
    "https://API.Example.com",
    "http://x:8080/path?q=1",
    "ws://sock.example",
    "wss://sock.example/",
    "db.local:5432",
    "[::1]:80",
    "http://[0:0::1]:81",
    "10.0.0.1:9000",
    "db.local:5432",
  ];
  const { config } = normalizeConfig({ PluginSecurity: { p: { AllowedNetworkEndpoints: endpoints } } });
  assert.deepEqual(securityFor(config, "p")?.allowedNetworkEndpoints, [
    "api.example.com:443",
    "x:8080",
    "sock.example:80",
    "sock.example:443",
    "db.local:5432",
    "[::1]:80",
    "[::1]:81",
    "10.0.0.1:9000",
  ]);
  const reasons = ["api.example.com", "ftp://files.example", "::1", "host:0", "host:99999", "a b:1", 42].map(
    (bad) =>
      diagnosticsOf(() => normalizeConfig({ PluginSecurity: { p: { AllowedNetworkEndpoints: [bad] } } }))[0],
  );
  assert.ok(reasons.every((d) => d.field === "PluginSecurity.p.AllowedNetworkEndpoints.0"));
  assert.match(reasons[0].message, /no port.*every port/);
  assert.match(reasons[1].message, /only http, https, ws and wss/);
  assert.match(reasons[2].message, /brackets/);
});

Deno.test("values the .NET binder reads from text: booleans, numbers, thumbprints", () => {
  const fp = "AB".repeat(32);
  const { config } = normalizeConfig({
    Plugins: {
      EnableMetrics: "False",
      ResourceLimits: { MaxMemoryMB: "256" },
      TrustedCertificateThumbprints: [fp, fp.match(/../g)!.join(":")],
      Admin: { Port: "0", Hostname: "0.0.0.0", Token: "s3cret-token-0123" },
    },
  });
  assert.equal(config.enableMetrics, false);
  assert.deepEqual(config.resourceLimits, { maxMemoryMB: 256 });
  assert.deepEqual(config.trustedCertificateThumbprints, ["ab".repeat(32)]);
  assert.deepEqual(config.admin, { hostname: "0.0.0.0", port: 0, token: "s3cret-token-0123" });
});

Deno.test("SharedModules and ProbingPaths: paths resolve against the config's folder; default []", async () => {
  assert.deepEqual(normalizeConfig({}).config.sharedModules, []);
  assert.deepEqual(normalizeConfig({}).config.probingPaths, []);
  const text = `{
  "Plugins": {
    "SharedModules": ["./shared/mod.ts", "/opt/lib/util.ts", "file:///opt/lib/url.ts", "./shared/mod.ts"],
    "probingPaths": ["lib", "../dependencies", " ./spaced "],
  },
}`;
  const path = await tempConfig(text);
  const dir = dirname(path);
  const { config, warnings } = await loadConfig(path);
  assert.deepEqual(warnings, []);
  assert.deepEqual(config.sharedModules, [join(dir, "shared/mod.ts"), "/opt/lib/util.ts", "/opt/lib/url.ts"]);
  assert.deepEqual(config.probingPaths, [
    join(dir, "lib"),
    join(dir, "../dependencies"),
    join(dir, "spaced"),
  ]);
  assert.ok(Object.isFrozen(config.sharedModules) && Object.isFrozen(config.probingPaths));
  // A typo is a warning with a hint, never a plugin block.
  const typo = parseConfig('{ "Plugins": { "SharedModule": ["a.ts"] } }', "t.jsonc");
  assert.match(typo.warnings[0].message, /did you mean "SharedModules"/);
  assert.deepEqual(typo.config.plugins, {});
});

Deno.test("SharedModules and ProbingPaths: a bad value is reported at file:line:col", async () => {
  const text = `{
  "Plugins": {
    "SharedModules": "./shared/mod.ts",
    "ProbingPaths": ["./lib", 42, "", "jsr:@std/path", "file://remote.host/x"],
  },
}`;
  const path = await tempConfig(text);
  await assert.rejects(() => loadConfig(path), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    const at = (needle: string): string => {
      const { line, column } = positionOf(text, needle);
      return `${path}:${line}:${column}`;
    };
    assert.deepEqual(e.diagnostics.map((d) => [`${d.file}:${d.line}:${d.column}`, d.field]), [
      [at('"./shared/mod.ts"'), "Plugins.SharedModules"],
      [at("42"), "Plugins.ProbingPaths.1"],
      [at('""'), "Plugins.ProbingPaths.2"],
      [at('"jsr:'), "Plugins.ProbingPaths.3"],
      [at('"file://remote'), "Plugins.ProbingPaths.4"],
    ]);
    assert.match(e.diagnostics[0].message, /must be an array of paths/);
    assert.match(e.diagnostics[1].message, /must be a string/);
    assert.match(e.diagnostics[2].message, /must not be empty/);
    assert.match(e.diagnostics[3].message, /not a local path.*no jsr: modules/);
    assert.match(e.diagnostics[4].message, /not a valid file: URL/);
    assert.match(e.message, new RegExp(`${path}:3:22: "Plugins.SharedModules": must be an array of paths`));
    return true;
  });
});

// --- Elastic plugins: replicas, queues, activation, soft limits ------------------------------------------------

Deno.test("elastic keys of a plugin block are read in any case; absent when not written", () => {
  const text = `{
  "plugins": {
    "My.Plugin": {
      "REPLICAS": "3",
      "maxconcurrency": 4,
      "QueueTimeout": "00:00:02",
      "ACTIVATION": " Lazy ",
      "idleTimeout": 60000,
      "resourceLimits": { "SOFTMEMORYMB": 96, "softcpupercent": "40", "MaxLifeTime": "01:00:00" },
    },
    "plain": {},
  },
}`;
  const { config, warnings } = parseConfig(text, "/srv/host.jsonc");
  assert.deepEqual(warnings, []);
  const p = pluginConfigFor(config, "my.plugin");
  assert.equal(p.replicas, 3);
  assert.equal(p.maxConcurrency, 4);
  assert.equal(p.queueTimeoutMs, 2_000);
  assert.equal(p.activation, "lazy");
  assert.equal(p.idleTimeoutMs, 60_000);
  assert.deepEqual(p.resourceLimits, { softMemoryMB: 96, softCpuPercent: 40, maxLifetimeMs: 3_600_000 });
  // Not written: not set, so the host-wide value (or none) applies.
  assert.deepEqual(pluginConfigFor(config, "plain"), {
    enabled: true,
    isolation: "worker",
    resourceLimits: {},
    settings: {},
  });
  for (
    const key of ["replicas", "replicasAt", "maxConcurrency", "queueTimeoutMs", "activation", "idleTimeoutMs"]
  ) {
    assert.ok(!(key in pluginConfigFor(config, "plain")), key);
    assert.ok(!(key in pluginConfigFor(config, "absent")), key);
  }
  assert.ok(Object.isFrozen(p) && Object.isFrozen(p.resourceLimits));
});

Deno.test("Plugins.Activation: eager by default, any case, and a block's Activation overrides it", () => {
  assert.equal(CONFIG_DEFAULTS.activation, "eager");
  assert.equal(normalizeConfig({}).config.activation, "eager");
  const { config } = normalizeConfig({
    plugins: { ACTIVATION: "LAZY", "a.plugin": { activation: "Eager" }, "b.plugin": {} },
  });
  assert.equal(config.activation, "lazy");
  assert.equal(pluginConfigFor(config, "a.plugin").activation, "eager");
  assert.equal(pluginConfigFor(config, "b.plugin").activation, undefined); // the host-wide one applies
  assert.deepEqual(config.plugins, {
    "a.plugin": { enabled: true, isolation: "worker", resourceLimits: {}, settings: {}, activation: "eager" },
    "b.plugin": { enabled: true, isolation: "worker", resourceLimits: {}, settings: {} },
  });
  // "activation" is an option of Plugins, never a plugin block.
  assert.deepEqual(Object.keys(config.plugins), ["a.plugin", "b.plugin"]);
});

Deno.test("host-wide ResourceLimits take the soft limits and MaxLifetime too", () => {
  const { config } = normalizeConfig({
    Plugins: { ResourceLimits: { softMemoryMB: "128", SoftCpuPercent: 100, maxLifetime: 1_000 } },
  });
  assert.deepEqual(config.resourceLimits, { softMemoryMB: 128, softCpuPercent: 100, maxLifetimeMs: 1_000 });
});

Deno.test("replicasAt is where the Replicas key was written, as file:line:column", async () => {
  const text = `{
  "Plugins": {
    // two plugins, one spelling each
    "a.plugin": { "Replicas": 2 },
    "b.plugin": {
      "enabled": true, "replicas": 4,
    },
    "c.plugin": { "MaxConcurrency": 2 },
  },
}`;
  const path = await tempConfig(text);
  const { config } = await loadConfig(path);
  const at = (needle: string): string => {
    const { line, column } = positionOf(text, needle);
    return `${path}:${line}:${column}`;
  };
  assert.equal(pluginConfigFor(config, "a.plugin").replicasAt, at('"Replicas"'));
  assert.equal(pluginConfigFor(config, "a.plugin").replicasAt, `${path}:4:19`);
  assert.equal(pluginConfigFor(config, "b.plugin").replicasAt, at('"replicas"'));
  assert.equal(pluginConfigFor(config, "c.plugin").replicasAt, undefined); // no Replicas, no place
  // The file's name as the config's located errors give it.
  assert.equal(
    pluginConfigFor(parseConfig('{"Plugins":{"p":{"Replicas":1}}}', "rel/host.jsonc").config, "p").replicasAt,
    "rel/host.jsonc:1:18",
  );
  // Of repeated keys the last wins, and the place is that one's.
  const repeated = '{\n  "Plugins": { "p": { "Replicas": 2,\n    "REPLICAS": 3 } }\n}';
  const p = pluginConfigFor(parseConfig(repeated, "r.jsonc").config, "p");
  assert.deepEqual([p.replicas, p.replicasAt], [3, "r.jsonc:3:5"]);
  // An object has no file: no place.
  const fromObject = pluginConfigFor(normalizeConfig({ Plugins: { p: { Replicas: 2 } } }).config, "p");
  assert.deepEqual([fromObject.replicas, fromObject.replicasAt], [2, undefined]);
});

Deno.test("elastic keys: bad values are reported at file:line:column", () => {
  const text = `{
  "Plugins": {
    "Activation": "sometimes",
    "ResourceLimits": { "SoftMemoryMB": 0, "SoftCpuPercent": 101, "MaxLifetime": "00:00:00" },
    "p.one": { "Replicas": 0, "MaxConcurrency": 1.5, "QueueTimeout": 0, "Activation": true, "IdleTimeout": "500" },
    "p.two": { "Replicas": 65, "MaxConcurrency": "many", "QueueTimeout": "soon", "IdleTimeout": -1 },
    "p.three": { "replicas": 2.5, "ResourceLimits": { "maxLifetime": 0, "softCpuPercent": "x" } },
  },
}`;
  const ds = diagnosticsOf(() => parseConfig(text, "e.jsonc"));
  const line = (n: number, needle: string, field: string): string => {
    const column = text.split("\n")[n - 1].indexOf(needle) + 1;
    assert.ok(column > 0, needle);
    return `e.jsonc:${n}:${column} ${field}`;
  };
  assert.deepEqual(ds.map((d) => `${d.file}:${d.line}:${d.column} ${d.field}`), [
    line(3, '"sometimes"', "Plugins.Activation"),
    line(4, "0,", "Plugins.ResourceLimits.SoftMemoryMB"),
    line(4, "101", "Plugins.ResourceLimits.SoftCpuPercent"),
    line(4, '"00:00:00"', "Plugins.ResourceLimits.MaxLifetime"),
    line(5, "0,", "Plugins.p.one.Replicas"),
    line(5, "1.5", "Plugins.p.one.MaxConcurrency"),
    line(5, '0, "Activation"', "Plugins.p.one.QueueTimeout"),
    line(5, "true", "Plugins.p.one.Activation"),
    line(5, '"500"', "Plugins.p.one.IdleTimeout"),
    line(6, "65", "Plugins.p.two.Replicas"),
    line(6, '"many"', "Plugins.p.two.MaxConcurrency"),
    line(6, '"soon"', "Plugins.p.two.QueueTimeout"),
    line(6, "-1", "Plugins.p.two.IdleTimeout"),
    line(7, "2.5", "Plugins.p.three.replicas"),
    line(7, "0,", "Plugins.p.three.ResourceLimits.maxLifetime"),
    line(7, '"x"', "Plugins.p.three.ResourceLimits.softCpuPercent"),
  ]);
  const message = (field: string): string => ds.find((d) => d.field === field)?.message ?? "";
  assert.equal(message("Plugins.Activation"), 'must be "eager" or "lazy"');
  assert.equal(message("Plugins.p.one.Replicas"), "must be at least 1");
  assert.equal(message("Plugins.p.two.Replicas"), "must be at most 64");
  assert.equal(message("Plugins.p.three.replicas"), "must be an integer");
  assert.equal(message("Plugins.p.one.MaxConcurrency"), "must be an integer");
  assert.equal(message("Plugins.p.one.QueueTimeout"), "must be more than zero");
  assert.match(message("Plugins.p.one.IdleTimeout"), /ambiguous/);
  assert.equal(message("Plugins.ResourceLimits.MaxLifetime"), "must be more than zero");
  assert.equal(message("Plugins.ResourceLimits.SoftMemoryMB"), "must be greater than 0");
  assert.equal(message("Plugins.ResourceLimits.SoftCpuPercent"), "must be in (0, 100]");
  // A value that is right stays right: 64 replicas, one call at a time.
  const ok = normalizeConfig({ Plugins: { p: { Replicas: 64, MaxConcurrency: 1 } } }).config;
  assert.deepEqual([ok.plugins.p.replicas, ok.plugins.p.maxConcurrency], [64, 1]);
});

Deno.test("a soft limit must be below the hard one of the same ResourceLimits", async () => {
  const text = `{
  "Plugins": {
    "ResourceLimits": { "MaxCpuPercent": 50, "SoftCpuPercent": 50 },
    "p": { "ResourceLimits": { "MaxMemoryMB": "256", "SoftMemoryMB": "300", "MaxHandles": 0 } },
  },
}`;
  const path = await tempConfig(text);
  await assert.rejects(() => loadConfig(path), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.deepEqual(e.diagnostics.map((d) => `${d.line}:${d.column} ${d.field}`), [
      `3:64 Plugins.ResourceLimits.SoftCpuPercent`,
      `4:70 Plugins.p.ResourceLimits.SoftMemoryMB`,
      `4:91 Plugins.p.ResourceLimits.MaxHandles`, // every problem at once, this one too
    ]);
    assert.match(
      e.message,
      new RegExp(
        `${path}:3:64: "Plugins.ResourceLimits.SoftCpuPercent": a soft limit must be below the hard one ` +
          `\\(MaxCpuPercent is 50\\)`,
      ),
    );
    assert.match(e.diagnostics[1].message, /a soft limit must be below the hard one \(MaxMemoryMB is 256\)/);
    return true;
  });
  // Below it is fine; so is a soft limit over a hard one set elsewhere (the host-wide one, say).
  const { config } = normalizeConfig({
    Plugins: {
      ResourceLimits: { MaxMemoryMB: 128 },
      p: { ResourceLimits: { MaxMemoryMB: 256, SoftMemoryMB: 200, SoftCpuPercent: 90 } },
      q: { ResourceLimits: { SoftMemoryMB: 512 } },
    },
  });
  assert.deepEqual(config.plugins.p.resourceLimits, {
    maxMemoryMB: 256,
    softMemoryMB: 200,
    softCpuPercent: 90,
  });
  assert.deepEqual(config.plugins.q.resourceLimits, { softMemoryMB: 512 });
});

Deno.test("misspelt elastic keys are warnings with a did-you-mean hint", () => {
  const text = `{
  "Plugins": {
    "Activaton": "lazy",
    "p": { "Replica": 2, "IdleTimout": 5, "ResourceLimits": { "SoftMemory": 5, "MaxLifetme": 5 } },
  },
}`;
  const { warnings } = parseConfig(text, "w.jsonc");
  assert.deepEqual(
    warnings.map((w) => `${w.line}:${w.column} ${w.field} ${w.message.match(/did you mean "(\w+)"/)?.[1]}`),
    [
      "3:5 Plugins.Activaton Activation",
      "4:12 Plugins.p.Replica Replicas",
      "4:26 Plugins.p.IdleTimout IdleTimeout",
      "4:63 Plugins.p.ResourceLimits.SoftMemory SoftMemoryMB",
      "4:80 Plugins.p.ResourceLimits.MaxLifetme MaxLifetime",
    ],
  );
});
