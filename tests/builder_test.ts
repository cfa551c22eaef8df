// The seed's fluent builder: the quick start and every method against the normalized config a file would
// give, independent copies, early errors, and a real host whose plugin uses SharedModules and ProbingPaths.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  ConfigError,
  createPluginHost,
  type HostConfig,
  loadConfig,
  normalizeConfig,
  parseConfig,
  PluginHostBuilder,
  PluginState,
  usePlugins,
} from "../mod.ts";
import { writePlugins } from "./_helpers.ts";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const BASE = "/srv/app";

/** Normalizes what the builder built against BASE; there must be no warning. */
function normalized(builder: PluginHostBuilder): HostConfig {
  const { config, warnings } = normalizeConfig(builder.build(), { baseDir: BASE });
  assert.deepEqual(warnings, []);
  return config;
}

const DEFAULTS = normalizeConfig({}, { baseDir: BASE }).config;

Deno.test("the seed's quick-start chain gives the same HostConfig as the seed's JSON", async () => {
  const file = await loadConfig(join(FIXTURES, "seed_config.json"));
  const { configFile: _, ...expected } = file.config;
  for (const interval of ["00:01:00", 60_000]) {
    const config = usePlugins((builder) =>
      builder
        .setPluginsDirectory("./plugins")
        .enableHotReload()
        .setHealthCheckInterval(interval)
        .enableMetrics()
        .configurePlugin("my.plugin", { enabled: true, settings: { CustomOption: "value" } })
    );
    const { config: fromBuilder, warnings } = normalizeConfig(config, { baseDir: FIXTURES });
    assert.deepEqual(warnings, []);
    assert.deepEqual(fromBuilder, expected);
  }
  // The object itself is the file's shape, with the seed's PascalCase keys.
  assert.deepEqual(
    new PluginHostBuilder().setPluginsDirectory("./plugins").enableHotReload().setHealthCheckInterval(
      "00:01:00",
    )
      .enableMetrics().build(),
    {
      Plugins: {
        PluginsDirectory: "./plugins",
        EnableHotReload: true,
        HealthCheckInterval: "00:01:00",
        EnableMetrics: true,
      },
    },
  );
});

Deno.test("an untouched builder builds the defaults", () => {
  assert.deepEqual(new PluginHostBuilder().build(), { Plugins: {} });
  assert.deepEqual(normalized(new PluginHostBuilder()), DEFAULTS);
});

