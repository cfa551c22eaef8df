/**
 * The seed's fluent builder (`UsePlugins(builder => builder.SetPluginsDirectory(...)...)`) as sugar over the
 * host configuration: a {@linkcode PluginHostBuilder} only writes the object a JSONC file holds, with the
 * seed's PascalCase keys, so `createPluginHost(builder.build())` and a config file mean exactly the same.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { CONFIG_DEFAULTS, normalizeConfig } from "../config/config.ts";
import { OPTIONS } from "../config/_schema.ts";
import { isPluginId } from "../config/_values.ts";
import {
  type AdminOptions,
  type Block,
  blockScalars,
  type ClusterOptions,
  defined,
  type Duration,
  limits,
  type LoaderOptions,
  type ManagerOptions,
  type PluginBlockOptions,
  type ResourceLimitOptions,
  type Section,
  type Security,
  type SecurityOptions,
} from "./_builder_options.ts";
export type {
  AdminOptions,
  ClusterOptions,
  Duration,
  LoaderOptions,
  ManagerOptions,
  PluginBlockOptions,
  ResourceLimitOptions,
  SecurityOptions,
} from "./_builder_options.ts";

function toPath(path: string | URL, method: string): string {
  if (typeof path === "string") return path;
  if (path instanceof URL && path.protocol === "file:") return fileURLToPath(path);
  throw new TypeError(`${method}: ${String(path)} is not a path or a file: URL`);
}

function pluginKey(id: string, method: string): string {
  const key = typeof id === "string" ? id.toLowerCase() : "";
  if (!isPluginId(key)) {
    throw new TypeError(
      `${method}: no plugin can have the id ${JSON.stringify(id)} (lowercase letters, digits, "." and "-")`,
    );
  }
  return key;
}

/**
 * Runs a configure callback on a sealed copy of the current values, and returns the values it changed. A
 * sealed object makes a misspelt option (`options.ReloadDelay = ...`, the seed's casing) throw.
 */
function edit<T extends object>(current: T, configure: (options: T) => unknown, method: string): Partial<T> {
  const options = Object.seal(structuredClone(current));
  const result = configure(options);
  if (typeof (result as PromiseLike<unknown> | undefined)?.then === "function") {
    throw new TypeError(`${method}: the callback must be synchronous; its changes are read when it returns`);
  }
  const changed: Partial<T> = {};
  for (const key of Object.keys(current) as (keyof T)[]) {
    if (JSON.stringify(options[key]) !== JSON.stringify(current[key])) changed[key] = options[key];
  }
  return changed;
}

/**
 * The seed's plugin builder. Each method writes keys of the host configuration object (with the seed's
 * PascalCase names) and returns the builder; {@linkcode PluginHostBuilder.build} returns that object. The
 * builder grants nothing a config file could not: plugins stay deny-by-default unless
 * {@linkcode PluginHostBuilder.configureSecurity} gives them an entry.
 *
 * Relative paths are kept as written; like those of a config object, they resolve against the current
 * directory when the object reaches `createPluginHost` (or against `baseDir` in `normalizeConfig`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PluginHostBuilder } from "./builder.ts";
 * const config = new PluginHostBuilder()
 *   .setPluginsDirectory("./plugins")
 *   .enableHotReload()
 *   .setHealthCheckInterval("00:01:00")
 *   .enableMetrics()
 *   .build();
 * assert.deepEqual(config, {
 *   Plugins: {
 *     PluginsDirectory: "./plugins",
 *     EnableHotReload: true,
 *     HealthCheckInterval: "00:01:00",
 *     EnableMetrics: true,
 *   },
 * });
 * ```
 */
export class PluginHostBuilder {
  #options: Section = {};
  readonly #blocks = new Map<string, Block>();
  readonly #security = new Map<string, Security>();

  /**
   * Sets `Plugins.PluginsDirectory` (the seed's `SetPluginsDirectory`): the folder plugins are discovered in.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PluginHostBuilder } from "./builder.ts";
   * const config = new PluginHostBuilder().setPluginsDirectory("./plugins").build();
   * assert.deepEqual(config, { Plugins: { PluginsDirectory: "./plugins" } });
   * ```
   */
  setPluginsDirectory(path: string | URL): this {
    this.#options.PluginsDirectory = toPath(path, "setPluginsDirectory");
    return this;
  }

