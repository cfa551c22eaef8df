/**
 * Generates the JSON Schemas in `schemas/` from the zod schemas the loaders validate with, so editors can
 * complete and check `plugin.jsonc` and the host configuration:
 *
 * - `plugin.schema.json` from the manifest schema (src/manifest/manifest.ts);
 * - `host-config.schema.json` from the host configuration schema (src/config/_schema.ts). That schema
 *   validates the configuration after its keys were lowercased, so the keys are renamed here to the seed's
 *   PascalCase spelling, and every other spelling of a key is accepted too, as the loader matches keys without
 *   regard to case.
 *
 * What zod cannot say in JSON Schema (values parsed by code, such as durations, and strings checked by a
 * refinement) is filled in here; the generation fails, naming the key, when a schema grows something it does
 * not know how to describe. Run `deno task schemas` after changing either schema; tests/schemas_test.ts fails
 * while the committed files are stale.
 *
 * @module
 */

import { z } from "zod";
import denoJson from "../deno.json" with { type: "json" };
import { CONFIG_DEFAULTS } from "../src/config/config.ts";
import { configSchema, OPTIONS } from "../src/config/_schema.ts";
import { _manifestZod } from "../src/manifest/manifest.ts";

/** A JSON Schema (or any JSON object). */
export type JsonSchema = Record<string, unknown>;

/** The file names written into `schemas/`. */
export const SCHEMA_FILES = {
  manifest: "plugin.schema.json",
  config: "host-config.schema.json",
} as const;

const DRAFT = "https://json-schema.org/draft/2020-12/schema";
const schemaId = (file: string): string =>
  `https://jsr.io/${denoJson.name}/${denoJson.version}/schemas/${file}`;

// --- Values the loaders parse with code, described as JSON Schema --------------------------------------------

const SEMVER = "^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)" +
  "(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][a-zA-Z0-9-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][a-zA-Z0-9-]*))*))?" +
  "(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$";
/** Not blank: what `s.trim() !== ""` checks. */
const NOT_BLANK = "\\S";
/** A .NET time span as parseDuration reads it: `[d.]hh:mm[:ss[.fffffff]]`, hours 0-23, minutes and seconds 0-59. */
const TIME_SPAN = "^\\s*(?:\\d+\\.)?(?:[01]?\\d|2[0-3]):[0-5]?\\d(?::[0-5]?\\d(?:\\.\\d{1,7})?)?\\s*$";
/** An http/https/ws/wss URL, or `host:port` (the loader checks the host and the port's range). */
const ENDPOINT = "^\\s*(?:(?:[Hh][Tt][Tt][Pp][Ss]?|[Ww][Ss][Ss]?)://\\S+|\\S+:\\d{1,5})\\s*$";
/** 64 hex digits; blanks and colons between them are ignored. */
const THUMBPRINT = "^[\\s:]*(?:[0-9A-Fa-f][\\s:]*){64}$";
/** Not blank, and no URL scheme but `file:` (a one-letter "scheme" is a Windows drive). */
const LOCAL_PATH = "^(?!\\s*(?![Ff][Ii][Ll][Ee]:)[A-Za-z][A-Za-z0-9+.-]+:)\\s*\\S";
/** A plugin id as a key of the configuration: its lowercased form must be an id. */
const CONFIG_PLUGIN_ID = "^[A-Za-z0-9.-]{1,128}$";
/**
 * Relative, not leaving the folder at its start, and a module. The loader also refuses a path that leaves the
 * folder further on (`a/../../x.ts`), which a pattern cannot follow.
 */
const ENTRY = "^(?![A-Za-z][A-Za-z0-9+.-]*:|[\\\\/]|\\.\\.(?:[\\\\/]|$)).*\\.(?:ts|js|mts|mjs|tsx|jsx)$";

/** A kind of value the configuration parses with code, and its JSON Schema (in `$defs`, as `name`). */
interface ParsedKind {
  readonly kind: string;
  readonly name: string;
  /** Whether a zod schema parses values of this kind. */
  readonly probe: (schema: z.ZodType) => boolean;
  readonly json: JsonSchema;
}
const yields = (schema: z.ZodType, input: unknown, output: unknown): boolean => {
  const r = schema.safeParse(input);
  return r.success && r.data === output;
};
const refuses = (schema: z.ZodType, input: unknown): boolean => !schema.safeParse(input).success;