Deno.test("each method sets its key and nothing else", () => {
  const cases: [(b: PluginHostBuilder) => PluginHostBuilder, Partial<HostConfig>][] = [
    [(b) => b.setPluginsDirectory("p"), { pluginsDirectory: "/srv/app/p" }],
    [(b) => b.setPluginsDirectory(pathToFileURL("/opt/plugins")), { pluginsDirectory: "/opt/plugins" }],
    [(b) => b.enableHotReload(), { enableHotReload: true }],
    [(b) => b.enableHotReload().enableHotReload(false), {}],
    [(b) => b.setHealthCheckInterval("00:00:05"), { healthCheckIntervalMs: 5_000 }],
    [(b) => b.setHealthCheckInterval(1_500), { healthCheckIntervalMs: 1_500 }],
    [(b) => b.enableMetrics(false), { enableMetrics: false }],
    [(b) => b.enableMetrics(), {}],
    [
      (b) => b.setResourceLimits({ maxMemoryMB: 512, maxCpuPercent: 50 }),
      { resourceLimits: { maxMemoryMB: 512, maxCpuPercent: 50 } },
    ],
    [
      (b) => b.setResourceLimits({ maxMemoryMB: 512 }).setResourceLimits({ maxCpuPercent: 25 }),
      { resourceLimits: { maxMemoryMB: 512, maxCpuPercent: 25 } },
    ],
    [
      (b) =>
        b.addSharedModules("MyShared.ts").addSharedModules(new URL("file:///opt/lib/x.ts"), "MyShared.ts"),
      { sharedModules: ["/srv/app/MyShared.ts", "/opt/lib/x.ts"] },
    ],
    [
      (b) => b.addProbingPaths("./lib", "./dependencies"),
      { probingPaths: ["/srv/app/lib", "/srv/app/dependencies"] },
    ],
    [(b) => b.enableSandboxing(), {}],
    [
      (b) =>
        b.configureLoader((o) => {
          o.enableHotReload = true;
          o.reloadDelay = "00:00:00.250";
        }),
      { enableHotReload: true, reloadDelayMs: 250 },
    ],
    [(b) => b.configureLoader(() => {}), {}],
    [
      (b) =>
        b.configureManager((o) => {
          o.validateSignatures = true;
          o.trustedCertificateThumbprints.push("AB".repeat(32));
          o.callTimeout = 10_000;
          o.healthCheckInterval = "00:02:00";
          o.drainTimeout = "00:00:01";
        }),
      {
        validateSignatures: true,
        trustedCertificateThumbprints: ["ab".repeat(32)],
        callTimeoutMs: 10_000,
        healthCheckIntervalMs: 120_000,
        drainTimeoutMs: 1_000,
      },
    ],
    [
      (b) => b.setAdmin({ hostname: "0.0.0.0", token: "t-0123456789abcdef" }).setAdmin({ port: 0 }),
      { admin: { hostname: "0.0.0.0", port: 0, token: "t-0123456789abcdef" } },
    ],
    [(b) => b.setAdmin({ token: "t-0123456789abcdef" }).setAdmin({ token: null }), {}],
    [(b) => b.setAdmin({ tokenFile: "secrets/admin" }), {
      admin: { ...DEFAULTS.admin, tokenFile: join(BASE, "secrets/admin") },
    }],
  ];
  for (const [apply, changes] of cases) {
    const builder = new PluginHostBuilder();
    assert.equal(apply(builder), builder, String(apply));
    assert.deepEqual(normalized(builder), { ...DEFAULTS, ...changes }, String(apply));
  }
});

Deno.test("configurePlugin and configureSecurity write blocks that merge across calls", () => {
  const config = normalized(
    new PluginHostBuilder()
      .configurePlugin("My.Plugin", { isolation: "process", resourceLimits: { maxMemoryMB: 128 } })
      .configurePlugin("my.plugin", { enabled: false, settings: { a: 1, nested: { b: 2 } } })
      .configurePlugin("my.plugin", { resourceLimits: { maxCpuPercent: 10 }, settings: { c: 3 } })
      .configureSecurity("my.plugin", {
        allowFileSystemAccess: true,
        allowedPaths: ["./data", new URL("file:///var/shared")],
        allowedNetworkEndpoints: ["https://api.example.com"],
      })
      .configureSecurity("my.plugin", { allowNetworkAccess: true, allowedEnvironmentVariables: ["MY_*"] }),
  );
  assert.deepEqual(config.plugins, {
    "my.plugin": {
      enabled: false,
      isolation: "process",
      resourceLimits: { maxMemoryMB: 128, maxCpuPercent: 10 },
      settings: { a: 1, nested: { b: 2 }, c: 3 },
    },
  });
  assert.deepEqual(config.security, {
    "my.plugin": {
      allowFileSystemAccess: true,
      allowedPaths: ["/srv/app/data", "/var/shared"],
      allowNetworkAccess: true,
      allowedNetworkEndpoints: ["api.example.com:443"],
      allowedEnvironmentVariables: ["MY_*"],
    },
  });
});

