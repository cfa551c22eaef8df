/**
 * The shape of the host configuration after its keys were lowercased: the known keys (for the "did you mean"
 * warnings), the zod schema, and the step from validated data to a frozen {@linkcode HostConfig}.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "../_npm/zod.ts";
import type { ConfigDefaults, HostConfig, PluginConfig, ResourceLimits, SecurityEntry } from "./types.ts";
import type { Segment } from "./_parse.ts";
import { isPluginId, normalizeEndpoint, type Parsed, parseDuration } from "./_values.ts";
import { suggest } from "../_common/suggest.ts";

type Names = Readonly<Record<string, string>>;
const TOP: Names = { plugins: "Plugins", pluginsecurity: "PluginSecurity" };
/** The options of the `Plugins` section; every other object-valued key there is a plugin block. */
export const OPTIONS: Names = {
  pluginsdirectory: "PluginsDirectory",
  enablehotreload: "EnableHotReload",
  reloaddelay: "ReloadDelay",
  healthcheckinterval: "HealthCheckInterval",
  enablemetrics: "EnableMetrics",
  calltimeout: "CallTimeout",
  draintimeout: "DrainTimeout",
  resourcelimits: "ResourceLimits",
  validatesignatures: "ValidateSignatures",
  trustedcertificatethumbprints: "TrustedCertificateThumbprints",
  sharedmodules: "SharedModules",
  probingpaths: "ProbingPaths",
  admin: "Admin",
  logging: "Logging",
};
const LOGGING: Names = { format: "Format" };
const LIMITS: Names = {
  maxmemorymb: "MaxMemoryMB",
  maxcpupercent: "MaxCpuPercent",
  maxhandles: "MaxHandles",
  maxtimers: "MaxTimers",
};
const ADMIN: Names = { hostname: "Hostname", port: "Port", token: "Token", tokenfile: "TokenFile" };
const BLOCK: Names = {
  enabled: "Enabled",
  isolation: "Isolation",
  resourcelimits: "ResourceLimits",
  settings: "Settings",
};
const SECURITY: Names = {
  allowfilesystemaccess: "AllowFileSystemAccess",
  allowedpaths: "AllowedPaths",
  allownetworkaccess: "AllowNetworkAccess",
  allowednetworkendpoints: "AllowedNetworkEndpoints",
  allowedenvironmentvariables: "AllowedEnvironmentVariables",
  allowgpu: "AllowGpu",
  allowednpmpackages: "AllowedNpmPackages",
  folder: "Folder",
  signer: "Signer",
};