/**
 * The values the configuration schema parses with code (`z.unknown().transform(...)`), which zod can only
 * render as `{}`. Each is recognized by what it makes of sample inputs, so a new key of a known kind (another
 * duration, say) is described without any change here; a value that matches no kind, or more than one, stops
 * the generation.
 */
const PARSED_KINDS: readonly ParsedKind[] = [
  {
    kind: "duration",
    name: "Duration",
    probe: (s) => yields(s, "00:01:00", 60_000) && yields(s, 250, 250) && refuses(s, "250"),
    json: {
      description: 'Milliseconds, or a .NET time span: "hh:mm:ss", "hh:mm:ss.fff" or "d.hh:mm:ss".',
      anyOf: [
        { type: "number", minimum: 0, description: "Milliseconds." },
        {
          type: "string",
          pattern: TIME_SPAN,
          description: 'A .NET time span: "hh:mm:ss", "hh:mm:ss.fff" or "d.hh:mm:ss".',
        },
      ],
    },
  },
  {
    kind: "network endpoint",
    name: "NetworkEndpoint",
    probe: (s) => yields(s, "https://API.example.com", "api.example.com:443") && refuses(s, "example.com"),
    json: {
      description: 'A URL (http, https, ws, wss) or "host:port".',
      type: "string",
      pattern: ENDPOINT,
    },
  },
  {
    kind: "thumbprint",
    name: "Thumbprint",
    probe: (s) => yields(s, "AB".repeat(32), "ab".repeat(32)) && refuses(s, "ab"),
    json: {
      description:
        "A SHA-256 fingerprint: 64 hexadecimal digits; blanks and colons between them are ignored.",
      type: "string",
      pattern: THUMBPRINT,
    },
  },
  {
    kind: "local path",
    name: "LocalPath",
    probe: (s) => yields(s, " ./lib ", "./lib") && refuses(s, "https://example.com/mod.ts"),
    json: {
      description: "A path, relative to the configuration's folder, or a file: URL.",
      type: "string",
      pattern: LOCAL_PATH,
    },
  },
];

// --- The configuration: names, documentation, defaults ------------------------------------------------------

/**
 * The canonical spelling of every configuration key. The options of `Plugins` come from the loader's own table
 * (OPTIONS), so a new option is picked up without a change here; the keys of the other sections are listed.
 */
const CONFIG_NAMES: readonly string[] = [
  "Plugins",
  "PluginSecurity",
  ...Object.values(OPTIONS),
  "MaxMemoryMB",
  "MaxCpuPercent",
  "MaxHandles",
  "MaxTimers",
  "SoftMemoryMB",
  "SoftCpuPercent",
  "MaxLifetime",
  "Hostname",
  "Port",
  "Token",
  "TokenFile",
  "Logging",
  "Format",
  "Servers",
  "Name",
  "HostId",
  "CredsFile",
  "Bundles",
  "Enabled",
  "Isolation",
  "ResourceLimits",
  "Settings",
  "Replicas",
  "MaxConcurrency",
  "QueueTimeout",
  "Activation",
  "IdleTimeout",
  "AllowFileSystemAccess",
  "AllowedPaths",
  "AllowNetworkAccess",
  "AllowedNetworkEndpoints",
  "AllowedEnvironmentVariables",
  "AllowGpu",
  "AllowedNpmPackages",
  "Folder",
  "Signer",
];