Deno.test("build() returns an independent deep copy every time", () => {
  const settings = { list: [1, 2] };
  const builder = new PluginHostBuilder()
    .addProbingPaths("./lib")
    .configurePlugin("my.plugin", { settings })
    .configureSecurity("my.plugin", { allowedEnvironmentVariables: ["A"] });
  settings.list.push(3); // the builder took a copy
  const first = builder.build();
  const second = builder.build();
  assert.notEqual(first, second);
  assert.deepEqual(first, second);
  const plugins = first.Plugins as Record<string, Record<string, unknown>>;
  (plugins.ProbingPaths as unknown as string[]).push("./evil");
  (plugins["my.plugin"].Settings as Record<string, number[]>).list.push(4);
  (first.PluginSecurity as Record<string, Record<string, string[]>>)["my.plugin"].AllowedEnvironmentVariables
    .push("HOME");
  assert.deepEqual(builder.build(), second);
  assert.deepEqual(second, {
    Plugins: { ProbingPaths: ["./lib"], "my.plugin": { Settings: { list: [1, 2] } } },
    PluginSecurity: { "my.plugin": { AllowedEnvironmentVariables: ["A"] } },
  });
  // Later calls do not reach objects built before them.
  builder.addProbingPaths("./more");
  assert.deepEqual((second.Plugins as Record<string, unknown>).ProbingPaths, ["./lib"]);
});

Deno.test("mistakes are caught: invalid values at build(), bad ids and misuse at the call", () => {
  const invalid = new PluginHostBuilder()
    .setHealthCheckInterval("1 min")
    .configureSecurity("p", { allowedNetworkEndpoints: ["api.example.com"] });
  assert.throws(() => invalid.build(), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.deepEqual(e.diagnostics.map((d) => [d.file, d.field]), [
      ["PluginHostBuilder", "Plugins.HealthCheckInterval"],
      ["PluginHostBuilder", "PluginSecurity.p.AllowedNetworkEndpoints.0"],
    ]);
    return true;
  });
  assert.throws(() => new PluginHostBuilder().configurePlugin("bad id!", {}), TypeError);
  assert.throws(() => new PluginHostBuilder().configureSecurity("", {}), TypeError);
  assert.throws(() => new PluginHostBuilder().configurePlugin("admin", {}), /Plugins option "Admin"/);
  assert.throws(() => new PluginHostBuilder().addSharedModules(new URL("https://x.example/a.ts")), TypeError);
  assert.throws(
    () => new PluginHostBuilder().addSharedModules("jsr:@std/path").build(),
    /not a local path/,
  );
  // The seed's casing on an options object is a typo here, and it says so rather than being ignored.
  assert.throws(
    () =>
      new PluginHostBuilder().configureLoader((o) => {
        (o as unknown as Record<string, unknown>).ReloadDelay = 500;
      }),
    TypeError,
  );
  assert.throws(
    () => new PluginHostBuilder().configureManager((async () => {}) as () => void),
    /must be synchronous/,
  );
  assert.throws(
    () => usePlugins((() => ({})) as unknown as (b: PluginHostBuilder) => void),
    /return the builder or nothing/,
  );
  // A callback that returns nothing is fine too.
  assert.deepEqual(usePlugins((b) => void b.enableMetrics(false)), { Plugins: { EnableMetrics: false } });
});

