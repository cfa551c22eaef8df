/**
 * `createPluginHost`: wires configuration, discovery, permissions, tiers and plugins into one host.
 *
 * @module
 */

import { reportWhileUnconfigured } from "../logging/fallback_report.ts";
import { getLogger } from "../_npm/logtape.ts";
import { type AdminServer, type ServeAdminOptions, startAdminServer } from "../admin/server.ts";
import { type HostConfig, loadConfig, normalizeConfig } from "../config/config.ts";
import { type Diagnostic, formatDiagnostic } from "../errors.ts";
import type { ConfigEvent, DiscoveryFailureEvent, HostEventMap } from "./events.ts";
import { findService, type ServiceHandle } from "../deps/services.ts";
import type { IsolationTier } from "../isolation/tier.ts";
import type { PluginState } from "../plugin/lifecycle.ts";
import type { PendingApproval } from "../trust/approvals.ts";
import type { RestartPolicy } from "../health/restart_policy.ts";
import type { PluginHandle } from "../plugin/plugin.ts";
import type { PluginMethods } from "../plugin_api.ts";
import { unwrappedBuiltins } from "../permissions/scope_probe.ts";
import { HostState } from "./_state.ts";
import type { LogRate } from "../logging/log_rate.ts";
import { start, stop } from "./_start_stop.ts";
import { disable, enable, startPlugin, stopPlugin } from "./_control.ts";
import { reload } from "./_reload.ts";
import { applyConfig, reloadConfig } from "./_config.ts";
import { statistics } from "./_statistics.ts";

/** Host-wide numbers. */
export interface HostStatistics {
  /** Plugins known to the host (discovery failures not included). */
  readonly total: number;
  /** How many plugins are in each state. */
  readonly byState: Readonly<Partial<Record<PluginState, number>>>;
  /** Calls made to all plugins. */
  readonly calls: number;
  /** Calls that failed. */
  readonly errors: number;
  /** Plugin folders that discovery could not use. */
  readonly discoveryFailures: number;
  /** Workers and processes alive now, across tiers (a plugin mid-swap has two). */
  readonly workers: number;
}

/** Options of {@linkcode createPluginHost}. */
export interface PluginHostOptions {
  /** Overrides `Plugins.PluginsDirectory`. */
  readonly pluginsDirectory?: string;
  /** Tiers by name; default `{ worker: new WorkerTier(), process: new ProcessTier() }`. */
  readonly tiers?: Readonly<Record<string, IsolationTier>>;
  /**
   * Watch the config file and apply its changes while the host runs (only for a host created from a file).
   * Default: true.
   */
  readonly watchConfig?: boolean;
  /**
   * Self-healing: how plugins that die unasked (or fail to start) are restarted, with growing delays, until
   * they are quarantined. `false` turns it off. Default: {@linkcode DEFAULT_RESTART_POLICY}.
   */
  readonly restartPolicy?: Partial<RestartPolicy> | false;
  /**
   * How fast each plugin may log: past it, its records are dropped, counted (`logsDropped` in its metrics,
   * `dotcompute_plugin_logs_dropped_total`) and reported once a second. `false` turns the limit off. Default:
   * {@linkcode DEFAULT_LOG_RATE} (200 records a second, bursts of 2,000).
   */
  readonly logRate?: LogRate | false;
  /**
   * While LogTape has no configuration (an embedder that never called `configure()`), write each failure — a
   * plugin failed, crashed or quarantined, a folder that failed discovery — as one line to stderr. Default: true.
   */
  readonly fallbackReport?: boolean;
}

