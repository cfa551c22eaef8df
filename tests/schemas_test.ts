// The JSON Schemas in schemas/: current with the zod schemas, satisfied by every manifest and configuration in
// the repository, in agreement with the loaders on good and bad values, and complete (every key the
// configuration loader knows is in the JSON Schema and the other way round).
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseJsonc, type ParseError } from "jsonc-parser";
// An interpreting validator: the tests run with code generation from strings disallowed, which Ajv needs.
// deno-lint-ignore no-import-prefix
import { type Schema, Validator } from "npm:@cfworker/json-schema@^4.1.6";
import type { z } from "zod";
import { ConfigError } from "../src/errors.ts";
import { normalizeConfig } from "../src/config/config.ts";
import { configSchema, OPTIONS } from "../src/config/_schema.ts";
import { manifestSchema } from "../src/manifest/manifest.ts";
import { generateSchemas, type JsonSchema, SCHEMA_FILES } from "../scripts/gen_schemas.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SCHEMAS = join(ROOT, "schemas");
const generated = generateSchemas();
const manifestJson = JSON.parse(generated[SCHEMA_FILES.manifest]) as JsonSchema;
const configJson = JSON.parse(generated[SCHEMA_FILES.config]) as JsonSchema;

function compile(schema: JsonSchema): ((value: unknown) => boolean) & { problems(value: unknown): string } {
  const v = new Validator(schema as unknown as Schema, "2020-12", false);
  return Object.assign((value: unknown): boolean => v.validate(value).valid, {
    problems: (value: unknown): string =>
      v.validate(value).errors.map((e) => `${e.instanceLocation}: ${e.error}`).join("; "),
  });
}
const validateManifest = compile(manifestJson);
const validateConfig = compile(configJson);

type Validate = ReturnType<typeof compile>;
const errorsOf = (validate: Validate, value: unknown): string | undefined =>
  validate(value) ? undefined : validate.problems(value);

function readJsonc(text: string, file: string): unknown {
  const errors: ParseError[] = [];
  const value = parseJsonc(text, errors, { allowTrailingComma: true, disallowComments: false });
  assert.deepEqual(errors, [], `${file} is not valid JSONC`);
  return value;
}

/** Every file under `dir` whose name is in `names` (skipping dot folders). */
async function findFiles(dir: string, names: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && !entry.name.startsWith(".")) found.push(...await findFiles(path, names));
    else if (entry.isFile && names.includes(entry.name)) found.push(path);
  }
  return found.sort();
}

/** The loader's verdict on a configuration object: its error messages, or undefined when it loads. */
function configProblem(config: Record<string, unknown>): string | undefined {
  try {
    normalizeConfig(config, { baseDir: ROOT });
    return undefined;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.diagnostics.map((d) => `${d.field}: ${d.message}`).join("; ");
  }
}

// --- The files are current ------------------------------------------------------------------------------------

Deno.test("schemas/ holds exactly what scripts/gen_schemas.ts generates", async () => {
  for (const [file, text] of Object.entries(generated)) {
    const committed = await Deno.readTextFile(join(SCHEMAS, file)).catch(() => undefined);
    assert.ok(committed !== undefined, `schemas/${file} is missing: run \`deno task schemas\``);
    assert.ok(committed === text, `schemas/${file} is stale: run \`deno task schemas\``);
  }
  const files = [];
  for await (const entry of Deno.readDir(SCHEMAS)) files.push(entry.name);
  assert.deepEqual(files.sort(), Object.keys(generated).sort(), "schemas/ holds files nothing generates");
});

Deno.test("the generated schemas are draft 2020-12 with $id, title and description, ", () => {
  for (const schema of [manifestJson, configJson]) {
    assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
    for (const key of ["$id", "title", "description"]) assert.equal(typeof schema[key], "string", key);
  }
  assert.equal(typeof validateManifest, "function");
  assert.equal(typeof validateConfig, "function");
});