const d = CONFIG_DEFAULTS;
const LIMIT_DOCS: Readonly<Record<string, string>> = {
  MaxMemoryMB: "Heap limit of a plugin, in MiB.",
  MaxCpuPercent: "CPU share of a plugin, in percent (more than 0, at most 100).",
  MaxHandles:
    "Handles a plugin may hold at once: open files, sockets, listeners, watchers, child processes and " +
    "operations in flight that hold one (default 256). Past it the call throws in the plugin. Worker-tier " +
    "plugins together also stop short of the host's reserve: its open-file limit less what it uses itself " +
    "and 256 more descriptors.",
  MaxTimers: "Timers a plugin may have pending at once (default 1024).",
  SoftMemoryMB: "Heap use, in MiB, past which the plugin's instance is retired and replaced: a fresh one " +
    "takes new calls while the old one finishes its calls. Below MaxMemoryMB when both are set here.",
  SoftCpuPercent: "CPU share, in percent (more than 0, at most 100), past which the plugin's instance is " +
    "retired and replaced, as for SoftMemoryMB. Below MaxCpuPercent when both are set here.",
  MaxLifetime: "How long an instance of the plugin may live (more than zero) before it is retired and " +
    "replaced, as for SoftMemoryMB.",
};
const limitDocs = (at: string): Record<string, JsonSchema> =>
  Object.fromEntries(Object.entries(LIMIT_DOCS).map(([k, description]) => [`${at}.${k}`, { description }]));

/**
 * Descriptions and defaults of the configuration's keys, by canonical path (`*` is any plugin id). The
 * defaults are read from CONFIG_DEFAULTS.
 */