/** A running plugin host. Dispose it (`await using`) or call {@linkcode PluginHost.stop}. */
export interface PluginHost extends AsyncDisposable {
  /** The configuration in force (it changes when a new one is applied). */
  readonly config: HostConfig;
  /** Problems in the configuration that did not stop it loading (unknown keys...). */
  readonly warnings: readonly Diagnostic[];
  /** Whether `start()` has discovered the plugins and started every enabled one (false again after `stop()`). */
  readonly started: boolean;
  /** Discovers the plugins and starts every enabled one, dependencies first. One failure never stops others. */
  start(): Promise<void>;
  /** Stops every plugin (dependents first) and ends their workers. */
  stop(): Promise<void>;
  /**
   * The plugin with this id, or undefined. Name the plugin's type (`typeof plugin` of its default export, or
   * `typeof MyPlugin` for a class) and `call` checks method names, arguments and results at compile time —
   * an assertion the host cannot verify at run time, like a cast.
   */
  getPlugin<P = unknown>(id: string): PluginHandle<PluginMethods<P>> | undefined;
  /** Every plugin known to the host. */
  getPlugins(): PluginHandle[];
  /** Host-wide numbers. */
  getStatistics(): HostStatistics;
  /** Plugin folders that discovery could not use, with why. */
  getDiscoveryFailures(): readonly DiscoveryFailureEvent[];
  /** New versions held because they ask for more permissions than the running ones, oldest first. */
  getPendingApprovals(): readonly PendingApproval[];
  /** Approves the held version of a plugin and reloads it (held again if its folder asks for more since). */
  approve(id: string): Promise<PluginHandle>;
  /** Drops the held version of a plugin; the running version stays. */
  reject(id: string): PendingApproval;
  /** Starts one plugin (from Stopped, Unloaded or Failed). */
  startPlugin(id: string): Promise<PluginHandle>;
  /** Stops one plugin and ends its worker. */
  stopPlugin(id: string): Promise<PluginHandle>;
  /** Reads the plugin's folder again and restarts it with what is there now; the handle stays the same. */
  reload(id: string): Promise<PluginHandle>;
  /**
   * The Running plugin that offers `name` (a capability from `provides`, or a plugin id) in the highest version
   * `range` accepts (default `*`); undefined when none does. Throws `INVALID_RANGE` for a bad range.
   */
  getService<P = unknown>(name: string, range?: string): ServiceHandle<PluginMethods<P>> | undefined;
  /** Marks the plugin enabled and starts it. */
  enable(id: string): Promise<PluginHandle>;
  /** Marks the plugin disabled and stops it; `start()` and `reload()` leave it stopped. */
  disable(id: string): Promise<PluginHandle>;
  /**
   * Serves the admin API (CONTRACT §5); options default to `Plugins.Admin`. Refuses to listen beyond loopback
   * without a token. {@linkcode PluginHost.stop} shuts it down.
   */
  serveAdmin(options?: ServeAdminOptions): Promise<AdminServer>;
  /**
   * Applies a new configuration while running: new settings reach running plugins through `configure`;
   * permission, isolation, limit or timeout changes restart just the plugins concerned; `Enabled` changes
   * stop or start them. Emits a `config` event and resolves with it.
   */
  applyConfig(config: HostConfig | Readonly<Record<string, unknown>>): Promise<ConfigEvent>;
  /**
   * Reads the config file again and applies it. A file that does not parse or validate is rejected with every
   * problem's file:line:col; the last good configuration stays in force. Also runs on every save when watched.
   */
  reloadConfig(): Promise<ConfigEvent>;
  /** Listens to host events; returns a function that removes the listener. */
  on<K extends keyof HostEventMap>(type: K, listener: (event: HostEventMap[K]) => void): () => void;
}

const log = getLogger(["dotcompute", "host"]);

/**
 * Creates a host from a JSONC config file path or a config object (CONTRACT §3). Nothing runs until `start()`.
 *
 * @example
 * ```ts ignore
 * import { createPluginHost } from "@dotcompute/plugins";
 * await using host = await createPluginHost({ Plugins: { PluginsDirectory: "./plugins" } });
 * await host.start();
 * console.log(await host.getPlugin("hello.world")?.call("greet", "Ada"));
 * ```
 */