Deno.test("a host built from the builder runs a plugin that uses SharedModules and ProbingPaths", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dc_builder_" }));
  try {
    const pluginsDir = await writePlugins(root, {
      user: {
        manifest: { id: "shared.user" }, // and no PluginSecurity entry at all
        code: `
          const attempt = async (f) => {
            try { return { ok: true, value: await f() }; } catch (e) { return { ok: false, message: String(e?.message) }; }
          };
          export default {
            methods: {
              read: (p) => attempt(() => Deno.readTextFile(p)),
              importDefault: (url) => attempt(async () => (await import(url)).default),
              add: (url, a, b) => attempt(async () => (await import(url)).add(a, b)),
            },
          };`,
      },
    });
    await Deno.mkdir(join(root, "shared"));
    await Deno.writeTextFile(
      join(root, "shared", "math.ts"),
      "export const add = (a: number, b: number) => a + b;",
    );
    await Deno.writeTextFile(
      join(root, "shared", "secret.ts"),
      'export default "next to the shared module";',
    );
    await Deno.mkdir(join(root, "lib", "deep"), { recursive: true });
    await Deno.writeTextFile(join(root, "lib", "data.txt"), "probed");
    await Deno.writeTextFile(join(root, "lib", "deep", "helper.ts"), 'export default "helped";');
    await Deno.mkdir(join(root, "lib-other"));
    await Deno.writeTextFile(join(root, "lib-other", "data.txt"), "a folder whose name extends lib");
    await Deno.writeTextFile(join(root, "secret.txt"), "next to the probing folder");

    const config = usePlugins((b) =>
      b.setPluginsDirectory(pluginsDir)
        .addSharedModules(join(root, "shared", "math.ts"))
        .addProbingPaths(pathToFileURL(join(root, "lib")))
    );
    await using host = await createPluginHost(config);
    assert.deepEqual(host.warnings, []);
    assert.deepEqual(host.config.sharedModules, [join(root, "shared", "math.ts")]);
    assert.deepEqual(host.config.probingPaths, [join(root, "lib")]);
    await host.start();
    const plugin = host.getPlugin("shared.user");
    assert.equal(plugin?.state, PluginState.Running, String(plugin?.lastError));
    assert.ok(plugin.permissions.read.includes(join(root, "shared", "math.ts")));
    assert.ok(plugin.permissions.read.includes(join(root, "lib")));
    assert.deepEqual(plugin.permissions.denied, []);

    const url = (...parts: string[]): string => pathToFileURL(join(root, ...parts)).href;
    assert.deepEqual(await plugin.call("add", url("shared", "math.ts"), 2, 3), { ok: true, value: 5 });
    assert.deepEqual(await plugin.call("read", join(root, "lib", "data.txt")), { ok: true, value: "probed" });
    assert.deepEqual(await plugin.call("importDefault", url("lib", "deep", "helper.ts")), {
      ok: true,
      value: "helped",
    });
    // Nothing next to them: not the shared module's neighbour, not the probing folder's.
    for (
      const [method, arg] of [
        ["importDefault", url("shared", "secret.ts")],
        ["read", join(root, "shared", "secret.ts")],
        ["read", join(root, "secret.txt")],
        ["read", join(root, "lib-other", "data.txt")],
      ]
    ) {
      const outcome = await plugin.call(method, arg) as { ok: boolean; message?: string };
      assert.equal(outcome.ok, false, `${method} ${arg}`);
      assert.match(outcome.message ?? "", /Requires read access/, `${method} ${arg}`);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the elastic keys: a builder and the equivalent JSONC give the same HostConfig", () => {
  const built = normalized(
    new PluginHostBuilder()
      .configureManager((o) => (o.activation = "lazy"))
      .setResourceLimits({ maxMemoryMB: 512, softMemoryMB: 384, softCpuPercent: 60, maxLifetime: "01:00:00" })
      .configurePlugin("My.Plugin", { replicas: 4, maxConcurrency: 8, queueTimeout: "00:00:02" })
      .configurePlugin("my.plugin", {
        activation: "eager",
        idleTimeout: 300_000,
        resourceLimits: { maxCpuPercent: 80, softCpuPercent: 50, maxLifetime: 600_000 },
      })
      .configurePlugin("other.plugin", { activation: "lazy" }),
  );
  const text = `{
  "Plugins": {
    "activation": "lazy",
    "ResourceLimits": { "MaxMemoryMB": 512, "SoftMemoryMB": 384, "SoftCpuPercent": 60, "MaxLifetime": "01:00:00" },
    "my.plugin": {
      "Replicas": 4,
      "MaxConcurrency": 8,
      "QueueTimeout": 2000,
      "Activation": "eager",
      "IdleTimeout": "00:05:00",
      "ResourceLimits": { "MaxCpuPercent": 80, "SoftCpuPercent": 50, "MaxLifetime": "00:10:00" },
    },
    "other.plugin": { "ACTIVATION": "Lazy" },
  },
}`;
  const { config: file, warnings } = parseConfig(text, join(BASE, "host.jsonc"));
  assert.deepEqual(warnings, []);
  // Only a file has a place for its Replicas key (and a file name).
  assert.equal(file.plugins["my.plugin"].replicasAt, `${join(BASE, "host.jsonc")}:6:7`);
  assert.equal(built.plugins["my.plugin"].replicasAt, undefined);
  const { replicasAt: _, ...block } = file.plugins["my.plugin"];
  const { configFile: __, ...fromFile } = file;
  assert.deepEqual(built, { ...fromFile, plugins: { ...fromFile.plugins, "my.plugin": block } });
  assert.equal(built.activation, "lazy");
  assert.deepEqual(built.resourceLimits, {
    maxMemoryMB: 512,
    softMemoryMB: 384,
    softCpuPercent: 60,
    maxLifetimeMs: 3_600_000,
  });
  assert.deepEqual(built.plugins["my.plugin"], {
    enabled: true,
    isolation: "worker",
    resourceLimits: { maxCpuPercent: 80, softCpuPercent: 50, maxLifetimeMs: 600_000 },
    settings: {},
    replicas: 4,
    maxConcurrency: 8,
    queueTimeoutMs: 2_000,
    activation: "eager",
    idleTimeoutMs: 300_000,
  });
});

Deno.test("the elastic keys are written with the file's PascalCase names, and checked at build()", () => {
  assert.deepEqual(
    new PluginHostBuilder()
      .configureManager((o) => (o.activation = "lazy"))
      .setResourceLimits({ softMemoryMB: 64, softCpuPercent: 10, maxLifetime: 1_000 })
      .configurePlugin("p", {
        replicas: 2,
        maxConcurrency: 1,
        queueTimeout: 5,
        activation: "lazy",
        idleTimeout: "00:01:00",
      })
      .build(),
    {
      Plugins: {
        Activation: "lazy",
        ResourceLimits: { SoftMemoryMB: 64, SoftCpuPercent: 10, MaxLifetime: 1_000 },
        p: { Replicas: 2, MaxConcurrency: 1, QueueTimeout: 5, Activation: "lazy", IdleTimeout: "00:01:00" },
      },
    },
  );
  // The default activation is not written; a block's options left out keep their earlier value.
  assert.deepEqual(new PluginHostBuilder().configureManager((o) => (o.activation = "eager")).build(), {
    Plugins: {},
  });
  assert.deepEqual(
    new PluginHostBuilder().configurePlugin("p", { replicas: 3 }).configurePlugin("p", { enabled: false })
      .build(),
    { Plugins: { p: { Replicas: 3, Enabled: false } } },
  );
  const invalid = new PluginHostBuilder()
    .setResourceLimits({ maxCpuPercent: 50, softCpuPercent: 75 })
    .configurePlugin("p", { replicas: 65, maxConcurrency: 0, queueTimeout: 0, idleTimeout: "soon" });
  assert.throws(() => invalid.build(), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.deepEqual(e.diagnostics.map((d) => [d.file, d.field]), [
      ["PluginHostBuilder", "Plugins.ResourceLimits.SoftCpuPercent"],
      ["PluginHostBuilder", "Plugins.p.Replicas"],
      ["PluginHostBuilder", "Plugins.p.MaxConcurrency"],
      ["PluginHostBuilder", "Plugins.p.QueueTimeout"],
      ["PluginHostBuilder", "Plugins.p.IdleTimeout"],
    ]);
    assert.match(e.diagnostics[0].message, /a soft limit must be below the hard one/);
    return true;
  });
});
