/**
 * The host configuration: a JSONC file (or an object of the same shape) in the seed's .NET layout, with keys
 * matched without regard to case, durations as milliseconds or .NET time spans, and every problem reported
 * with its file, line and column.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { ConfigError, type Diagnostic } from "../errors.ts";
import { type Locator, lowerKeys, parseJsonc, pathKey, type Segment } from "./_parse.ts";
import { buildConfig, configSchema, isSettingsPath, scanKeys } from "./_schema.ts";

/** Resource limits for the host's plugins or one plugin. Absent means unlimited. */
export interface ResourceLimits {
  /** Heap limit of a plugin, in MiB. */
  readonly maxMemoryMB?: number;
  /** CPU share of a plugin, in percent (0 < x <= 100). */
  readonly maxCpuPercent?: number;
  /**
   * Handles a plugin may hold at once (key `MaxHandles`): open files, sockets, listeners, watchers, child
   * processes and operations in flight that hold one. Absent: the host's default budget.
   */
  readonly maxHandles?: number;
  /** Timers a plugin may have pending at once (key `MaxTimers`). Absent: the host's default budget. */
  readonly maxTimers?: number;
}

/** Where the admin API listens and the token it requires. */
export interface AdminConfig {
  /** Interface to listen on; default `"127.0.0.1"`. */
  readonly hostname: string;
  /** Port; default 8080; 0 picks a free one. */
  readonly port: number;
  /** Bearer token every route but `/health` requires; `null` (default) means none. */
  readonly token: string | null;
  /**
   * `TokenFile`: an absolute path whose content (less a trailing newline) is the token, read when the admin
   * API starts (`token` wins when both are set); where neither is set, the environment's
   * `DOTCOMPUTE_ADMIN_TOKEN` is used.
   */
  readonly tokenFile?: string;
}

/** How the command line writes log records (`Plugins.Logging`). */
export interface LoggingConfig {
  /** `"text"` (default): one readable line a record; `"json"`: one JSON object a line. */
  readonly format: "text" | "json";
}

/** The host's settings for one plugin (a block under `Plugins` keyed by the plugin id). */
export interface PluginConfig {
  /** Whether the host loads the plugin; default true. */
  readonly enabled: boolean;
  /** How the plugin is isolated; default `"worker"`. */
  readonly isolation: "worker" | "process";
  /** The plugin's own limits (they override the host-wide ones). */
  readonly resourceLimits: ResourceLimits;
  /** Settings handed to the plugin, overriding its manifest's; keys keep their case. Default `{}`. */
  readonly settings: Readonly<Record<string, unknown>>;
}

/** A plugin's `PluginSecurity` entry: the most it may be granted. Everything defaults to false / empty. */
export interface SecurityEntry {
  /** Whether any file access may be granted. */
  readonly allowFileSystemAccess: boolean;
  /** Absolute paths (resolved against the config's folder) file access is confined to. */
  readonly allowedPaths: readonly string[];
  /** Whether any network access may be granted. */
  readonly allowNetworkAccess: boolean;
  /** Endpoints as `"host:port"` (URLs are converted: `https://a.com` is `a.com:443`). */
  readonly allowedNetworkEndpoints: readonly string[];
  /** Variable names; a trailing `*` makes an entry a prefix (`MY_*`). */
  readonly allowedEnvironmentVariables: readonly string[];
  /** Whether the plugin may see WebGPU (`navigator.gpu`), which Deno grants without a permission; default false. */
  readonly allowGpu?: boolean;
  /** npm packages (names) the plugin may import (default none); any other `npm:` import is refused. */
  readonly allowedNpmPackages?: readonly string[];
  /** The only folder (absolute) that may claim this id (key `Folder`). */
  readonly folder?: string;
  /** The only signer (lowercase hex SHA-256 key thumbprint) whose signature may claim this id (key `Signer`). */
  readonly signer?: string;
}

