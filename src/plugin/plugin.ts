/**
 * One plugin: its lifecycle, its connection in an isolation tier, its metrics. The host hands it out as a
 * {@linkcode PluginHandle}.
 *
 * @module
 */

import type { Emitter, HostEventMap, ReloadEvent } from "../host/events.ts";
import type { IsolationTier } from "../isolation/tier.ts";
import type { PluginState } from "./lifecycle.ts";
import type { PluginManifest } from "../manifest/manifest.ts";
import type { DiscoveredPlugin } from "../discovery/plugin_folder.ts";
import type { PluginMetricsSnapshot } from "./metrics.ts";
import type { LogRate } from "../logging/log_rate.ts";
import type { EffectivePermissions } from "../permissions/permissions.ts";
import type {
  DependencyChange,
  HealthReport,
  MethodArgs,
  MethodName,
  MethodResult,
  UntypedMethods,
} from "../plugin_api.ts";
import type { CallOptions } from "../rpc/endpoint.ts";
import { PluginHostError } from "../errors.ts";
import { PluginCore } from "./_core.ts";
import { checkHealth } from "./_health.ts";
import { overloaded, resourceUsage } from "./_resources.ts";
import { markFailed, redefine, start, stop, unload } from "./_transitions.ts";
import { swap } from "./_swap.ts";

/**
 * What the host and other code see of a plugin. Stable for the plugin's whole life in the host. `M`, the
 * plugin's method table, types `call` and `request` (see `host.getPlugin<typeof plugin>(id)`); by default any
 * method name and arguments compile and results are `unknown`.
 *
 * @example
 * ```ts ignore
 * import type plugin from "./plugins/hello/mod.ts";
 * const hello = host.getPlugin<typeof plugin>("hello.world")!;
 * const text: string = await hello.call("greet", "Ada"); // checked at compile time
 * ```
 */
export interface PluginHandle<M = UntypedMethods> {
  /** The manifest id. */
  readonly id: string;
  /** The manifest name. */
  readonly name: string;
  /** The version running (or last loaded). */
  readonly version: string;
  /** The current state. */
  readonly state: PluginState;
  /** The whole manifest. */
  readonly manifest: PluginManifest;
  /** The plugin folder (real path). */
  readonly dir: string;
  /** Where it runs: `worker` or `process`. */
  readonly isolation: string;
  /** What the plugin may access: manifest ∩ PluginSecurity ∩ what the host holds. */
  readonly permissions: EffectivePermissions;
  /** The methods it exposes (known once loaded). */
  readonly methods: readonly string[];
  /** Why it last failed, if it did. */
  readonly lastError: Error | undefined;
  /** The settings it runs with: the manifest's defaults deep-merged with the host configuration's. */
  readonly settings: Readonly<Record<string, unknown>>;
  /** The last reload of this plugin (swap, restart or rollback, with its error), if there was one. */
  readonly lastReload: ReloadEvent | undefined;
  /**
   * How its worker or process last ended when nobody asked it to: `memory` (heap cap), `timeout` (unresponsive
   * after a call timed out), `exit`, `crash`, `load-failed`.
   */
  readonly lastExit: { readonly kind: string; readonly reason: string; readonly at: number } | undefined;
  /** Calls one of its methods; arguments and results are structured-cloned, buffers transferred. */
  call<K extends MethodName<M>>(method: K, ...args: MethodArgs<M, K>): Promise<MethodResult<M, K>>;
  /** Calls a method with options: timeout, AbortSignal, what to transfer. */
  request<K extends MethodName<M>>(
    method: K,
    args: Readonly<MethodArgs<M, K>>,
    options?: CallOptions,
  ): Promise<MethodResult<M, K>>;
  /** Its metrics now. */
  getMetrics(): PluginMetricsSnapshot;
  /**
   * Asks the plugin for its health: a ping answered by its runtime (no answer within the deadline, default 3 s,
   * ends the plugin as unresponsive), then its own `health()`.
   */
  checkHealth(options?: { readonly timeoutMs?: number }): Promise<HealthReport>;
  /** The last health checks with their times, oldest first (at most 20). */
  readonly healthHistory: readonly (HealthReport & { readonly at: number })[];
}