/** Every property of a schema, by path, with its schema. */
function* properties(schema: JsonSchema, path = ""): Generator<[string, JsonSchema]> {
  for (const [name, sub] of Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>)) {
    const at = path === "" ? name : `${path}.${name}`;
    yield [at, sub];
    yield* properties(sub, at);
  }
  for (const [key, suffix] of [["additionalProperties", ".*"], ["items", "[]"]] as const) {
    const sub = schema[key];
    if (typeof sub === "object" && sub !== null) yield* properties(sub as JsonSchema, path + suffix);
  }
  for (const branch of (schema.anyOf ?? []) as JsonSchema[]) yield* properties(branch, path);
}

Deno.test("every property of both schemas is described (editors show it)", () => {
  for (const schema of [manifestJson, configJson]) {
    for (const [path, sub] of properties(schema)) {
      assert.equal(
        typeof sub.description,
        "string",
        `${schema.title}: "${path}" has no description; add one in scripts/gen_schemas.ts`,
      );
    }
  }
});

// --- The repository's files validate ------------------------------------------------------------------------

Deno.test("every plugin manifest under plugins/ validates, and names the schema by $schema", async () => {
  const files = await findFiles(join(ROOT, "plugins"), ["plugin.jsonc", "plugin.json"]);
  assert.ok(files.length >= 2, "no manifests found under plugins/");
  for (const file of files) {
    const name = relative(ROOT, file);
    const value = readJsonc(await Deno.readTextFile(file), name) as Record<string, unknown>;
    assert.equal(errorsOf(validateManifest, value), undefined, name);
    assert.ok(manifestSchema.safeParse(value).success, `${name}: the loader refuses it`);
    assert.equal(typeof value.$schema, "string", `${name} has no "$schema"`);
    assert.equal(
      resolve(dirname(file), String(value.$schema)),
      join(SCHEMAS, SCHEMA_FILES.manifest),
      `${name}: "$schema" does not point at schemas/${SCHEMA_FILES.manifest}`,
    );
  }
});

Deno.test("the example and fixture host configurations validate; the examples name the schema", async () => {
  const examples = await findFiles(join(ROOT, "examples"), ["host.jsonc", "host.json"]);
  const fixtures: string[] = [];
  for await (const entry of Deno.readDir(join(ROOT, "tests", "fixtures"))) {
    if (entry.isFile && /\.jsonc?$/.test(entry.name)) {
      fixtures.push(join(ROOT, "tests", "fixtures", entry.name));
    }
  }
  assert.ok(examples.length >= 1 && fixtures.length >= 3, "configurations not found");
  for (const file of [...examples, ...fixtures.sort()]) {
    const name = relative(ROOT, file);
    const value = readJsonc(await Deno.readTextFile(file), name) as Record<string, unknown>;
    assert.equal(errorsOf(validateConfig, value), undefined, name);
    assert.equal(configProblem(value), undefined, `${name}: the loader refuses it`);
  }
  for (const file of examples) {
    const value = readJsonc(await Deno.readTextFile(file), file) as Record<string, unknown>;
    assert.equal(
      resolve(dirname(file), String(value.$schema)),
      join(SCHEMAS, SCHEMA_FILES.config),
      `${relative(ROOT, file)}: "$schema" does not point at schemas/${SCHEMA_FILES.config}`,
    );
  }
});

// --- The manifest schema agrees with the loader ------------------------------------------------------------

const MANIFEST = { id: "hello.world", name: "Hello", version: "1.0.0" };

Deno.test("the manifest schema accepts the contract's example", () => {
  const manifest = {
    $schema: "../../schemas/plugin.schema.json",
    ...MANIFEST,
    description: "Says hello",
    author: "Jane Doe",
    entry: "mod.ts",
    capabilities: ["ComputeBackend", "HotReloadable"],
    provides: { "compute.custom": "1.0.0" },
    dependencies: { "storage.kv": "^2.0.0" },
    permissions: { read: ["./assets"], write: [], net: ["api.example.com:443"], env: ["MY_VAR"] },
    settings: { greeting: "hello" },
    idempotent: ["greet"],
  };
  assert.equal(errorsOf(validateManifest, manifest), undefined);
  assert.ok(manifestSchema.safeParse(manifest).success);
});

