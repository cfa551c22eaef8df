import type { HostCluster } from "../cluster/types.ts";
import type { HostConfig } from "../config/config.ts";
import type { ServiceHandle } from "../deps/services.ts";
import type { Diagnostic } from "../errors.ts";
import type { ConfigEvent, DiscoveryFailureEvent, HostEventMap } from "../events/events.ts";
import type { RestartPolicy } from "../health/restart_policy.ts";
import type { IsolationTier } from "../isolation/tier.ts";
import type { PluginState } from "../lifecycle/lifecycle.ts";
import type { LogRate } from "../logging/log_rate.ts";
import type { PluginHandle } from "../plugin/types.ts";
import type { PluginMethods } from "../plugin_api.ts";
import type { PendingApproval } from "../events/events.ts";

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
  /**
   * The fleet this host is part of (`Plugins.Cluster`), once `start()` has joined it; undefined without a
   * cluster, or while its servers are out of reach.
   */
  readonly cluster: HostCluster | undefined;
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
   * `range` accepts (default `*`); undefined when none does. Throws `INVALID_RANGE` for a bad range. A local
   * plugin first; else, in a fleet, one a host of it offers (a Running `Clusterable` plugin): its handle's
   * `location` is that host's id.
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

/** Options of `host.serveAdmin()`; every one defaults to the host's `Plugins.Admin` configuration. */
export interface ServeAdminOptions {
  /** Interface to listen on; default `Plugins.Admin.Hostname` (`127.0.0.1`). */
  readonly hostname?: string;
  /** Port; default `Plugins.Admin.Port` (8080); 0 picks a free one. */
  readonly port?: number;
  /**
   * Bearer token (16 bytes or more); default `Plugins.Admin.Token`, `Plugins.Admin.TokenFile`'s content or the
   * environment's `DOTCOMPUTE_ADMIN_TOKEN`, in that order; `null` or `""` for none (loopback only).
   */
  readonly token?: string | null;
  /** Shuts the server down when aborted. */
  readonly signal?: AbortSignal;
  /** Names besides loopback ones a request's `Host` may carry when there is no token (see `AdminAppOptions`). */
  readonly allowedHosts?: readonly string[];
  /** Called once the server listens, with the address it really got. Default: prints nothing. */
  onListen?(addr: { hostname: string; port: number }): void;
}

/** A running admin server. Dispose it (`await using`) or call {@linkcode AdminServer.shutdown}. */
export interface AdminServer extends AsyncDisposable {
  /** `http://HOST:PORT`, with an IPv6 host in brackets. */
  readonly url: string;
  /** The address it listens on. */
  readonly addr: { readonly hostname: string; readonly port: number };
  /** Settles once the server has stopped. */
  readonly finished: Promise<void>;
  /** Ends every event stream, lets pending requests finish and stops listening. Safe to call twice. */
  shutdown(): Promise<void>;
}

/** How a host serves its admin API (src/admin/server.ts's `startAdminServer`, given by src/create.ts). */
export type ServeAdmin = (host: PluginHost, options: ServeAdminOptions) => Promise<AdminServer>;