/** What a {@linkcode Plugin} needs from its host. */
export interface PluginOptions {
  /** The plugin's folder, manifest and entry module. */
  readonly discovered: DiscoveredPlugin;
  /** The manifest's settings merged with the host configuration's. */
  readonly settings: Readonly<Record<string, unknown>>;
  /** The permissions the plugin runs with. */
  readonly permissions: EffectivePermissions;
  /** Where the plugin runs. */
  readonly tier: IsolationTier;
  /** The host's emitter, for this plugin's state, crash and protocol-error events. */
  readonly events: Emitter<HostEventMap>;
  /** Default bound of a call. */
  readonly callTimeoutMs: number;
  /** How long stop waits for in-flight calls. */
  readonly drainTimeoutMs: number;
  /** Bounds loading and each lifecycle hook. */
  readonly hookTimeoutMs: number;
  /** Heap cap in MiB (`ResourceLimits.MaxMemoryMB`); none when absent. */
  readonly maxMemoryMB?: number;
  /** CPU budget in percent of one core (`ResourceLimits.MaxCpuPercent`); none when absent. */
  readonly maxCpuPercent?: number;
  /** Handles the plugin may hold at once (`ResourceLimits.MaxHandles`); the runtime's default (256) when absent. */
  readonly maxHandles?: number;
  /** Timers the plugin may have pending (`ResourceLimits.MaxTimers`); the runtime's default (1024) when absent. */
  readonly maxTimers?: number;
  /** `Plugins.EnableMetrics`: false skips counting calls and their latency (default true). */
  readonly enableMetrics?: boolean;
  /** How fast the plugin may log; false: no limit. Default 200 records a second, bursts of 2,000. */
  readonly logRate?: LogRate | false;
  /** Carries a call from this plugin to another. */
  readonly onPluginCall: (
    from: string,
    target: string,
    method: string,
    args: readonly unknown[],
    signal: AbortSignal,
  ) => Promise<unknown>;
}

/** One plugin in the host. Use it through {@linkcode PluginHandle}. */
export class Plugin implements PluginHandle {
  /** Its state, shared with the `_plugin_*` modules that do the work. */
  readonly #c: PluginCore;
  /** Set by the host after every reload. */
  lastReload: ReloadEvent | undefined;

  /** Creates the plugin in `Unknown`; nothing runs until {@linkcode Plugin.start}. */
  constructor(options: PluginOptions) {
    this.#c = new PluginCore(options);
  }

  get id(): string {
    return this.#c.o.discovered.manifest.id;
  }
  get name(): string {
    return this.#c.o.discovered.manifest.name;
  }
  get version(): string {
    return this.#c.o.discovered.manifest.version;
  }
  get manifest(): PluginManifest {
    return this.#c.o.discovered.manifest;
  }
  get dir(): string {
    return this.#c.o.discovered.dir;
  }
  get isolation(): string {
    return this.#c.o.tier.kind;
  }
  get permissions(): EffectivePermissions {
    return this.#c.o.permissions;
  }
  get state(): PluginState {
    return this.#c.life.state;
  }
  get methods(): readonly string[] {
    return this.#c.conn?.methods ?? [];
  }
  get lastError(): Error | undefined {
    return this.#c.lastError;
  }
  get settings(): Readonly<Record<string, unknown>> {
    return this.#c.o.settings;
  }
  get lastExit(): PluginHandle["lastExit"] {
    return this.#c.lastExit;
  }
  /** The plugin folder as discovery found it. */
  get discovered(): DiscoveredPlugin {
    return this.#c.o.discovered;
  }

  /**
   * Pushes new settings to the plugin without a restart (its `validateSettings`, then `configure` hook). When
   * the plugin refuses them, this rejects and the plugin keeps the old ones. A plugin that is not loaded just
   * gets them at its next start.
   */
  configure(settings: Readonly<Record<string, unknown>>): Promise<void> {
    const c = this.#c;
    return c.serial(async () => {
      const conn = c.conn;
      if (conn && (this.state === "Running" || this.state === "Initialized" || this.state === "Stopped")) {
        await conn.call("hook", "configure", [settings], { timeoutMs: c.o.hookTimeoutMs });
      }
      c.o = { ...c.o, settings };
    });
  }