Deno.test("known-bad manifests are refused by the JSON Schema as by the loader", () => {
  const { id: _, ...noId } = MANIFEST;
  const bad: Record<string, unknown> = {
    "no id": noId,
    "an uppercase id": { ...MANIFEST, id: "Hello" },
    "an id of 129 characters": { ...MANIFEST, id: "a".repeat(129) },
    "a blank name": { ...MANIFEST, name: "  " },
    "a version that is not semver": { ...MANIFEST, version: "1.0" },
    "an unknown capability": { ...MANIFEST, capabilities: ["Compute"] },
    "an entry leaving the folder": { ...MANIFEST, entry: "../evil.ts" },
    "an absolute entry": { ...MANIFEST, entry: "/srv/mod.ts" },
    "an entry that is not a module": { ...MANIFEST, entry: "mod.txt" },
    "an unknown key": { ...MANIFEST, dependancies: {} },
    "an unknown permission": { ...MANIFEST, permissions: { run: ["sh"] } },
    "an empty permission": { ...MANIFEST, permissions: { read: [""] } },
    "a provided version that is not semver": { ...MANIFEST, provides: { "compute.custom": "latest" } },
    "a dependency on a bad id": { ...MANIFEST, dependencies: { "Storage": "^1.0.0" } },
    "settings that are not an object": { ...MANIFEST, settings: [] },
    "idempotent that is not an array": { ...MANIFEST, idempotent: "get" },
    "a blank idempotent method": { ...MANIFEST, idempotent: ["get", " "] },
    "an idempotent method that is not a string": { ...MANIFEST, idempotent: [1] },
    "not an object": [MANIFEST],
  };
  for (const [label, manifest] of Object.entries(bad)) {
    assert.ok(!validateManifest(manifest), `the JSON Schema accepts ${label}`);
    assert.ok(!manifestSchema.safeParse(manifest).success, `the loader accepts ${label}`);
  }
});

/**
 * For each value, the JSON Schema accepts every value the zod schema accepts; when `exact`, it also refuses
 * every value the zod schema refuses. Each list is checked to hold what it says, so the samples stay honest.
 */
function agree(
  label: string,
  good: readonly unknown[],
  bad: readonly unknown[],
  loaderOk: (value: unknown) => boolean,
  schemaOk: (value: unknown) => boolean,
  exact: readonly unknown[] = [],
): void {
  for (const value of good) {
    assert.ok(loaderOk(value), `${label}: the loader refuses ${JSON.stringify(value)}`);
    assert.ok(schemaOk(value), `${label}: the JSON Schema refuses ${JSON.stringify(value)}, which loads`);
  }
  for (const value of bad) {
    assert.ok(!loaderOk(value), `${label}: the loader accepts ${JSON.stringify(value)}`);
    assert.ok(!schemaOk(value), `${label}: the JSON Schema accepts ${JSON.stringify(value)}`);
  }
  // Values the loader refuses on grounds a pattern cannot follow: the JSON Schema may accept them.
  for (const value of exact) {
    assert.ok(!loaderOk(value), `${label}: the loader accepts ${JSON.stringify(value)}`);
  }
}

