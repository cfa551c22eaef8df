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
import { configSchema, isSettingsPath, scanKeys } from "./_schema.ts";
import { buildConfig, type KeyLocator } from "./_build.ts";
import type { ConfigDefaults, HostConfig, PluginConfig, SecurityEntry } from "./types.ts";
export type {
  AdminConfig,
  ClusterConfig,
  ConfigDefaults,
  HostConfig,
  LoggingConfig,
  PluginConfig,
  ResourceLimits,
  SecurityEntry,
} from "./types.ts";

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

/**
 * The value of every option a configuration leaves out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CONFIG_DEFAULTS } from "./config.ts";
 * assert.equal(CONFIG_DEFAULTS.callTimeoutMs, 30000);
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
  activation: "eager" as const,
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
  // The same position a located error at the key would give, for the checks made later (`Replicas` of a plugin
  // that is not `Scalable`, when manifests are known).
  const keyAt: KeyLocator = (norm) => {
    const pos = locate?.(original(norm), "key");
    return pos === undefined ? undefined : `${file}:${pos.line}:${pos.column}`;
  };
  const config = buildConfig(result.data, CONFIG_DEFAULTS, baseDir, configFile, keyAt);
  return Object.freeze({ config, warnings: Object.freeze(warnings.sort(byPosition)) });
}

/**
 * Reads and loads a JSONC configuration file. Relative paths in it resolve against its folder.
 * Throws a {@linkcode ConfigError} with every problem, each as `file:line:col`.
 *
 * @example
 * ```ts
 * import { loadConfig } from "./config.ts";
 * import assert from "node:assert/strict";
 * const { config, warnings } = await loadConfig("examples/host.jsonc"); // from the repository's root
 * assert.deepEqual(warnings, []);
 * assert.match(config.pluginsDirectory, /\/plugins$/);
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
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./config.ts";
 * const { config } = parseConfig('{ "Plugins": { "CallTimeout": "00:00:05" } }', "host.jsonc");
 * assert.equal(config.callTimeoutMs, 5000);
 * ```
 */
export function parseConfig(text: string, file: string): LoadedConfig {
  const parsed = parseJsonc(text, file);
  const configFile = resolve(file);
  return normalize(parsed.value, file, dirname(configFile), configFile, parsed.locate);
}

/**
 * Loads a configuration from an object of the file's shape (keys in any case).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizeConfig } from "./config.ts";
 * const { config } = normalizeConfig({ plugins: { pluginsDirectory: "./p" } }, { baseDir: "/srv" });
 * assert.equal(config.pluginsDirectory, "/srv/p");
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
 * import assert from "node:assert/strict";
 * import { normalizeConfig, pluginConfigFor } from "./config.ts";
 * const { config } = normalizeConfig({ Plugins: { "my.plugin": { Enabled: false } } });
 * assert.equal(pluginConfigFor(config, "My.Plugin").enabled, false);
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
 * import assert from "node:assert/strict";
 * import { normalizeConfig, securityFor } from "./config.ts";
 * const { config } = normalizeConfig({ PluginSecurity: { "my.plugin": { AllowNetworkAccess: true } } });
 * assert.equal(securityFor(config, "my.plugin")?.allowNetworkAccess, true);
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
 * import assert from "node:assert/strict";
 * import { isHostConfig, normalizeConfig } from "./config.ts";
 * assert.equal(isHostConfig(normalizeConfig({}).config), true);
 * assert.equal(isHostConfig({ Plugins: {} }), false);
 * ```
 */
export function isHostConfig(value: unknown): value is HostConfig {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Partial<Record<keyof HostConfig, unknown>>;
  return typeof v.baseDir === "string" && typeof v.pluginsDirectory === "string" &&
    typeof v.plugins === "object" && typeof v.security === "object" && typeof v.admin === "object" &&
    typeof v.logging === "object";
}
