// Fuzzing the host configuration parser with fast-check: arbitrary text, and the contract's example with one
// value anywhere in it replaced by anything (as text and as an object). Every input either loads or throws a
// ConfigError whose every problem names the file and either its line and column or the field.
import assert from "node:assert/strict";
import fc from "fast-check";
import { ConfigError } from "../../mod.ts";
import { normalizeConfig, parseConfig } from "../../src/config/config.ts";
import { fuzz, fuzzText } from "./_fuzz.ts";

const FILE = "/srv/host.jsonc";
const EXAMPLE = {
  Plugins: {
    PluginsDirectory: "./plugins",
    EnableHotReload: true,
    ReloadDelay: "00:00:00.500",
    HealthCheckInterval: "00:01:00",
    EnableMetrics: true,
    CallTimeout: "00:00:30",
    Activation: "eager",
    ResourceLimits: { MaxMemoryMB: 512, MaxCpuPercent: 50, SoftMemoryMB: 384, MaxLifetime: "01:00:00" },
    ValidateSignatures: false,
    TrustedCertificateThumbprints: [],
    Admin: { Hostname: "127.0.0.1", Port: 8080, Token: null },
    "my.plugin": {
      Enabled: true,
      Isolation: "worker",
      ResourceLimits: { MaxMemoryMB: 128, SoftMemoryMB: 96, SoftCpuPercent: 25 },
      Settings: { CustomOption: "value" },
      Replicas: 2,
      MaxConcurrency: 4,
      QueueTimeout: "00:00:05",
      Activation: "lazy",
      IdleTimeout: 60000,
    },
  },
  PluginSecurity: {
    "my.plugin": {
      AllowFileSystemAccess: false,
      AllowedPaths: ["./data"],
      AllowNetworkAccess: true,
      AllowedNetworkEndpoints: ["https://api.example.com"],
      AllowedEnvironmentVariables: [],
    },
  },
};

function checkError(e: unknown, file: string, input: string, positions: boolean): void {
  if (!(e instanceof ConfigError)) throw new Error(`not a ConfigError for ${input.slice(0, 300)}: ${e}`);
  assert.match(e.message, /^Invalid host configuration: /);
  assert.ok(e.diagnostics.length > 0);
  for (const d of e.diagnostics) {
    assert.equal(d.file, file);
    const placed = positions ? Number.isInteger(d.line) && Number.isInteger(d.column) : false;
    assert.ok(
      placed || (d.field ?? "").length > 0,
      `unplaced: ${JSON.stringify(d)} for ${input.slice(0, 300)}`,
    );
    assert.ok(d.message.length > 0);
  }
}

function checkText(text: string): void {
  try {
    const { config } = parseConfig(text, FILE);
    assert.ok(config.callTimeoutMs > 0);
  } catch (e) {
    checkError(e, FILE, text, true);
  }
}

/** Every path to a leaf or branch of the example. */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (typeof v !== "object" || v === null) return [at];
  const children = Object.entries(v).flatMap(([k, c]) => paths(c, [...at, Array.isArray(v) ? Number(k) : k]));
  return [at, ...children];
}
const PATHS = paths(EXAMPLE).filter((p) => p.length > 0);

function replaced(path: readonly (string | number)[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(EXAMPLE) as Record<string, unknown>;
  let node = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  node[path.at(-1)!] = value;
  return copy;
}

const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    "99:99:99",
    "-00:00:01",
    "1e400",
    "0",
    -1,
    1e308,
    "",
    "a:b:c",
    "127.0.0.1",
    "http://",
    "../..",
  ),
);
// JSONC pieces, so random text reaches past the first character.
const PIECES: readonly string[] = [
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  '"Plugins"',
  '"PluginSecurity"',
  '"CallTimeout"',
  '"00:00:01"',
  '"Admin"',
  '"Port"',
  "65536",
  "null",
  "true",
  "// c\n",
  "/* c */",
  "\n",
  '"__proto__"',
  '"pluginsdirectory"',
  " ",
  "/*",
];

Deno.test("fuzz: config text of any shape loads or names file:line:col", () => {
  fuzzText(PIECES, checkText);
});

Deno.test("fuzz: the contract's config with one value replaced by anything, as text and as an object", () => {
  fc.assert(
    fc.property(fc.constantFrom(...PATHS), anyValue, fc.boolean(), (path, value, lower) => {
      let config = replaced(path, value);
      if (lower) {
        config = JSON.parse(JSON.stringify(config).replace(/"([A-Z])/g, (_, c) => `"${c.toLowerCase()}`));
      }
      const text = JSON.stringify(config, null, 2);
      checkText(text);
      try {
        normalizeConfig(config, { file: FILE, baseDir: "/srv" });
      } catch (e) {
        checkError(e, FILE, text, false);
      }
    }),
    fuzz(3000),
  );
});