  /**
   * Sets `Plugins.EnableHotReload` (the seed's `EnableHotReload`): reload plugins when their files change.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PluginHostBuilder } from "./builder.ts";
   * const on = new PluginHostBuilder().enableHotReload().build();
   * assert.deepEqual(on, { Plugins: { EnableHotReload: true } });
   * const off = new PluginHostBuilder().enableHotReload(false).build();
   * assert.deepEqual(off, { Plugins: { EnableHotReload: false } });
   * ```
   */
  enableHotReload(enabled = true): this {
    this.#options.EnableHotReload = enabled;
    return this;
  }

  /**
   * Sets `Plugins.HealthCheckInterval` (the seed's `SetHealthCheckInterval`): milliseconds, or a time span.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PluginHostBuilder } from "./builder.ts";
   * // Written as given: "00:01:00" means the same as 60_000.
   * assert.deepEqual(new PluginHostBuilder().setHealthCheckInterval("00:01:00").build(), {
   *   Plugins: { HealthCheckInterval: "00:01:00" },
   * });
   * ```
   */
  setHealthCheckInterval(interval: Duration): this {
    this.#options.HealthCheckInterval = interval;
    return this;
  }

  /**
   * Sets `Plugins.EnableMetrics` (the seed's `EnableMetrics`).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PluginHostBuilder } from "./builder.ts";
   * assert.deepEqual(new PluginHostBuilder().enableMetrics().build(), { Plugins: { EnableMetrics: true } });
   * ```
   */
  enableMetrics(enabled = true): this {
    this.#options.EnableMetrics = enabled;
    return this;
  }

  /**
   * Sets `Plugins.ResourceLimits`, the host-wide default limits of each plugin (the seed's
   * `SetResourceLimits(maxMemoryMB:, maxCpuPercent:)`). Limits left out keep their earlier value. The soft
   * limits (`softMemoryMB`, `softCpuPercent`, `maxLifetime`) replace a plugin's instance instead of ending it.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PluginHostBuilder } from "./builder.ts";
   * const config = new PluginHostBuilder()
   *   .setResourceLimits({ maxMemoryMB: 512, maxCpuPercent: 50 })
   *   .build();
   * assert.deepEqual(config, { Plugins: { ResourceLimits: { MaxMemoryMB: 512, MaxCpuPercent: 50 } } });
   * const soft = new PluginHostBuilder()
   *   .setResourceLimits({ maxMemoryMB: 512, softMemoryMB: 384, maxLifetime: "01:00:00" })
   *   .build();
   * assert.deepEqual(soft.Plugins, {
   *   ResourceLimits: { MaxMemoryMB: 512, SoftMemoryMB: 384, MaxLifetime: "01:00:00" },
   * });
   * // A soft limit must be below the hard one of the same object.
   * assert.throws(() => new PluginHostBuilder().setResourceLimits({ maxMemoryMB: 256, softMemoryMB: 256 }).build());
   * ```
   */
  setResourceLimits(limitsOptions: ResourceLimitOptions): this {
    this.#options.ResourceLimits = { ...this.#options.ResourceLimits, ...limits(limitsOptions) };
    return this;
  }

  /**
   * Adds to `Plugins.SharedModules` (the seed's `AddSharedAssemblies`): module files or folders every plugin may
   * import, by relative path or `file:` URL. Every plugin may read them, with no `PluginSecurity` entry, so
   * they must hold nothing secret.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PluginHostBuilder } from "./builder.ts";
   * const config = new PluginHostBuilder()
   *   .addSharedModules("./shared/math.ts", new URL("file:///srv/lib/"))
   *   .build();
   * assert.deepEqual(config, { Plugins: { SharedModules: ["./shared/math.ts", "/srv/lib/"] } });
   * ```
   */
  addSharedModules(...paths: (string | URL)[]): this {
    this.#options.SharedModules = this.#append(this.#options.SharedModules, paths, "addSharedModules");
    return this;
  }

  /**
   * Adds to `Plugins.ProbingPaths` (the seed's `AddProbingPaths`): folders every plugin may read and load
   * modules from. Like shared modules, they are readable by every plugin.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PluginHostBuilder } from "./builder.ts";
   * const config = new PluginHostBuilder()
   *   .addProbingPaths("./lib", "./dependencies")
   *   .addProbingPaths("./lib")
   *   .build();
   * assert.deepEqual(config, { Plugins: { ProbingPaths: ["./lib", "./dependencies"] } }); // each path once
   * ```
   */
  addProbingPaths(...paths: (string | URL)[]): this {
    this.#options.ProbingPaths = this.#append(this.#options.ProbingPaths, paths, "addProbingPaths");
    return this;
  }