Deno.test("the manifest schema agrees with the loader on versions, entries and ranges", () => {
  const manifestOk = (m: unknown) => manifestSchema.safeParse(m).success;
  const field = (key: string) => ({
    loaderOk: (v: unknown) => manifestOk({ ...MANIFEST, [key]: v }),
    schemaOk: (v: unknown) => validateManifest({ ...MANIFEST, [key]: v }),
  });
  const version = field("version");
  agree(
    "version",
    ["1.0.0", "0.0.0", "10.20.30", "1.2.3-beta.1", "1.0.0-rc.1+build.5", "1.0.0+20250101"],
    ["1.0", "v1.0.0", "=1.0.0", "01.0.0", "1.0.0 ", " 1.0.0", "1.0.0-01", "latest", "", 1],
    version.loaderOk,
    version.schemaOk,
  );
  const entry = field("entry");
  agree(
    "entry",
    ["mod.ts", "src/main.js", "./a/b.mts", "a/../b.tsx", "lib/x.mjs", "x.jsx"],
    [
      "../x.ts",
      "..\\x.ts",
      "/abs/mod.ts",
      "\\abs.ts",
      "C:/x.ts",
      "https://x.example/mod.ts",
      "mod.txt",
      "",
      "mod",
    ],
    entry.loaderOk,
    entry.schemaOk,
    ["a/../../x.ts", "./../x.ts"],
  );
  const dependency = {
    loaderOk: (v: unknown) => manifestOk({ ...MANIFEST, dependencies: { "storage.kv": v } }),
    schemaOk: (v: unknown) => validateManifest({ ...MANIFEST, dependencies: { "storage.kv": v } }),
  };
  agree(
    "dependency range",
    ["^2.0.0", "*", ">=1.2 <2", "1.x || 2.x"],
    ["", "  ", 2],
    dependency.loaderOk,
    dependency.schemaOk,
    [
      "not a range",
    ],
  );
});

// --- The configuration schema agrees with the loader -------------------------------------------------------

const configOk = (config: Record<string, unknown>) => configProblem(config) === undefined;
/** The loader's and the JSON Schema's verdicts on `value` placed by `place`. */
const placed = (place: (value: unknown) => Record<string, unknown>) => ({
  loaderOk: (v: unknown) => configOk(place(v)),
  schemaOk: (v: unknown) => validateConfig(place(v)),
});

Deno.test("known-bad configurations are refused by the JSON Schema as by the loader", () => {
  const plugins = (p: Record<string, unknown>) => ({ Plugins: p });
  const security = (s: Record<string, unknown>) => ({ PluginSecurity: { "my.plugin": s } });
  const bad: Record<string, Record<string, unknown>> = {
    "Plugins that is not an object": { Plugins: 5 },
    "a blank PluginsDirectory": plugins({ PluginsDirectory: "" }),
    "an ambiguous duration": plugins({ CallTimeout: "500" }),
    "a negative duration": plugins({ ReloadDelay: -1 }),
    "hours out of range": plugins({ HealthCheckInterval: "24:00:00" }),
    "a boolean that is a number": plugins({ EnableMetrics: 1 }),
    "MaxCpuPercent over 100": plugins({ ResourceLimits: { MaxCpuPercent: 150 } }),
    "MaxMemoryMB of 0": plugins({ ResourceLimits: { MaxMemoryMB: 0 } }),
    "a port out of range": plugins({ Admin: { Port: 70000 } }),
    "a fractional port": plugins({ Admin: { Port: 80.5 } }),
    "an empty token": plugins({ Admin: { Token: "" } }),
    "a token of 15 bytes": plugins({ Admin: { Token: "123456789012345" } }),
    "a short thumbprint": plugins({ TrustedCertificateThumbprints: ["abcd"] }),
    "a remote shared module": plugins({ SharedModules: ["https://example.com/mod.ts"] }),
    "a jsr: probing path": plugins({ ProbingPaths: ["jsr:@std/path"] }),
    "an unknown isolation": plugins({ "my.plugin": { Isolation: "thread" } }),
    "settings that are not an object": plugins({ "my.plugin": { Settings: ["a"] } }),
    "a plugin block that is a string": plugins({ "my.plugin": "on" }),
    "a security entry that is not an object": { PluginSecurity: { "my.plugin": true } },
    "a bare host as endpoint": security({ AllowedNetworkEndpoints: ["api.example.com"] }),
    "an ftp endpoint": security({ AllowedNetworkEndpoints: ["ftp://files.example.com"] }),
    "an environment variable with '='": security({ AllowedEnvironmentVariables: ["A=B"] }),
    "allowed paths that are not an array": security({ AllowedPaths: "./data" }),
    "an unknown activation": plugins({ Activation: "sometimes" }),
    "an unknown block activation": plugins({ "my.plugin": { Activation: "later" } }),
    "no replicas": plugins({ "my.plugin": { Replicas: 0 } }),
    "65 replicas": plugins({ "my.plugin": { Replicas: 65 } }),
    "a fractional MaxConcurrency": plugins({ "my.plugin": { MaxConcurrency: 1.5 } }),
    "an ambiguous QueueTimeout": plugins({ "my.plugin": { QueueTimeout: "500" } }),
    "a negative IdleTimeout": plugins({ "my.plugin": { IdleTimeout: -1 } }),
    "SoftCpuPercent over 100": plugins({ ResourceLimits: { SoftCpuPercent: 150 } }),
    "SoftMemoryMB of 0": plugins({ "my.plugin": { ResourceLimits: { SoftMemoryMB: 0 } } }),
    "a MaxLifetime that is no duration": plugins({ ResourceLimits: { MaxLifetime: "1h" } }),
  };
  for (const [label, config] of Object.entries(bad)) {
    assert.ok(!validateConfig(config), `the JSON Schema accepts ${label}`);
    // A plugin block that is not an object is dropped with a warning, not refused.
    if (label !== "a plugin block that is a string") {
      assert.ok(!configOk(config), `the loader accepts ${label}`);
    }
  }
});

