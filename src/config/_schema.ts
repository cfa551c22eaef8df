/**
 * The shape of the host configuration after its keys were lowercased: the known keys (for the "did you mean"
 * warnings) and the zod schema. src/config/_build.ts turns validated data into a frozen HostConfig.
 *
 * @module
 */

import { z } from "../_npm/zod.ts";
import type { Segment } from "./_parse.ts";
import { isPluginId } from "./_values.ts";
import {
  bool,
  choice,
  coerceNumber,
  duration,
  endpoint,
  envName,
  localPath,
  localPaths,
  npmPackage,
  num,
  OBJECT,
  positiveDuration,
  positiveInt,
  string,
  strings,
  thumbprint,
} from "./_fields.ts";
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
  activation: "Activation",
  resourcelimits: "ResourceLimits",
  validatesignatures: "ValidateSignatures",
  trustedcertificatethumbprints: "TrustedCertificateThumbprints",
  sharedmodules: "SharedModules",
  probingpaths: "ProbingPaths",
  admin: "Admin",
  logging: "Logging",
  cluster: "Cluster",
};
const LOGGING: Names = { format: "Format" };
const CLUSTER: Names = {
  servers: "Servers",
  name: "Name",
  hostid: "HostId",
  token: "Token",
  tokenfile: "TokenFile",
  credsfile: "CredsFile",
  bundles: "Bundles",
};
const LIMITS: Names = {
  maxmemorymb: "MaxMemoryMB",
  maxcpupercent: "MaxCpuPercent",
  maxhandles: "MaxHandles",
  maxtimers: "MaxTimers",
  softmemorymb: "SoftMemoryMB",
  softcpupercent: "SoftCpuPercent",
  maxlifetime: "MaxLifetime",
};
const ADMIN: Names = { hostname: "Hostname", port: "Port", token: "Token", tokenfile: "TokenFile" };
const BLOCK: Names = {
  enabled: "Enabled",
  isolation: "Isolation",
  resourcelimits: "ResourceLimits",
  settings: "Settings",
  replicas: "Replicas",
  maxconcurrency: "MaxConcurrency",
  queuetimeout: "QueueTimeout",
  activation: "Activation",
  idletimeout: "IdleTimeout",
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

/** The most replicas a plugin block may ask for (key `Replicas`). */
export const MAX_REPLICAS = 64;

/** A warning found by {@linkcode scanKeys}, at the key of a normalized path. */
export interface KeyWarning {
  readonly path: readonly Segment[];
  readonly message: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
/** Whether `key` is one of `names`. */
export const has = (names: Names, key: string): boolean => Object.hasOwn(names, key);
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
    unknown(plugins.cluster, CLUSTER, ["plugins", "cluster"]);
  }
  if (isObj(root.pluginsecurity)) {
    for (const [key, value] of Object.entries(root.pluginsecurity)) {
      badId(["pluginsecurity", key]);
      unknown(value, SECURITY, ["pluginsecurity", key]);
    }
  }
  return warnings;
}

const megabytes = () => z.preprocess(coerceNumber, num().gt(0, { error: "must be greater than 0" }));
const percent = () => z.preprocess(coerceNumber, num().gt(0).lte(100, { error: "must be in (0, 100]" }));
// A soft limit at or over its hard one would never act before the hard one ends the plugin: it is a mistake,
// caught where both are written. Across objects (a block's soft limit, the host-wide hard one) it is allowed.
const SOFT_BELOW_HARD = [["softmemorymb", "maxmemorymb"], ["softcpupercent", "maxcpupercent"]] as const;
const failed = (issues: readonly { readonly path?: readonly PropertyKey[] }[], ...keys: string[]): boolean =>
  issues.some((issue) => keys.includes(String(issue.path?.[0])));
const limits = z.object({
  maxmemorymb: megabytes().optional(),
  maxcpupercent: percent().optional(),
  maxhandles: z.preprocess(coerceNumber, num().int({ error: "must be an integer" }).min(1)).optional(),
  maxtimers: z.preprocess(coerceNumber, num().int({ error: "must be an integer" }).min(1)).optional(),
  softmemorymb: megabytes().optional(),
  softcpupercent: percent().optional(),
  maxlifetime: positiveDuration,
}, OBJECT).superRefine((l, ctx) => {
  for (const [soft, hard] of SOFT_BELOW_HARD) {
    const [s, h] = [l[soft], l[hard]];
    if (typeof s !== "number" || typeof h !== "number" || s < h || failed(ctx.issues, soft, hard)) continue;
    ctx.addIssue({
      code: "custom",
      path: [soft],
      input: s,
      message: `a soft limit must be below the hard one (${LIMITS[hard]} is ${h})`,
    });
  }
}, {
  // Also when another key of the object is wrong: every problem is reported at once.
  when: (payload) => isObj(payload.value),
});
const activation = choice(["eager", "lazy"]);
const pluginBlock = z.object({
  enabled: bool.optional(),
  isolation: choice(["worker", "process"]).optional(),
  resourcelimits: limits.optional(),
  settings: z.record(z.string(), z.unknown(), OBJECT).optional(),
  replicas: positiveInt(MAX_REPLICAS).optional(),
  maxconcurrency: positiveInt().optional(),
  queuetimeout: positiveDuration,
  activation: activation.optional(),
  idletimeout: positiveDuration,
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

// A fleet's name and a host's id are NATS subject tokens (src/cluster/subjects.ts): no dots, blanks or wildcards.
const subjectToken = string.regex(/^[A-Za-z0-9_-]{1,64}$/, {
  error: 'must be 1 to 64 letters, digits, "_" or "-"',
});
const natsServer = string.regex(/^((nats|tls|ws|wss):\/\/)?[^\s/]+(:\d+)?\/?$/, {
  error: 'must be a NATS server URL ("nats://127.0.0.1:4222") or "host:port"',
});
const cluster = z.object({
  servers: z.array(natsServer, { error: "must be an array of NATS server URLs" }).min(1, {
    error: "must name at least one server",
  }).optional(),
  name: subjectToken.optional(),
  hostid: subjectToken.optional(),
  token: z.string({ error: "must be a string" }).min(1, { error: "must not be empty" }).optional(),
  tokenfile: string.optional(),
  credsfile: string.optional(),
  bundles: bool.optional(),
}, OBJECT);

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
    activation: activation.optional(),
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
    cluster: cluster.optional(),
  }, OBJECT).catchall(pluginBlock).optional(),
  pluginsecurity: z.record(z.string(), security, OBJECT).optional(),
}, { error: "the configuration must be a JSON object" });

/** The validated (lowercased) configuration, as src/config/_build.ts turns it into a HostConfig. */
export type ConfigData = z.output<typeof configSchema>;
/** A validated plugin block. */
export type BlockData = z.output<typeof pluginBlock>;
/** A validated `ResourceLimits` object. */
export type LimitsData = z.output<typeof limits>;