/** A warning found by {@linkcode scanKeys}, at the key of a normalized path. */
export interface KeyWarning {
  readonly path: readonly Segment[];
  readonly message: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const has = (names: Names, key: string): boolean => Object.hasOwn(names, key);
const hint = (key: string, names: Names): string => {
  const best = suggest(key, Object.keys(names));
  return best === undefined ? "" : `; did you mean "${names[best]}"?`;
};

/** Whether the path is `plugins.<id>.settings`, whose keys belong to the plugin and keep their case. */
export function isSettingsPath(path: readonly Segment[]): boolean {
  return path.length === 3 && path[0] === "plugins" && path[2] === "settings" &&
    !has(OPTIONS, String(path[1]));
}

/**
 * Warns about unknown keys (with a hint) and removes the non-object unknown keys of `Plugins`, which would
 * otherwise be taken for malformed plugin blocks. `written` gives a key as the file spells it.
 */
export function scanKeys(root: unknown, written: (path: readonly Segment[]) => string): KeyWarning[] {
  const warnings: KeyWarning[] = [];
  const unknown = (obj: unknown, names: Names, path: readonly Segment[]): void => {
    if (!isObj(obj)) return;
    for (const key of Object.keys(obj)) {
      if (has(names, key) || key.startsWith("$")) continue;
      const at = [...path, key];
      warnings.push({ path: at, message: `unknown key "${written(at)}" is ignored${hint(key, names)}` });
    }
  };
  const badId = (path: readonly Segment[]): void => {
    const id = String(path[path.length - 1]);
    if (isPluginId(id)) return;
    warnings.push({
      path,
      message:
        `no plugin can have the id "${id}" (lowercase letters, digits, "." and "-"); the entry is never used`,
    });
  };
  if (!isObj(root)) return warnings;
  unknown(root, TOP, []);
  const plugins = root.plugins;
  if (isObj(plugins)) {
    for (const [key, value] of Object.entries(plugins)) {
      const at = ["plugins", key];
      if (has(OPTIONS, key)) continue;
      if (!isObj(value)) {
        delete plugins[key];
        warnings.push({
          path: at,
          message: `unknown option "${written(at)}" is ignored (only an object here is a plugin block)${
            hint(key, OPTIONS)
          }`,
        });
        continue;
      }
      const near = key.includes(".") ? "" : hint(key, OPTIONS);
      if (near) warnings.push({ path: at, message: `"${written(at)}" is taken as a plugin block${near}` });
      badId(at);
      unknown(value, BLOCK, at);
      unknown(value.resourcelimits, LIMITS, [...at, "resourcelimits"]);
    }
    unknown(plugins.resourcelimits, LIMITS, ["plugins", "resourcelimits"]);
    unknown(plugins.admin, ADMIN, ["plugins", "admin"]);
    unknown(plugins.logging, LOGGING, ["plugins", "logging"]);
  }
  if (isObj(root.pluginsecurity)) {
    for (const [key, value] of Object.entries(root.pluginsecurity)) {
      badId(["pluginsecurity", key]);
      unknown(value, SECURITY, ["pluginsecurity", key]);
    }
  }
  return warnings;
}

// The .NET binder reads every value from text, so "true" and "512" are accepted as well.
const coerceBool = (v: unknown): unknown =>
  typeof v === "string" && /^\s*(true|false)\s*$/i.test(v) ? v.trim().toLowerCase() === "true" : v;
const coerceNumber = (v: unknown): unknown =>
  typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : v;
const OBJECT = { error: "must be an object" };
const bool = z.preprocess(coerceBool, z.boolean({ error: "must be true or false" }));
const num = () => z.number({ error: "must be a number" });
const string = z.string({ error: "must be a string" }).trim().min(1, { error: "must not be empty" });
const strings = z.array(string, { error: "must be an array of strings" });
const parsed = <T>(parse: (v: unknown) => Parsed<T>) =>
  z.unknown().transform((v, ctx): T => {
    const r = parse(v);
    if (r.ok) return r.value;
    ctx.issues.push({ code: "custom", message: r.reason, input: v });
    return z.NEVER;
  });
const duration = parsed(parseDuration).optional();
// A zero CallTimeout would fail every call at once: it must be positive (the fuzzer found it accepted).
const positiveDuration = parsed((v): Parsed<number> => {
  const r = parseDuration(v);
  return r.ok && r.value === 0 ? { ok: false, reason: "must be more than zero" } : r;
}).optional();
const endpoint = parsed((v) =>
  typeof v === "string"
    ? normalizeEndpoint(v)
    : { ok: false, reason: 'must be a string: a URL or "host:port"' }
);
const thumbprint = parsed((v): Parsed<string> => {
  const hex = typeof v === "string" ? v.replace(/[\s:]/g, "").toLowerCase() : "";
  return /^[0-9a-f]{64}$/.test(hex)
    ? { ok: true, value: hex }
    : { ok: false, reason: "must be a SHA-256 fingerprint: 64 hexadecimal digits" };
});
// A local path, or a file: URL (made a path); any other scheme (jsr:, https:...) is refused, as a plugin is
// never granted remote imports. A one-letter "scheme" is a Windows drive.
const localPath = parsed((v): Parsed<string> => {
  if (typeof v !== "string") return { ok: false, reason: "must be a string" };
  const text = v.trim();
  if (text === "") return { ok: false, reason: "must not be empty" };
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(text)?.[1].toLowerCase();
  if (scheme === undefined) return { ok: true, value: text };
  if (scheme !== "file") {
    return {
      ok: false,
      reason: `"${v}" is not a local path: only paths and file: URLs (no ${scheme}: modules)`,
    };
  }
  try {
    return { ok: true, value: fileURLToPath(text) };
  } catch (e) {
    return { ok: false, reason: `"${v}" is not a valid file: URL (${e instanceof Error ? e.message : e})` };
  }
});
const localPaths = z.array(localPath, { error: "must be an array of paths" });
const envName = string.regex(/^[^=\0*]*\*?$/, {
  error: 'must be a variable name, or a prefix ending in "*"; no "=" and no other "*"',
});

// An npm package name as the registry spells it (`zod`, `@scope/name`), without a version: the package is
// allowed in whatever version the host's resolution picks.
const npmPackage = string.regex(/^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/, {
  error: 'must be an npm package name ("zod", "@scope/name"), without "npm:" or a version',
});

const limits = z.object({
  maxmemorymb: z.preprocess(coerceNumber, num().gt(0, { error: "must be greater than 0" })).optional(),
  maxcpupercent: z.preprocess(coerceNumber, num().gt(0).lte(100, { error: "must be in (0, 100]" }))
    .optional(),
  maxhandles: z.preprocess(coerceNumber, num().int({ error: "must be an integer" }).min(1)).optional(),
  maxtimers: z.preprocess(coerceNumber, num().int({ error: "must be an integer" }).min(1)).optional(),
}, OBJECT);
const pluginBlock = z.object({
  enabled: bool.optional(),
  isolation: z.preprocess(
    (v) => typeof v === "string" ? v.trim().toLowerCase() : v,
    z.enum(["worker", "process"], { error: 'must be "worker" or "process"' }),
  ).optional(),
  resourcelimits: limits.optional(),
  settings: z.record(z.string(), z.unknown(), OBJECT).optional(),
}, OBJECT);
const security = z.object({
  allowfilesystemaccess: bool.optional(),
  allowedpaths: strings.optional(),
  allownetworkaccess: bool.optional(),
  allowednetworkendpoints: z.array(endpoint, { error: "must be an array" }).optional(),
  allowedenvironmentvariables: z.array(envName, { error: "must be an array of strings" }).optional(),
  allowgpu: bool.optional(),
  allowednpmpackages: z.array(npmPackage, { error: "must be an array of npm package names" }).optional(),
  folder: localPath.optional(),
  signer: thumbprint.optional(),
}, OBJECT);
const port = z.preprocess(coerceNumber, num().int({ error: "must be an integer" }).min(0).max(65535));

/** The shortest admin token accepted, in UTF-8 bytes: a guessable token guards nothing. */
export const MIN_TOKEN_BYTES = 16;

/** Why `token` is refused as an admin token, or undefined when it is long enough. */
export function weakToken(token: string): string | undefined {
  const bytes = new TextEncoder().encode(token).length;
  return bytes >= MIN_TOKEN_BYTES
    ? undefined
    : `is ${bytes} bytes; an admin token needs at least ${MIN_TOKEN_BYTES} ` +
      "(a random one: openssl rand -hex 16)";
}

const adminToken = z.string({ error: "must be a string or null" }).min(1, { error: "must not be empty" })
  .superRefine((token, ctx) => {
    const why = token === "" ? undefined : weakToken(token); // an empty one is refused above
    if (why) ctx.addIssue({ code: "custom", message: why });
  });

/** The schema of the whole (lowercased) configuration. */
export const configSchema = z.object({
  plugins: z.object({
    pluginsdirectory: string.optional(),
    enablehotreload: bool.optional(),
    reloaddelay: duration,
    healthcheckinterval: duration,
    enablemetrics: bool.optional(),
    calltimeout: positiveDuration,
    draintimeout: duration,
    resourcelimits: limits.optional(),
    validatesignatures: bool.optional(),
    trustedcertificatethumbprints: z.array(thumbprint, { error: "must be an array" }).optional(),
    sharedmodules: localPaths.optional(),
    probingpaths: localPaths.optional(),
    admin: z.object({
      hostname: string.optional(),
      port: port.optional(),
      token: adminToken.optional(),
      tokenfile: string.optional(),
    }, OBJECT).optional(),
    logging: z.object({
      format: z.enum(["text", "json"], { error: 'must be "text" or "json"' }).optional(),
    }, OBJECT).optional(),
  }, OBJECT).catchall(pluginBlock).optional(),
  pluginsecurity: z.record(z.string(), security, OBJECT).optional(),
}, { error: "the configuration must be a JSON object" });

type Data = z.output<typeof configSchema>;
type Limits = z.output<typeof limits>;

const toLimits = (l: Limits | undefined): ResourceLimits =>
  Object.freeze({
    ...(l?.maxmemorymb === undefined ? {} : { maxMemoryMB: l.maxmemorymb }),
    ...(l?.maxcpupercent === undefined ? {} : { maxCpuPercent: l.maxcpupercent }),
    ...(l?.maxhandles === undefined ? {} : { maxHandles: l.maxhandles }),
    ...(l?.maxtimers === undefined ? {} : { maxTimers: l.maxtimers }),
  });
const unique = <T>(list: readonly T[]): readonly T[] => Object.freeze([...new Set(list)]);
const absolute = (baseDir: string, paths: readonly string[] | undefined): readonly string[] =>
  unique((paths ?? []).map((path) => isAbsolute(path) ? resolve(path) : resolve(baseDir, path)));

/** Turns validated data into a frozen {@linkcode HostConfig}, filling in defaults. */
export function buildConfig(
  data: Data,
  defaults: ConfigDefaults,
  baseDir: string,
  configFile: string | undefined,
): HostConfig {
  const d = defaults;
  const p = data.plugins ?? {};
  // Keyed by ids from the file: built with Object.fromEntries (own properties, never a prototype write even for
  // "__proto__" or "constructor"), read with Object.hasOwn (config.ts here).
  const plugins: Record<string, PluginConfig> = Object.fromEntries(
    Object.entries(p).filter(([id]) => !has(OPTIONS, id)).map(([id, raw]) => {
      const block = raw as z.output<typeof pluginBlock>;
      return [
        id,
        Object.freeze({
          enabled: block.enabled ?? d.plugin.enabled,
          isolation: block.isolation ?? d.plugin.isolation,
          resourceLimits: toLimits(block.resourcelimits),
          settings: block.settings ?? {},
        }),
      ];
    }),
  );
  const securityEntries: Record<string, SecurityEntry> = Object.fromEntries(
    Object.entries(data.pluginsecurity ?? {}).map(([id, s]) => [
      id,
      Object.freeze({
        allowFileSystemAccess: s.allowfilesystemaccess ?? false,
        allowedPaths: absolute(baseDir, s.allowedpaths),
        allowNetworkAccess: s.allownetworkaccess ?? false,
        allowedNetworkEndpoints: unique(s.allowednetworkendpoints ?? []),
        allowedEnvironmentVariables: unique(s.allowedenvironmentvariables ?? []),
        // Absent unless written, so that an entry without them reads as it always did.
        ...(s.allowgpu === undefined ? {} : { allowGpu: s.allowgpu }),
        ...(s.allowednpmpackages === undefined ? {} : { allowedNpmPackages: unique(s.allowednpmpackages) }),
        ...(s.folder === undefined ? {} : { folder: absolute(baseDir, [s.folder])[0] }),
        ...(s.signer === undefined ? {} : { signer: s.signer }),
      }),
    ]),
  );
  return Object.freeze({
    ...(configFile === undefined ? {} : { configFile }),
    baseDir,
    pluginsDirectory: resolve(baseDir, p.pluginsdirectory ?? d.pluginsDirectory),
    enableHotReload: p.enablehotreload ?? d.enableHotReload,
    reloadDelayMs: p.reloaddelay ?? d.reloadDelayMs,
    healthCheckIntervalMs: p.healthcheckinterval ?? d.healthCheckIntervalMs,
    enableMetrics: p.enablemetrics ?? d.enableMetrics,
    callTimeoutMs: p.calltimeout ?? d.callTimeoutMs,
    drainTimeoutMs: p.draintimeout ?? d.drainTimeoutMs,
    resourceLimits: toLimits(p.resourcelimits),
    validateSignatures: p.validatesignatures ?? d.validateSignatures,
    trustedCertificateThumbprints: unique(p.trustedcertificatethumbprints ?? []),
    sharedModules: absolute(baseDir, p.sharedmodules),
    probingPaths: absolute(baseDir, p.probingpaths),
    admin: Object.freeze({
      hostname: p.admin?.hostname ?? d.admin.hostname,
      port: p.admin?.port ?? d.admin.port,
      token: p.admin?.token ?? d.admin.token,
      ...(p.admin?.tokenfile === undefined ? {} : { tokenFile: resolve(baseDir, p.admin.tokenfile) }),
    }),
    logging: Object.freeze({ format: p.logging?.format ?? d.logging.format }),
    plugins: Object.freeze(plugins),
    security: Object.freeze(securityEntries),
  });
}