Deno.test("keys the loader warns about are refused by the JSON Schema", () => {
  const warned: Record<string, Record<string, unknown>> = {
    "a misspelt section": { Plugin: {} },
    "a misspelt option": { Plugins: { PluginDirectory: "./p" } },
    "a misspelt admin key": { Plugins: { Admin: { Host: "0.0.0.0" } } },
    "a misspelt block key": { Plugins: { "my.plugin": { Enable: true } } },
    "a misspelt limit": { Plugins: { ResourceLimits: { MaxMemory: 5 } } },
    "a misspelt soft limit": { Plugins: { ResourceLimits: { SoftMemory: 5 } } },
    "a misspelt elastic key": { Plugins: { "my.plugin": { Replica: 2 } } },
    "a misspelt security key": { PluginSecurity: { "my.plugin": { AllowNetwork: true } } },
    "a key that is no plugin id": { PluginSecurity: { "my plugin": {} } },
  };
  for (const [label, config] of Object.entries(warned)) {
    const { warnings } = normalizeConfig(config, { baseDir: ROOT });
    assert.ok(warnings.length > 0, `the loader does not warn about ${label}`);
    assert.ok(!validateConfig(config), `the JSON Schema accepts ${label}`);
  }
});

Deno.test("durations, endpoints, thumbprints and paths: the JSON Schema agrees with the loader", () => {
  // ReloadDelay is a plain duration (0 allowed); CallTimeout must be positive, checked in config_test.ts.
  const duration = placed((v) => ({ Plugins: { ReloadDelay: v } }));
  agree(
    "duration",
    [
      0,
      1500,
      0.5,
      "00:00:30",
      "00:00:00.500",
      "0:0",
      "1:2:3",
      "1.02:03:04",
      " 00:01:00 ",
      "23:59:59.9999999",
    ],
    [
      "500",
      "1.5",
      "-00:00:01",
      "24:00:00",
      "00:60:00",
      "00:00:60",
      "00:00:00.12345678",
      "1:2:3:4",
      "abc",
      "",
      -1,
      true,
    ],
    duration.loaderOk,
    duration.schemaOk,
  );
  const endpoint = placed((v) => ({ PluginSecurity: { "my.plugin": { AllowedNetworkEndpoints: [v] } } }));
  agree(
    "endpoint",
    [
      "https://api.example.com",
      "HTTP://API.example.com:8080/x",
      "wss://x.example",
      "api.example.com:443",
      "[::1]:8080",
    ],
    ["api.example.com", "ftp://x.example", "mailto:a@b.example", "", 443],
    endpoint.loaderOk,
    endpoint.schemaOk,
    ["x.example:99999", "::1:80", "bad host:80"],
  );
  const thumbprint = placed((v) => ({ Plugins: { TrustedCertificateThumbprints: [v] } }));
  const hex = "0123456789abcdef".repeat(4);
  agree(
    "thumbprint",
    [hex, hex.toUpperCase(), hex.match(/../g)!.join(":"), ` ${hex} `],
    [hex.slice(1), `${hex}0`, hex.replace("a", "g"), "", 5],
    thumbprint.loaderOk,
    thumbprint.schemaOk,
  );
  const path = placed((v) => ({ Plugins: { SharedModules: [v] } }));
  agree(
    "local path",
    ["./lib", "lib/shared.ts", "/abs/lib", "C:\\lib", "file:///tmp/lib", " lib "],
    ["https://example.com/mod.ts", "jsr:@std/path", "npm:zod", "", "  ", 5],
    path.loaderOk,
    path.schemaOk,
  );
});