  call(method: string, ...args: unknown[]): Promise<unknown> {
    return this.request(method, args);
  }

  request(method: string, args: readonly unknown[], options?: CallOptions): Promise<unknown> {
    const c = this.#c;
    const conn = c.conn;
    if (c.throttled && this.state === "Running") return Promise.reject(overloaded(c));
    if (this.state !== "Running" || !conn || !c.accepting) {
      const state = this.state === "Running" ? "stopping" : this.state;
      return Promise.reject(
        new PluginHostError("PLUGIN_NOT_RUNNING", `Plugin "${this.id}" is ${state}, not Running`, {
          pluginId: this.id,
        }),
      );
    }
    // No promise or closure of its own: the connection reports the call's end to methodEnded.
    if (c.o.enableMetrics !== false) c.metrics.started();
    return conn.call("method", method, args, options);
  }

  getMetrics(): PluginMetricsSnapshot {
    const c = this.#c;
    return { ...c.metrics.snapshot(), resources: resourceUsage(c), wire: { ...c.traffic } };
  }

  checkHealth(options: { readonly timeoutMs?: number } = {}): Promise<HealthReport> {
    return checkHealth(this.#c, options);
  }

  /** The last health checks, oldest first (at most 20). */
  get healthHistory(): readonly (HealthReport & { readonly at: number })[] {
    return this.#c.healthHistory;
  }

  /** Loads, initialises and starts the plugin (from Unknown, Stopped, Unloaded or Failed). */
  start(): Promise<void> {
    return start(this.#c);
  }

  /**
   * Stops the plugin: no new calls, in-flight ones finish (bounded), then its stop hook. The worker stays.
   * `reason` goes on the `Stopping` state change.
   */
  stop(reason?: string): Promise<void> {
    return stop(this.#c, reason);
  }

  /**
   * Points an unloaded plugin at a new version of its folder (a reload), keeping this handle and its metrics.
   * The id must stay the same.
   */
  redefine(options: Omit<PluginOptions, "events" | "onPluginCall">): void {
    redefine(this.#c, options);
  }

  /**
   * Blue/green: starts `options` (a new version) in a new worker beside the running one; once it is Running and
   * passes a health check, new calls go to it, and the old worker drains (bounded by DrainTimeout), runs its
   * stop hook and ends. If the new version fails at any step, it is ended and the old one keeps serving: this
   * rejects with the cause. The plugin stays Running throughout.
   */
  swap(options: Omit<PluginOptions, "events" | "onPluginCall">): Promise<void> {
    return swap(this.#c, options);
  }

  /** Self-healing gave up on this plugin: it stays Failed, and says why, until an operator starts it. */
  quarantine(reason: string): void {
    const c = this.#c;
    c.lastError = new PluginHostError("QUARANTINED", `Plugin "${this.id}" ${reason}`, {
      pluginId: this.id,
      ...(c.lastError ? { cause: c.lastError } : {}),
    });
  }

  /** Stops the plugin if it runs (`reason` goes on the `Stopping` state change), then ends its worker. */
  unload(reason?: string): Promise<void> {
    return unload(this.#c, reason);
  }

  /**
   * Marks the plugin `Failed` with `reason` (a `DEPENDENCY_FAILED` error) without loading it: the host does this
   * to a plugin whose dependencies cannot be met. From Unknown it moves straight to Failed; from Unloaded
   * through Loading (Unloaded → Failed is not a move); a loaded plugin fails and its worker ends.
   */
  markFailed(reason: string): Promise<void> {
    return markFailed(this.#c, reason);
  }

  /** Tells a Running plugin that a dependency changed (its `dependencyChanged` hook); never rejects. */
  async dependencyChanged(change: DependencyChange): Promise<void> {
    const c = this.#c;
    const conn = c.conn;
    if (!conn || this.state !== "Running") return;
    await conn.call("hook", "dependencyChanged", [change], { timeoutMs: c.o.hookTimeoutMs }).catch((e) =>
      c.log.warn("its dependencyChanged hook failed: {message}", { message: String(e?.message ?? e) })
    );
  }
}