/** The normalized host configuration. Durations are in milliseconds, paths absolute. */
export interface HostConfig {
  /** The absolute path of the file it was read from, if any. */
  readonly configFile?: string;
  /** The folder relative paths were resolved against. */
  readonly baseDir: string;
  /** Absolute folder plugins are discovered in; default `./plugins`. */
  readonly pluginsDirectory: string;
  /** Reload plugins when their files change; default false. */
  readonly enableHotReload: boolean;
  /** Debounce before a hot reload; default 500. */
  readonly reloadDelayMs: number;
  /** Interval between health checks; default 60000. */
  readonly healthCheckIntervalMs: number;
  /** Collect metrics; default true. */
  readonly enableMetrics: boolean;
  /** Timeout of a call or hook; default 30000. */
  readonly callTimeoutMs: number;
  /** How long a stopping plugin may finish pending calls (key `DrainTimeout`); default 5000. */
  readonly drainTimeoutMs: number;
  /** Host-wide default limits. */
  readonly resourceLimits: ResourceLimits;
  /** Require signed plugins; default false. */
  readonly validateSignatures: boolean;
  /** Lowercase hex SHA-256 fingerprints of trusted Ed25519 public keys. */
  readonly trustedCertificateThumbprints: readonly string[];
  /**
   * Absolute paths of modules (files or folders) every plugin may import (key `SharedModules`; the seed's
   * `AddSharedAssemblies`). Every plugin may read them; default `[]`.
   */
  readonly sharedModules: readonly string[];
  /**
   * Absolute folders every plugin may read and load modules from (key `ProbingPaths`; the seed's
   * `AddProbingPaths`); default `[]`.
   */
  readonly probingPaths: readonly string[];
  /** The admin API. */
  readonly admin: AdminConfig;
  /** How `run` writes its log records; `--log-format` overrides it. */
  readonly logging: LoggingConfig;
  /** Plugin blocks by lowercased plugin id; look up with {@linkcode pluginConfigFor}. */
  readonly plugins: Readonly<Record<string, PluginConfig>>;
  /** `PluginSecurity` entries by lowercased plugin id; look up with {@linkcode securityFor}. */
  readonly security: Readonly<Record<string, SecurityEntry>>;
}

/** A loaded configuration and the warnings (unknown keys, duplicates) found on the way. */
export interface LoadedConfig {
  /** The configuration. */
  readonly config: HostConfig;
  /** Problems that did not stop loading, each with a hint where one helps. */
  readonly warnings: readonly Diagnostic[];
}

/** Options of {@linkcode normalizeConfig}. */
export interface NormalizeOptions {
  /** Folder relative paths resolve against; default `Deno.cwd()`. */
  readonly baseDir?: string;
  /** Name used in diagnostics; default `"<config object>"`. It is not read, nor kept as `configFile`. */
  readonly file?: string;
}

/** The shape of {@linkcode CONFIG_DEFAULTS}. */
export interface ConfigDefaults {
  /** `"./plugins"`, relative to the config's folder. */
  readonly pluginsDirectory: string;
  /** false */
  readonly enableHotReload: boolean;
  /** 500 */
  readonly reloadDelayMs: number;
  /** 60000 */
  readonly healthCheckIntervalMs: number;
  /** true */
  readonly enableMetrics: boolean;
  /** 30000 */
  readonly callTimeoutMs: number;
  /** 5000 */
  readonly drainTimeoutMs: number;
  /** false */
  readonly validateSignatures: boolean;
  /** `127.0.0.1:8080`, no token. */
  readonly admin: AdminConfig;
  /** Text. */
  readonly logging: LoggingConfig;
  /** A plugin block's defaults: enabled, in a worker. */
  readonly plugin: Pick<PluginConfig, "enabled" | "isolation">;
}

/**
 * The value of every option a configuration leaves out.
 *
 * @example
 * ```ts
 * import { CONFIG_DEFAULTS } from "./config.ts";
 * console.log(CONFIG_DEFAULTS.callTimeoutMs); // 30000
 * ```
 */
export const CONFIG_DEFAULTS: ConfigDefaults = Object.freeze({
  pluginsDirectory: "./plugins",
  enableHotReload: false,
  reloadDelayMs: 500,
  healthCheckIntervalMs: 60_000,
  enableMetrics: true,
  callTimeoutMs: 30_000,
  drainTimeoutMs: 5_000,
  validateSignatures: false,
  admin: Object.freeze({ hostname: "127.0.0.1", port: 8080, token: null }),
  logging: Object.freeze({ format: "text" as const }),
  plugin: Object.freeze({ enabled: true, isolation: "worker" as const }),
});

const byPosition = (a: Diagnostic, b: Diagnostic): number =>
  (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0);

function normalize(
  input: unknown,
  file: string,
  baseDir: string,
  configFile?: string,
  locate?: Locator,
): LoadedConfig {
  const lowered = lowerKeys(input, isSettingsPath);
  const original = (norm: readonly Segment[]): readonly Segment[] =>
    lowered.original.get(pathKey(norm)) ?? norm;
  const diagnostic = (path: readonly Segment[], at: "key" | "value", message: string): Diagnostic => ({
    file,
    ...locate?.(path, at),
    ...(path.length > 0 ? { field: path.join(".") } : {}),
    message,
  });
  const warnings = lowered.duplicates.map((path) =>
    diagnostic(path, "key", `repeats an earlier key (keys ignore case); the last one wins`)
  );
  const written = (norm: readonly Segment[]): string => String(original(norm).at(-1));
  for (const w of scanKeys(lowered.value, written)) {
    warnings.push(diagnostic(original(w.path), "key", w.message));
  }
  const result = configSchema.safeParse(lowered.value);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues
        .map((issue) => {
          const path = issue.path.map((s) => typeof s === "number" ? s : String(s));
          return diagnostic(original(path), "value", issue.message);
        })
        .sort(byPosition),
    );
  }
  const config = buildConfig(result.data, CONFIG_DEFAULTS, baseDir, configFile);
  return Object.freeze({ config, warnings: Object.freeze(warnings.sort(byPosition)) });
}