const CONFIG_DOCS: Readonly<Record<string, JsonSchema>> = {
  "$schema": { description: "The JSON Schema of this file, for editors; the host ignores it." },
  "Plugins": {
    description:
      "The host's options, and the host's settings for each plugin as a block keyed by the plugin id.",
  },
  "Plugins.PluginsDirectory": {
    description: "The folder plugins are discovered in, relative to this file.",
    default: d.pluginsDirectory,
  },
  "Plugins.EnableHotReload": {
    description: "Reload a plugin when its files change.",
    default: d.enableHotReload,
  },
  "Plugins.ReloadDelay": { description: "Debounce before a hot reload.", default: d.reloadDelayMs },
  "Plugins.HealthCheckInterval": {
    description: "Interval between health checks.",
    default: d.healthCheckIntervalMs,
  },
  "Plugins.EnableMetrics": { description: "Collect metrics.", default: d.enableMetrics },
  "Plugins.CallTimeout": { description: "Timeout of a call or a lifecycle hook.", default: d.callTimeoutMs },
  "Plugins.DrainTimeout": {
    description: "How long a stopping plugin may finish the calls it has already accepted.",
    default: d.drainTimeoutMs,
  },
  "Plugins.Activation": {
    description: 'When plugins start: "eager" with the host, "lazy" at their first call. A plugin ' +
      "block's Activation overrides it.",
    default: d.activation,
  },
  "Plugins.ResourceLimits": {
    description: "Default limits of every plugin; a plugin block's ResourceLimits override them.",
  },
  ...limitDocs("Plugins.ResourceLimits"),
  "Plugins.ValidateSignatures": {
    description: "Load only plugins signed by a key in TrustedCertificateThumbprints.",
    default: d.validateSignatures,
  },
  "Plugins.TrustedCertificateThumbprints": {
    description:
      "SHA-256 fingerprints of trusted Ed25519 public keys: 64 hexadecimal digits (blanks and colons ignored).",
  },
  "Plugins.SharedModules": {
    description:
      "Modules (files or folders) every plugin may import and read (the seed's shared assemblies): " +
      "paths relative to this file, or file: URLs.",
  },
  "Plugins.ProbingPaths": {
    description: "Folders every plugin may read and load modules from (the seed's probing paths): " +
      "paths relative to this file, or file: URLs.",
  },
  "Plugins.Admin": { description: "The admin API." },
  "Plugins.Admin.Hostname": {
    description: "The interface the admin API listens on; beyond loopback it needs a Token.",
    default: d.admin.hostname,
  },
  "Plugins.Admin.Port": { description: "The admin API's port; 0 picks a free one.", default: d.admin.port },
  "Plugins.Admin.Token": {
    description: "The bearer token every route but /health requires (16 bytes or more); null for none. " +
      "Without Token and TokenFile, the environment's DOTCOMPUTE_ADMIN_TOKEN is used.",
    default: d.admin.token,
  },
  "Plugins.Admin.TokenFile": {
    description:
      "A file whose content (less a trailing newline) is the admin token, read when the admin API " +
      "starts; relative to this file. Token wins when both are set.",
  },
  "Plugins.Logging": { description: "How the command line (run) writes log records." },
  "Plugins.Logging.Format": {
    description:
      "text: one readable line a record, its properties after the message; json: one JSON object a " +
      "line with timestamp, level, category, pluginId, message and every property. run --log-format overrides it.",
    default: d.logging.format,
  },
  "Plugins.Cluster": {
    description:
      "The fleet this host joins over NATS: hosts with one Name on the same servers form one fleet.",
  },
  "Plugins.Cluster.Servers": {
    description: 'NATS servers ("nats://127.0.0.1:4222" or "host:port"), tried in order.',
    default: ["nats://127.0.0.1:4222"],
  },
  "Plugins.Cluster.Name": { description: "The fleet's name (a NATS subject token).", default: "dotcompute" },
  "Plugins.Cluster.HostId": {
    description: "This host's id in the fleet (a NATS subject token); default: the hostname and the pid.",
  },
  "Plugins.Cluster.Token": { description: "The NATS server's token; TokenFile is read when it is absent." },
  "Plugins.Cluster.TokenFile": {
    description: "A file whose content (less a trailing newline) is the NATS token; relative to this file.",
  },
  "Plugins.Cluster.CredsFile": { description: "A NATS credentials file (user JWT and NKey seed)." },
  "Plugins.Cluster.Bundles": {
    description: "Install the signed bundles published to the fleet (publish DIR --cluster URL).",
    default: false,
  },
  "Plugins.*": {
    description: "The host's settings for the plugin with this id (ids match without regard to case).",
  },
  "Plugins.*.Enabled": { description: "Whether the host loads the plugin.", default: d.plugin.enabled },
  "Plugins.*.Isolation": {
    description: 'How the plugin is isolated: "worker" (a Deno worker) or "process" (a subprocess).',
    default: d.plugin.isolation,
  },
  "Plugins.*.ResourceLimits": { description: "The plugin's own limits; they override the host-wide ones." },
  ...limitDocs("Plugins.*.ResourceLimits"),
  "Plugins.*.Settings": {
    description: "Settings handed to the plugin, over its manifest's; the keys keep their case.",
  },
  "Plugins.*.Replicas": {
    description: "Instances of the plugin run at once (1 to 64); the plugin must declare the Scalable " +
      "capability.",
  },
  "Plugins.*.MaxConcurrency": {
    description: "Calls in flight per replica; more wait in a queue.",
  },
  "Plugins.*.QueueTimeout": {
    description: "How long a call may wait in that queue (more than zero).",
  },
  "Plugins.*.Activation": {
    description: 'When the plugin starts: "eager" with the host, "lazy" at its first call; ' +
      "default: Plugins.Activation.",
  },
  "Plugins.*.IdleTimeout": {
    description: "Stop the plugin after this long without a call (more than zero).",
  },
  "PluginSecurity": {
    description:
      "The most each plugin may be granted, by plugin id. A plugin without an entry gets no file, " +
      "network, environment, subprocess, FFI or system-information access at all.",
  },
  "PluginSecurity.*": {
    description: "The most this plugin may be granted, narrowing what its manifest asks for.",
  },
  "PluginSecurity.*.AllowFileSystemAccess": {
    description: "Whether any file access may be granted.",
    default: false,
  },
  "PluginSecurity.*.AllowedPaths": {
    description: "The paths file access is confined to, relative to this file.",
  },
  "PluginSecurity.*.AllowNetworkAccess": {
    description: "Whether any network access may be granted.",
    default: false,
  },
  "PluginSecurity.*.AllowedNetworkEndpoints": {
    description: 'The endpoints the plugin may reach: URLs (http, https, ws, wss) or "host:port".',
  },
  "PluginSecurity.*.AllowedEnvironmentVariables": {
    description: 'The variables the plugin may read; a trailing "*" makes an entry a prefix ("MY_*").',
  },
  "PluginSecurity.*.AllowGpu": {
    description: "Whether the plugin may see WebGPU (navigator.gpu), which Deno offers without a permission.",
    default: false,
  },
  "PluginSecurity.*.AllowedNpmPackages": {
    description:
      'npm packages ("zod", "@scope/name") the plugin may import; an npm: import of any other is refused ' +
      "before anything is downloaded.",
  },
  "PluginSecurity.*.Folder": {
    description: "The only plugin folder that may claim this id, relative to this file.",
  },
  "PluginSecurity.*.Signer": {
    description: "The only signer (a key thumbprint) whose signature may claim this id.",
  },
};