export async function createPluginHost(
  source: string | Readonly<Record<string, unknown>>,
  options: PluginHostOptions = {},
): Promise<PluginHost> {
  const { config, warnings } = typeof source === "string"
    ? await loadConfig(source)
    : normalizeConfig(source);
  for (const w of warnings) log.warn("config: {warning}", { warning: formatDiagnostic(w) });
  if (unwrappedBuiltins.length > 0) {
    log.warn(
      "{builtins} not mapped to the plugin-safe wrappers: a plugin in the worker tier could abort the host " +
        'through node:process\'s named "abort" export, or set V8 flags for the whole process through ' +
        "node:v8's. Map them as this package's deno.json does (see README) or use Isolation \"process\" for " +
        "untrusted plugins.",
      { builtins: unwrappedBuiltins.join(", ") },
    );
  }
  return new Host(config, warnings, options);
}

class Host implements PluginHost {
  /** Its state, shared with the `_host_*` modules that do the work. */
  readonly #s: HostState;
  readonly warnings: readonly Diagnostic[];

  constructor(config: HostConfig, warnings: readonly Diagnostic[], options: PluginHostOptions) {
    this.#s = new HostState(config, options);
    this.warnings = warnings;
    if (options.fallbackReport !== false) reportWhileUnconfigured((type, f) => this.#s.events.on(type, f));
  }

  get config(): HostConfig {
    return this.#s.config;
  }

  get started(): boolean {
    return this.#s.started;
  }

  on<K extends keyof HostEventMap>(type: K, listener: (event: HostEventMap[K]) => void): () => void {
    return this.#s.events.on(type, listener);
  }

  start(): Promise<void> {
    return start(this.#s);
  }

  stop(): Promise<void> {
    return stop(this.#s);
  }

  async serveAdmin(options: ServeAdminOptions = {}): Promise<AdminServer> {
    const server = await startAdminServer(this, options);
    this.#s.admins.add(server);
    void server.finished.finally(() => this.#s.admins.delete(server));
    return server;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  getPlugin<P = unknown>(id: string): PluginHandle<PluginMethods<P>> | undefined {
    // The type is the caller's claim about the plugin's code (see PluginHost.getPlugin).
    return this.#s.plugins.get(id) as PluginHandle<PluginMethods<P>> | undefined;
  }

  getPlugins(): PluginHandle[] {
    return [...this.#s.plugins.values()];
  }

  getService<P = unknown>(name: string, range = "*"): ServiceHandle<PluginMethods<P>> | undefined {
    return findService(this.#s.plugins.values(), name, range) as ServiceHandle<PluginMethods<P>> | undefined;
  }

  getDiscoveryFailures(): readonly DiscoveryFailureEvent[] {
    return this.#s.failures;
  }

  getPendingApprovals(): readonly PendingApproval[] {
    return this.#s.approvals.list();
  }

  async approve(id: string): Promise<PluginHandle> {
    this.#s.get(id);
    this.#s.approvals.approve(id);
    return await this.reload(id);
  }

  reject(id: string): PendingApproval {
    return this.#s.approvals.reject(id);
  }

  getStatistics(): HostStatistics {
    return statistics(this.#s);
  }

  startPlugin(id: string): Promise<PluginHandle> {
    return startPlugin(this.#s, id);
  }

  stopPlugin(id: string): Promise<PluginHandle> {
    return stopPlugin(this.#s, id);
  }

  reload(id: string): Promise<PluginHandle> {
    return reload(this.#s, id);
  }

  enable(id: string): Promise<PluginHandle> {
    return enable(this.#s, id);
  }

  disable(id: string): Promise<PluginHandle> {
    return disable(this.#s, id);
  }

  reloadConfig(): Promise<ConfigEvent> {
    return reloadConfig(this.#s);
  }

  applyConfig(config: HostConfig | Readonly<Record<string, unknown>>): Promise<ConfigEvent> {
    return applyConfig(this.#s, config);
  }
}