  /**
   * The seed's `EnableSandboxing`, kept so that ported code reads the same; it sets nothing. In Deno every
   * plugin is always sandboxed: it runs in its own Worker with deny-by-default permissions (no file, network,
   * environment, subprocess, FFI or system access without a `PluginSecurity` entry), and that cannot be turned
   * off. Grant access with {@linkcode PluginHostBuilder.configureSecurity}; require signed plugins with
   * {@linkcode PluginHostBuilder.configureManager}.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PluginHostBuilder } from "./builder.ts";
   * const config = new PluginHostBuilder()
   *   .enableSandboxing()
   *   .configureManager((options) => {
   *     options.validateSignatures = true;
   *     options.trustedCertificateThumbprints.push("ab".repeat(32));
   *   })
   *   .build();
   * assert.deepEqual(config, {
   *   Plugins: { ValidateSignatures: true, TrustedCertificateThumbprints: ["ab".repeat(32)] },
   * });
   * assert.deepEqual(new PluginHostBuilder().enableSandboxing().build(), { Plugins: {} }); // sets nothing
   * ```
   */
  enableSandboxing(): this {
    return this;
  }

  /**
   * The seed's `ConfigureLoader(options => ...)`: the callback gets the current loader options (or their
   * defaults) and may change them; what it changes is written to `Plugins.EnableHotReload` and
   * `Plugins.ReloadDelay`. The callback must be synchronous; a misspelt option throws.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PluginHostBuilder } from "./builder.ts";
   * const config = new PluginHostBuilder().configureLoader((options) => {
   *   options.enableHotReload = true;
   *   options.reloadDelay = "00:00:01"; // or 1000
   * }).build();
   * assert.deepEqual(config, { Plugins: { EnableHotReload: true, ReloadDelay: "00:00:01" } });
   * // Only what the callback changes is written: 500 ms is already the default delay.
   * const same = new PluginHostBuilder().configureLoader((options) => (options.reloadDelay = 500)).build();
   * assert.deepEqual(same, { Plugins: {} });
   * ```
   */
  configureLoader(configure: (options: LoaderOptions) => void): this {
    const o = this.#options;
    const changed = edit<LoaderOptions>(
      {
        enableHotReload: o.EnableHotReload ?? CONFIG_DEFAULTS.enableHotReload,
        reloadDelay: o.ReloadDelay ?? CONFIG_DEFAULTS.reloadDelayMs,
      },
      configure,
      "configureLoader",
    );
    this.#set({ EnableHotReload: changed.enableHotReload, ReloadDelay: changed.reloadDelay });
    return this;
  }