/** Extra constraints by canonical path: what the loader checks beyond the zod types. */
const CONFIG_EXTRA: Readonly<Record<string, JsonSchema>> = {
  "Plugins": { propertyNames: { pattern: CONFIG_PLUGIN_ID } },
  "PluginSecurity": { propertyNames: { pattern: CONFIG_PLUGIN_ID } },
};

/** What the configuration's refinements check, by path (16 characters are at least the 16 bytes it asks). */
const CONFIG_REFINED: Readonly<Record<string, JsonSchema>> = {
  "Plugins.Admin.Token": { minLength: 16 },
};

/** Keys that may be `null` (the loader treats a null key as unset; only these document it). */
const CONFIG_NULLABLE: ReadonlySet<string> = new Set(["Plugins.Admin.Token"]);

// --- The manifest: documentation and refinements -------------------------------------------------------------

const MANIFEST_DOCS: Readonly<Record<string, JsonSchema>> = {
  "$schema": { description: "The JSON Schema of this file, for editors; the host ignores it." },
  "id": { description: "The plugin's id: lowercase letters, digits, '.' and '-'; at most 128 characters." },
  "name": { description: "The plugin's display name." },
  "version": { description: "The plugin's version (semver)." },
  "description": { description: "What the plugin does." },
  "author": { description: "Who wrote the plugin." },
  "entry": {
    description: "The entry module, relative to the plugin folder; it must stay inside the folder.",
  },
  "capabilities": { description: "The seed capabilities the plugin implements." },
  "provides": { description: "Capability id -> the version of it that this plugin offers." },
  "provides.*": { description: "The version of the capability (semver)." },
  "dependencies": {
    description: "Plugin or capability id -> the semver range of it that this plugin needs to start.",
  },
  "dependencies.*": { description: "A semver range, such as ^2.0.0." },
  "optionalDependencies": {
    description:
      "Plugin or capability id -> the semver range of it that this plugin uses when present; never a reason not to start.",
  },
  "optionalDependencies.*": { description: "A semver range, such as ^1.0.0." },
  "permissions": { description: "What the plugin asks for; the host configuration decides what it gets." },
  "permissions.read": { description: "Paths to read, relative to the plugin folder or absolute." },
  "permissions.write": { description: "Paths to write, relative to the plugin folder or absolute." },
  "permissions.net": { description: 'Hosts to reach: "host" or "host:port".' },
  "permissions.env": { description: 'Environment variables to read; a trailing "*" asks for a prefix.' },
  "permissions.npm": {
    description:
      'npm packages ("zod", "@scope/name") the plugin imports; PluginSecurity AllowedNpmPackages ' +
      "must name them too. Any other npm: import refuses the plugin's start (or the import).",
  },
  "settings": {
    description: "Default settings, overridden by the plugin's Settings in the host configuration.",
  },
  "idempotent": {
    description: "Methods safe to retry once on another replica when the replica running the call is lost.",
  },
  "idempotent[]": { description: "A method's name." },
};

/**
 * What the manifest's refinements check, by path. Every string with a refinement must be listed: the
 * generation stops at one that is not.
 */
const MANIFEST_REFINED: Readonly<Record<string, JsonSchema>> = {
  // The one name of Object.prototype that fits the id pattern.
  "id": { not: { const: "constructor" } },
  "name": { pattern: NOT_BLANK },
  "version": { pattern: SEMVER },
  "entry": { pattern: ENTRY },
  "provides.*": { pattern: SEMVER },
  "dependencies.*": { pattern: NOT_BLANK },
  "optionalDependencies.*": { pattern: NOT_BLANK },
  "permissions.read[]": { pattern: NOT_BLANK },
  "permissions.write[]": { pattern: NOT_BLANK },
  "permissions.net[]": { pattern: NOT_BLANK },
  "permissions.env[]": { pattern: NOT_BLANK },
  "idempotent[]": { pattern: NOT_BLANK },
};