// --- Completeness: the JSON Schema and the loader know the same keys ------------------------------------------

interface ZodDef {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly catchall?: z.ZodType;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly out?: z.ZodType;
  readonly element?: z.ZodType;
  readonly valueType?: z.ZodType;
}

/** Every key of the (lowercased) zod configuration schema, by path (`*`: any plugin id). */
function zodKeys(schema: z.ZodType, path = "", out = new Set<string>()): Set<string> {
  const def = schema._zod.def as unknown as ZodDef;
  const inner = def.innerType ??
    (def.type === "pipe" ? (def.in?._zod.def.type === "transform" ? def.out : def.in) : undefined);
  if (inner) return zodKeys(inner, path, out);
  const at = (key: string) => (path === "" ? key : `${path}.${key}`);
  for (const [key, value] of Object.entries(def.shape ?? {})) {
    out.add(at(key));
    zodKeys(value, at(key), out);
  }
  for (const sub of [def.catchall, def.valueType]) if (sub) zodKeys(sub, at("*"), out);
  if (def.element) zodKeys(def.element, `${path}[]`, out);
  return out;
}

Deno.test("every key the configuration loader knows is in the JSON Schema, and no other", () => {
  const loader = zodKeys(configSchema);
  const json = new Set([...properties(configJson)].map(([path]) => path).filter((p) => p !== "$schema"));
  assert.deepEqual(
    [...json].map((p) => p.toLowerCase()).sort(),
    [...loader].sort(),
    "the JSON Schema and src/config/_schema.ts know different keys: run `deno task schemas`",
  );
  // The options of Plugins with the loader's own spelling (the one its warnings suggest).
  const options = Object.keys(
    (configJson.properties as Record<string, JsonSchema>).Plugins.properties as JsonSchema,
  );
  for (const [lower, name] of Object.entries(OPTIONS)) {
    assert.ok(options.includes(name), `Plugins.${name} (${lower}) is not in the JSON Schema`);
  }
  for (const path of json) {
    assert.match(path.split(".").at(-1)!, /^[A-Z]/, `"${path}" is not spelt in PascalCase`);
  }
});

const defs = (configJson.$defs ?? {}) as Record<string, JsonSchema>;