  /**
   * The seed's `ConfigureManager(options => ...)`: the callback gets the current manager options (or their
   * defaults) and may change them; what it changes is written to `Plugins.ValidateSignatures`,
   * `TrustedCertificateThumbprints`, `CallTimeout`, `HealthCheckInterval`, `DrainTimeout` and `Activation`
   * (when plugins start; a block's `activation` overrides it). The callback must be synchronous; a misspelt
   * option throws.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PluginHostBuilder } from "./builder.ts";
   * const config = new PluginHostBuilder().configureManager((options) => {
   *   options.validateSignatures = true;
   *   options.trustedCertificateThumbprints.push("ab".repeat(32));
   *   options.callTimeout = "00:00:10";
   *   options.activation = "lazy"; // plugins start at their first call
   * }).build();
   * assert.deepEqual(config, {
   *   Plugins: {
   *     ValidateSignatures: true,
   *     TrustedCertificateThumbprints: ["ab".repeat(32)],
   *     CallTimeout: "00:00:10",
   *     Activation: "lazy",
   *   },
   * });
   * ```
   */
  configureManager(configure: (options: ManagerOptions) => void): this {
    const o = this.#options;
    const changed = edit<ManagerOptions>(
      {
        validateSignatures: o.ValidateSignatures ?? CONFIG_DEFAULTS.validateSignatures,
        trustedCertificateThumbprints: [...(o.TrustedCertificateThumbprints ?? [])],
        callTimeout: o.CallTimeout ?? CONFIG_DEFAULTS.callTimeoutMs,
        healthCheckInterval: o.HealthCheckInterval ?? CONFIG_DEFAULTS.healthCheckIntervalMs,
        drainTimeout: o.DrainTimeout ?? CONFIG_DEFAULTS.drainTimeoutMs,
        activation: o.Activation ?? CONFIG_DEFAULTS.activation,
      },
      configure,
      "configureManager",
    );
    this.#set({
      ValidateSignatures: changed.validateSignatures,
      TrustedCertificateThumbprints: changed.trustedCertificateThumbprints,
      CallTimeout: changed.callTimeout,
      HealthCheckInterval: changed.healthCheckInterval,
      DrainTimeout: changed.drainTimeout,
      Activation: changed.activation,
    });
    return this;
  }

  /**
   * Writes the plugin block `Plugins.<id>` (the seed's per-plugin configuration section). Repeated calls
   * for one plugin (whatever the case of `id`) merge: each option given replaces the earlier one, and
   * `resourceLimits` and `settings` merge key by key. Throws a `TypeError` for an id no plugin can have, or
   * one that is the name of a `Plugins` option (such as `"admin"`), which a file cannot give a block either.
   * `replicas`, `maxConcurrency`, `queueTimeout`, `activation` and `idleTimeout` write the elastic keys
   * (`Replicas`...), checked at `build()` as a file's are.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PluginHostBuilder } from "./builder.ts";
   * const config = new PluginHostBuilder().configurePlugin("my.plugin", {
   *   enabled: true,
   *   resourceLimits: { maxMemoryMB: 128 },
   *   settings: { CustomOption: "value" },
   * }).build();
   * assert.deepEqual(config, {
   *   Plugins: {
   *     "my.plugin": {
   *       Enabled: true,
   *       ResourceLimits: { MaxMemoryMB: 128 },
   *       Settings: { CustomOption: "value" },
   *     },
   *   },
   * });
   * assert.throws(() => new PluginHostBuilder().configurePlugin("admin", {}), TypeError); // a Plugins option
   * const elastic = new PluginHostBuilder()
   *   .configurePlugin("my.plugin", { replicas: 4, maxConcurrency: 8, queueTimeout: "00:00:02" })
   *   .configurePlugin("my.plugin", { activation: "lazy", idleTimeout: 60_000 })
   *   .build();
   * assert.deepEqual(elastic.Plugins, {
   *   "my.plugin": {
   *     Replicas: 4,
   *     MaxConcurrency: 8,
   *     QueueTimeout: "00:00:02",
   *     Activation: "lazy",
   *     IdleTimeout: 60_000,
   *   },
   * });
   * ```
   */
  configurePlugin(id: string, options: PluginBlockOptions): this {
    const key = pluginKey(id, "configurePlugin");
    if (Object.hasOwn(OPTIONS, key)) {
      throw new TypeError(
        `configurePlugin: "${id}" is the Plugins option "${OPTIONS[key]}", so no block can be written for it`,
      );
    }
    const block = this.#blocks.get(key) ?? {};
    Object.assign(block, blockScalars(options));
    if (options.resourceLimits !== undefined) {
      block.ResourceLimits = { ...block.ResourceLimits, ...limits(options.resourceLimits) };
    }
    if (options.settings !== undefined) {
      block.Settings = { ...block.Settings, ...structuredClone(options.settings) };
    }
    this.#blocks.set(key, block);
    return this;
  }

  /**
   * Writes the plugin's `PluginSecurity.<id>` entry: the most it may be granted (what its manifest asks for,
   * narrowed by this). Repeated calls for one plugin merge; each option given replaces the earlier one.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PluginHostBuilder } from "./builder.ts";
   * const config = new PluginHostBuilder().configureSecurity("my.plugin", {
   *   allowNetworkAccess: true,
   *   allowedNetworkEndpoints: ["https://api.example.com"],
   * }).build();
   * assert.deepEqual(config.PluginSecurity, {
   *   "my.plugin": { AllowNetworkAccess: true, AllowedNetworkEndpoints: ["https://api.example.com"] },
   * });
   * ```
   */
  configureSecurity(id: string, options: SecurityOptions): this {
    const key = pluginKey(id, "configureSecurity");
    const entry = this.#security.get(key) ?? {};
    const list = <T>(values: readonly T[] | undefined): T[] | undefined =>
      values === undefined ? undefined : [...values];
    Object.assign(
      entry,
      defined({
        AllowFileSystemAccess: options.allowFileSystemAccess,
        AllowedPaths: options.allowedPaths?.map((p) => toPath(p, "configureSecurity")),
        AllowNetworkAccess: options.allowNetworkAccess,
        AllowedNetworkEndpoints: list(options.allowedNetworkEndpoints),
        AllowedEnvironmentVariables: list(options.allowedEnvironmentVariables),
        AllowGpu: options.allowGpu,
        AllowedNpmPackages: list(options.allowedNpmPackages),
        Folder: options.folder === undefined ? undefined : toPath(options.folder, "configureSecurity"),
        Signer: options.signer,
      }),
    );
    this.#security.set(key, entry);
    return this;
  }

  /**
   * Sets `Plugins.Admin`: where the admin API listens and the token it requires. Options left out keep their
   * earlier value; `token: null` removes the token.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PluginHostBuilder } from "./builder.ts";
   * const config = new PluginHostBuilder()
   *   .setAdmin({ hostname: "127.0.0.1", port: 0, token: "s3cret-token-0123" })
   *   .build();
   * assert.deepEqual(config, {
   *   Plugins: { Admin: { Hostname: "127.0.0.1", Port: 0, Token: "s3cret-token-0123" } },
   * });
   * ```
   */
  setAdmin(options: AdminOptions): this {
    this.#options.Admin = {
      ...this.#options.Admin,
      ...defined({
        Hostname: options.hostname,
        Port: options.port,
        Token: options.token,
        TokenFile: options.tokenFile,
      }),
    };
    return this;
  }

  /**
   * Sets `Plugins.Cluster`: the fleet this host joins on NATS (see README "A fleet on NATS"). Options left out
   * keep their earlier value, or the defaults: `nats://127.0.0.1:4222`, fleet `dotcompute`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PluginHostBuilder } from "./builder.ts";
   * const config = new PluginHostBuilder()
   *   .cluster({ servers: ["nats://10.0.0.5:4222"], name: "render", bundles: true })
   *   .build();
   * assert.deepEqual(config, {
   *   Plugins: { Cluster: { Servers: ["nats://10.0.0.5:4222"], Name: "render", Bundles: true } },
   * });
   * assert.throws(() => new PluginHostBuilder().cluster({ name: "not a token" }).build()); // a ConfigError
   * ```
   */
  cluster(options: ClusterOptions = {}): this {
    this.#options.Cluster = {
      ...this.#options.Cluster,
      ...defined({
        Servers: options.servers && [...options.servers],
        Name: options.name,
        HostId: options.hostId,
        Token: options.token,
        TokenFile: options.tokenFile,
        CredsFile: options.credsFile,
        Bundles: options.bundles,
      }),
    };
    return this;
  }

  /**
   * The configuration object, in a config file's shape: `{ Plugins: {...}, PluginSecurity?: {...} }`. Each
   * call returns a fresh deep copy. Throws a `ConfigError` naming every invalid value (a bad time span, an
   * endpoint without a port...) with the same messages a config file gets.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PluginHostBuilder } from "./builder.ts";
   * const builder = new PluginHostBuilder().setPluginsDirectory("./plugins");
   * const config = builder.build(); // hand it to createPluginHost(config)
   * assert.notEqual(config, builder.build()); // a fresh copy each time
   * assert.deepEqual(config, builder.build());
   * assert.throws(() => new PluginHostBuilder().setHealthCheckInterval("soon").build()); // a ConfigError
   * ```
   */
  build(): Record<string, unknown> {
    const config: Record<string, unknown> = {
      Plugins: { ...this.#options, ...Object.fromEntries(this.#blocks) },
    };
    if (this.#security.size > 0) config.PluginSecurity = Object.fromEntries(this.#security);
    const copy = structuredClone(config);
    normalizeConfig(structuredClone(copy), { file: "PluginHostBuilder" }); // throws a ConfigError if invalid
    return copy;
  }

  #set(values: Section): void {
    this.#options = { ...this.#options, ...defined(values) };
  }

  #append(list: readonly string[] | undefined, paths: readonly (string | URL)[], method: string): string[] {
    return [...new Set([...(list ?? []), ...paths.map((p) => toPath(p, method))])];
  }
}

/**
 * The seed's `.UsePlugins(builder => builder...)`: configures a fresh {@linkcode PluginHostBuilder} and returns
 * the configuration object it builds, ready for `createPluginHost`. The callback may return the builder (as an
 * arrow chain does) or nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { usePlugins } from "./builder.ts";
 * const config = usePlugins((builder) =>
 *   builder
 *     .setPluginsDirectory("./plugins")
 *     .enableHotReload()
 *     .setHealthCheckInterval("00:01:00")
 *     .enableMetrics()
 * );
 * assert.deepEqual(config.Plugins, {
 *   PluginsDirectory: "./plugins",
 *   EnableHotReload: true,
 *   HealthCheckInterval: "00:01:00",
 *   EnableMetrics: true,
 * });
 * ```
 */
export function usePlugins(
  configure: (builder: PluginHostBuilder) => PluginHostBuilder | void,
): Record<string, unknown> {
  const builder = new PluginHostBuilder();
  const result: unknown = configure(builder);
  if (result !== undefined && !(result instanceof PluginHostBuilder)) {
    throw new TypeError(
      "usePlugins: the callback must return the builder or nothing (and must be synchronous)",
    );
  }
  return ((result as PluginHostBuilder | undefined) ?? builder).build();
}