// --- The conversion -------------------------------------------------------------------------------------------

interface Def {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly catchall?: z.ZodType;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly out?: z.ZodType;
  readonly element?: z.ZodType;
  readonly valueType?: z.ZodType;
  readonly checks?: readonly { readonly _zod: { readonly def: { readonly check: string } } }[];
}
const defOf = (schema: z.ZodType): Def => schema._zod.def as unknown as Def;
const WRAPPERS = new Set(["optional", "nonoptional", "default", "prefault", "catch", "readonly"]);

interface Rules {
  /** The canonical name of a key of the zod schema at `path`. */
  readonly rename: (key: string, path: string) => string;
  /** Close objects and accept every spelling of their keys (the configuration). */
  readonly caseInsensitive: boolean;
  /** Merged into the schema at a path. */
  readonly annotate: (path: string) => JsonSchema | undefined;
  /** What a string's refinement checks, at a path (undefined: not known). */
  readonly refined: (path: string) => JsonSchema | undefined;
  readonly nullable: (path: string) => boolean;
  /** The kinds of parsed values met so far; they go into `$defs`. */
  readonly used: Set<ParsedKind>;
}

const join = (path: string, key: string): string => (path === "" ? key : `${path}.${key}`);
const pointer = (ptr: string, ...segments: string[]): string =>
  [ptr, ...segments.map((s) => s.replace(/~/g, "~0").replace(/\//g, "~1"))].join("/");
const escapeRegex = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
/** A pattern for one character in either case. */
const eitherCase = (c: string): string =>
  c.toLowerCase() === c.toUpperCase() ? escapeRegex(c) : `[${c.toUpperCase()}${c.toLowerCase()}]`;
/** A pattern matching every other spelling of `name` (its letters in any case), not `name` itself. */
const otherSpellings = (name: string): string =>
  `^(?!${escapeRegex(name)}$)${[...name].map(eitherCase).join("")}$`;

/** What a parsed value (`z.unknown().transform(...)`) is: a reference into `$defs`. */
function parsedValue(schema: z.ZodType, path: string, rules: Rules): JsonSchema {
  const kinds = PARSED_KINDS.filter((k) => k.probe(schema));
  if (kinds.length !== 1) {
    throw new Error(
      `"${path}" is parsed by code that ${
        kinds.length === 0 ? "matches no known kind" : `matches several kinds (${kinds.map((k) => k.kind)})`
      }; describe it in PARSED_KINDS of scripts/gen_schemas.ts`,
    );
  }
  rules.used.add(kinds[0]);
  return { $ref: `#/$defs/${kinds[0].name}` };
}

/** The `$defs` of the kinds of parsed values used, in PARSED_KINDS's order. */
const defsOf = (rules: Rules): JsonSchema | undefined =>
  rules.used.size === 0 ? undefined : Object.fromEntries(
    PARSED_KINDS.filter((k) => rules.used.has(k)).map((k) => [k.name, structuredClone(k.json)]),
  );

/**
 * Rebuilds the JSON Schema zod made of `schema` (`json`), walking both together: renames keys, fills in parsed
 * values and refinements, and adds the annotations of the path. `path` is the canonical path, `ptr` the JSON
 * pointer of the result in the final document.
 */
function convert(schema: z.ZodType, json: JsonSchema, path: string, ptr: string, rules: Rules): JsonSchema {
  let out = rebuild(schema, json, path, ptr, rules);
  if (rules.nullable(path)) out = { anyOf: [out, { type: "null" }] };
  return { ...out, ...rules.annotate(path) };
}

/** {@linkcode convert} without the annotations of the path (for the schemas a wrapper or a pipe holds). */
function rebuild(schema: z.ZodType, json: JsonSchema, path: string, ptr: string, rules: Rules): JsonSchema {
  const def = defOf(schema);
  let out: JsonSchema = { ...json };
  if (WRAPPERS.has(def.type) && def.innerType) {
    // The wrapper's own keywords (a default) stay: `json` is the wrapper's schema.
    out = { ...json, ...rebuild(def.innerType, json, path, ptr, rules) };
  } else if (def.type === "pipe" && def.in && def.out) {
    const from = defOf(def.in).type;
    if (from === "unknown" && defOf(def.out).type === "transform") out = parsedValue(schema, path, rules);
    // A preprocess (transform -> schema) reads as its schema in input mode; any other pipe as its input.
    else out = rebuild(from === "transform" ? def.out : def.in, json, path, ptr, rules);
  } else if (def.type === "object" && def.shape) {
    const from = (json.properties ?? {}) as Record<string, JsonSchema>;
    const properties: Record<string, JsonSchema> = {};
    const patterns: Record<string, JsonSchema> = {};
    for (const [key, value] of Object.entries(def.shape)) {
      const name = rules.rename(key, path);
      const at = pointer(ptr, "properties", name);
      properties[name] = convert(value, from[key] ?? {}, join(path, name), at, rules);
      if (rules.caseInsensitive) patterns[otherSpellings(name)] = { $ref: at };
    }
    out.properties = properties;
    if (Object.keys(patterns).length > 0) out.patternProperties = patterns;
    if (Array.isArray(json.required)) {
      out.required = json.required.map((key) => rules.rename(String(key), path));
    }
    const rest = def.catchall === undefined ? undefined : defOf(def.catchall).type;
    if (rest === "never" || (rest === undefined && rules.caseInsensitive)) {
      out.additionalProperties = false; // a strict object; or the loader warns about unknown keys
    } else if (def.catchall !== undefined && rest !== "unknown") {
      out.additionalProperties = convert(
        def.catchall,
        (json.additionalProperties ?? {}) as JsonSchema,
        join(path, "*"),
        pointer(ptr, "additionalProperties"),
        rules,
      );
    }
  } else if (def.type === "record" && def.valueType) {
    out.additionalProperties = convert(
      def.valueType,
      (json.additionalProperties ?? {}) as JsonSchema,
      join(path, "*"),
      pointer(ptr, "additionalProperties"),
      rules,
    );
  } else if (def.type === "array" && def.element) {
    out.items = convert(
      def.element,
      (json.items ?? {}) as JsonSchema,
      `${path}[]`,
      pointer(ptr, "items"),
      rules,
    );
  } else if (def.checks?.some((c) => c._zod.def.check === "custom")) {
    const refined = rules.refined(path);
    if (refined === undefined) {
      throw new Error(
        `"${path}" has a refinement JSON Schema cannot see; say what it checks in scripts/gen_schemas.ts`,
      );
    }
    out = { ...out, ...refined };
  }
  return out;
}

// Fixed keyword order, so the files only change when the schemas do.
const KEYWORDS = [
  "$schema",
  "$id",
  "$ref",
  "title",
  "description",
  "type",
  "enum",
  "const",
  "default",
  "minimum",
  "exclusiveMinimum",
  "maximum",
  "exclusiveMaximum",
  "minLength",
  "maxLength",
  "pattern",
  "items",
  "properties",
  "patternProperties",
  "propertyNames",
  "additionalProperties",
  "required",
  "anyOf",
  "oneOf",
  "allOf",
  "$defs",
];
const SUBSCHEMA = new Set(["items", "propertyNames", "additionalProperties", "not"]);
const SUBSCHEMA_MAP = new Set(["properties", "patternProperties", "$defs"]);
const SUBSCHEMA_LIST = new Set(["anyOf", "oneOf", "allOf", "prefixItems"]);

const isObject = (v: unknown): v is JsonSchema => typeof v === "object" && v !== null && !Array.isArray(v);
const rank = (key: string): number => {
  const i = KEYWORDS.indexOf(key);
  return i < 0 ? KEYWORDS.length : i;
};

/** The schema with its keywords in a fixed order (and the maps of subschemas in their own order). */
function ordered(schema: JsonSchema): JsonSchema {
  const keys = Object.keys(schema).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  const out: JsonSchema = {};
  for (const key of keys) {
    const value = schema[key];
    if (SUBSCHEMA.has(key) && isObject(value)) out[key] = ordered(value);
    else if (SUBSCHEMA_MAP.has(key) && isObject(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, isObject(v) ? ordered(v) : v]),
      );
    } else if (SUBSCHEMA_LIST.has(key) && Array.isArray(value)) {
      out[key] = value.map((v) => isObject(v) ? ordered(v) : v);
    } else out[key] = value;
  }
  return out;
}

const toJson = (schema: z.ZodType): JsonSchema =>
  z.toJSONSchema(schema, { target: "draft-2020-12", io: "input", unrepresentable: "any" }) as JsonSchema;
const text = (schema: JsonSchema): string => JSON.stringify(ordered(schema), null, 2) + "\n";

/** The JSON Schema of `plugin.jsonc`. */
export function manifestJsonSchema(): JsonSchema {
  const rules: Rules = {
    rename: (key) => key,
    caseInsensitive: false,
    annotate: (path) => MANIFEST_DOCS[path],
    refined: (path) => MANIFEST_REFINED[path],
    nullable: () => false,
    used: new Set(),
  };
  const { $schema: _, ...body } = convert(_manifestZod, toJson(_manifestZod), "", "#", rules);
  const $defs = defsOf(rules);
  return {
    $schema: DRAFT,
    $id: schemaId(SCHEMA_FILES.manifest),
    title: "DotCompute plugin manifest",
    description: "A plugin's manifest: plugin.jsonc (JSONC: comments and trailing commas allowed) or " +
      "plugin.json, in the plugin's folder next to its entry module.",
    ...body,
    ...($defs === undefined ? {} : { $defs }),
  };
}

/** The JSON Schema of the host configuration, with the seed's PascalCase keys. */
export function configJsonSchema(): JsonSchema {
  const names = new Map(CONFIG_NAMES.map((name) => [name.toLowerCase(), name]));
  const rules: Rules = {
    rename: (key, path) => {
      const name = names.get(key);
      if (name === undefined) {
        throw new Error(
          `the configuration key "${join(path, key)}" has no canonical spelling; ` +
            "add it to CONFIG_NAMES in scripts/gen_schemas.ts",
        );
      }
      return name;
    },
    caseInsensitive: true,
    annotate: (path) => ({ ...CONFIG_EXTRA[path], ...CONFIG_DOCS[path] }),
    refined: (path) => CONFIG_REFINED[path],
    nullable: (path) => CONFIG_NULLABLE.has(path),
    used: new Set(),
  };
  const { $schema: _, properties, ...body } = convert(configSchema, toJson(configSchema), "", "#", rules);
  const $defs = defsOf(rules);
  return {
    $schema: DRAFT,
    $id: schemaId(SCHEMA_FILES.config),
    title: "DotCompute plugin host configuration",
    description: "The host configuration (JSONC), in the seed's layout. Keys match without regard to case; " +
      'durations are milliseconds or .NET time spans ("hh:mm:ss").',
    ...body,
    properties: { $schema: { type: "string", ...CONFIG_DOCS.$schema }, ...(properties as JsonSchema) },
    ...($defs === undefined ? {} : { $defs }),
  };
}

/**
 * The files of `schemas/`: file name -> text (2-space indent, fixed key order, trailing newline). Pure: it
 * reads nothing from disk.
 *
 * @example
 * ```ts
 * import { generateSchemas } from "./gen_schemas.ts";
 * console.log(Object.keys(generateSchemas())); // ["plugin.schema.json", "host-config.schema.json"]
 * ```
 */
export function generateSchemas(): Record<string, string> {
  return {
    [SCHEMA_FILES.manifest]: text(manifestJsonSchema()),
    [SCHEMA_FILES.config]: text(configJsonSchema()),
  };
}

if (import.meta.main) {
  const dir = new URL("../schemas/", import.meta.url);
  await Deno.mkdir(dir, { recursive: true });
  for (const [file, content] of Object.entries(generateSchemas())) {
    const url = new URL(file, dir);
    const old = await Deno.readTextFile(url).catch(() => undefined);
    if (old === content) {
      console.log(`schemas/${file} is up to date`);
      continue;
    }
    await Deno.writeTextFile(url, content);
    console.log(`wrote schemas/${file}`);
  }
}