/**
 * Reads and loads a JSONC configuration file. Relative paths in it resolve against its folder.
 * Throws a {@linkcode ConfigError} with every problem, each as `file:line:col`.
 *
 * @example
 * ```ts
 * import { loadConfig } from "./config.ts";
 * const { config, warnings } = await loadConfig("examples/host.jsonc");
 * for (const w of warnings) console.warn(w.message);
 * console.log(config.pluginsDirectory);
 * ```
 */
export async function loadConfig(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new ConfigError([{ file: path, message: `cannot read the configuration: ${reason}` }]);
  }
  return parseConfig(text, path);
}

/**
 * Loads a configuration from JSONC text; `file` names it in diagnostics and its folder is the base of
 * relative paths.
 *
 * @example
 * ```ts
 * import { parseConfig } from "./config.ts";
 * const { config } = parseConfig('{ "Plugins": { "CallTimeout": "00:00:05" } }', "host.jsonc");
 * console.log(config.callTimeoutMs); // 5000
 * ```
 */
export function parseConfig(text: string, file: string): LoadedConfig {
  const parsed = parseJsonc(text.replace(/^\uFEFF/, ""), file);
  const configFile = resolve(file);
  return normalize(parsed.value, file, dirname(configFile), configFile, parsed.locate);
}

/**
 * Loads a configuration from an object of the file's shape (keys in any case).
 *
 * @example
 * ```ts
 * import { normalizeConfig } from "./config.ts";
 * const { config } = normalizeConfig({ plugins: { pluginsDirectory: "./p" } }, { baseDir: "/srv" });
 * console.log(config.pluginsDirectory); // "/srv/p"
 * ```
 */
export function normalizeConfig(
  input: Record<string, unknown>,
  options: NormalizeOptions = {},
): LoadedConfig {
  return normalize(input, options.file ?? "<config object>", resolve(options.baseDir ?? Deno.cwd()));
}

/**
 * The host's settings for a plugin, whatever the case of `id`; the defaults when it has no block.
 *
 * @example
 * ```ts
 * import { normalizeConfig, pluginConfigFor } from "./config.ts";
 * const { config } = normalizeConfig({ Plugins: { "my.plugin": { Enabled: false } } });
 * console.log(pluginConfigFor(config, "My.Plugin").enabled); // false
 * ```
 */
export function pluginConfigFor(config: HostConfig, id: string): PluginConfig {
  const key = id.toLowerCase();
  if (Object.hasOwn(config.plugins, key)) return config.plugins[key];
  return { ...CONFIG_DEFAULTS.plugin, resourceLimits: {}, settings: {} };
}

/**
 * A plugin's `PluginSecurity` entry, whatever the case of `id`; `undefined` when it has none (deny all).
 *
 * @example
 * ```ts
 * import { normalizeConfig, securityFor } from "./config.ts";
 * const { config } = normalizeConfig({ PluginSecurity: { "my.plugin": { AllowNetworkAccess: true } } });
 * console.log(securityFor(config, "my.plugin")?.allowNetworkAccess); // true
 * ```
 */
export function securityFor(config: HostConfig, id: string): SecurityEntry | undefined {
  const key = id.toLowerCase();
  return Object.hasOwn(config.security, key) ? config.security[key] : undefined;
}

/**
 * Whether a value is an already normalized {@linkcode HostConfig} (rather than an object in the file's shape).
 *
 * @example
 * ```ts
 * import { isHostConfig, normalizeConfig } from "./config.ts";
 * console.log(isHostConfig(normalizeConfig({}).config)); // true
 * console.log(isHostConfig({ Plugins: {} })); // false
 * ```
 */
export function isHostConfig(value: unknown): value is HostConfig {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Partial<Record<keyof HostConfig, unknown>>;
  return typeof v.baseDir === "string" && typeof v.pluginsDirectory === "string" &&
    typeof v.plugins === "object" && typeof v.security === "object" && typeof v.admin === "object" &&
    typeof v.logging === "object";
}