/** A value that satisfies `schema`, with every property filled in, for the keys below. */
function sample(schema: JsonSchema, path: string): unknown {
  if (typeof schema.$ref === "string") {
    const ref = schema.$ref.replace("#/$defs/", "");
    const known: Record<string, unknown> = { LocalPath: "./lib", Thumbprint: "ab".repeat(32) };
    if (Object.hasOwn(known, ref)) return known[ref];
    return "default" in schema ? schema.default : sample(defs[ref], path);
  }
  if ("default" in schema && schema.default !== null) return schema.default;
  if (Array.isArray(schema.anyOf)) return sample(schema.anyOf[0] as JsonSchema, path);
  if (Array.isArray(schema.enum)) return schema.enum[0];
  switch (schema.type) {
    case "boolean":
      return true;
    case "number":
    case "integer":
      // A soft limit must be below the hard one beside it (1 here).
      return /\.Soft\w+$/.test(path) ? 0.5 : 1;
    case "array":
      return /\.Cluster\.Servers$/.test(path) ? ["nats://127.0.0.1:4222"] : [];
    case "string":
      if (schema.pattern === undefined) return "x".repeat(Math.max(1, Number(schema.minLength ?? 1)));
      if (/\.Cluster\.(HostId|Name)$/.test(path)) return "host-1";
      throw new Error(`no sample for "${path}"; extend sample() in tests/schemas_test.ts`);
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [name, sub] of Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>)) {
        out[name] = sample(sub, `${path}.${name}`);
      }
      const extra = schema.additionalProperties as JsonSchema | boolean | undefined;
      if (typeof extra === "object" && extra.type === "object") out["my.plugin"] = sample(extra, `${path}.*`);
      return out;
    }
  }
  throw new Error(`no sample for "${path}"`);
}

/** `value` with every key but plugin ids and `$schema` respelt by `spell`. */
function respell(value: unknown, spell: (key: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => respell(v, spell));
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map((
      [k, v],
    ) => [k.includes(".") || k.startsWith("$") ? k : spell(k), respell(v, spell)]),
  );
}

Deno.test("a configuration with every key of the JSON Schema, in any spelling, loads without a warning", () => {
  const full = sample(configJson, "") as Record<string, unknown>;
  assert.equal(errorsOf(validateConfig, full), undefined);
  const { config, warnings } = normalizeConfig(full, { baseDir: ROOT });
  assert.deepEqual(warnings.map((w) => `${w.field}: ${w.message}`), []);
  const spellings: Record<string, (key: string) => string> = {
    lowercase: (k) => k.toLowerCase(),
    UPPERCASE: (k) => k.toUpperCase(),
    camelCase: (k) => k[0].toLowerCase() + k.slice(1),
  };
  for (const [label, spell] of Object.entries(spellings)) {
    const variant = respell(full, spell) as Record<string, unknown>;
    assert.equal(errorsOf(validateConfig, variant), undefined, label);
    const loaded = normalizeConfig(variant, { baseDir: ROOT });
    assert.deepEqual(loaded.warnings, [], label);
    assert.deepEqual(loaded.config, config, label);
  }
});

Deno.test("the JSON Schema spells every key as the loader's hints do", () => {
  const full = sample(configJson, "") as Record<string, unknown>;
  for (const [path] of properties(configJson)) {
    if (path === "$schema") continue;
    // Misspell the key at `path` (the plugin id of a wildcard is the sample's) and read the loader's hint.
    const config = structuredClone(full);
    const segments = path.split(".").map((s) => (s === "*" ? "my.plugin" : s));
    const name = segments.pop()!;
    const parent = segments.reduce<Record<string, unknown>>(
      (o, k) => o[k] as Record<string, unknown>,
      config,
    );
    parent[`${name}${name.at(-1)}`] = parent[name];
    delete parent[name];
    const { warnings } = normalizeConfig(config, { baseDir: ROOT });
    assert.ok(
      warnings.some((w) => w.message.includes(`did you mean "${name}"?`)),
      `misspelling "${path}" does not make the loader suggest "${name}": ${warnings.map((w) => w.message)}`,
    );
  }
});

Deno.test("$schema is accepted at the top of a configuration and of a manifest, and nowhere else", () => {
  assert.ok(validateConfig({ $schema: "../schemas/host-config.schema.json" }));
  assert.equal(configProblem({ $schema: "../schemas/host-config.schema.json" }), undefined);
  assert.deepEqual(normalizeConfig({ $schema: "x" }).warnings, []);
  assert.ok(validateManifest({ $schema: "../../schemas/plugin.schema.json", ...MANIFEST }));
  assert.ok(!validateManifest({ ...MANIFEST, permissions: { $schema: "x" } }));
});
