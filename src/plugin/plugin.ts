/**
 * One plugin: its lifecycle, its connection in an isolation tier, its metrics. The host hands it out as a
 * {@linkcode PluginHandle}.
 *
 * @module
 */

import type { ReloadEvent } from "../events/events.ts";
import type { PluginState } from "../lifecycle/lifecycle.ts";
import type { PluginManifest } from "../manifest/manifest.ts";
import type { DiscoveredPlugin } from "../discovery/plugin_folder.ts";
import type { PluginMetricsSnapshot } from "./metrics.ts";
import type { EffectivePermissions } from "../permissions/permissions.ts";
import type { DependencyChange, HealthReport } from "../plugin_api.ts";
import type { CallOptions } from "../rpc/endpoint.ts";
import { PluginHostError } from "../errors.ts";
import { getLogger, type Logger } from "../_npm/logtape.ts";
import type { WireTraffic } from "../isolation/tier.ts";
import { DEFAULT_LOG_RATE, LogBudget } from "../logging/log_rate.ts";
import { CallMetrics } from "./metrics.ts";
import { HealthChecks } from "./_health.ts";
import { ResourceWatch } from "./_resources.ts";
import { PluginLife } from "./_life.ts";
import { Shutdowns } from "./_shutdowns.ts";
import { SoftLimits } from "./_soft_limits.ts";
import type { ShutdownEvent, ShutdownReason } from "../lifecycle/shutdown.ts";
import { settledWithin } from "../_common/deadline.ts";
import type { PluginParts } from "./_connection.ts";
import type { PluginHandle, PluginOptions } from "./types.ts";
export type { PluginHandle, PluginOptions } from "./types.ts";

/** One plugin in the host. Use it through {@linkcode PluginHandle}. */
export class Plugin implements PluginHandle {
  // Each piece of its state has one owner: its life (options, connection, last error), its resources, its
  // health history, its call metrics, its last reload.
  readonly #life: PluginLife;
  readonly #resources: ResourceWatch;
  readonly #health: HealthChecks;
  readonly #metrics: CallMetrics = new CallMetrics();
  readonly #traffic: WireTraffic = { messagesSent: 0, messagesReceived: 0, sharedCalls: 0 };
  readonly #log: Logger;
  readonly #shutdowns: Shutdowns;
  #lastReload: ReloadEvent | undefined;
  /** When the last call came (`performance.now()`), for `IdleTimeout`. */
  #lastCallAt = performance.now();

  /** Creates the plugin in `Unknown`; nothing runs until {@linkcode Plugin.start}. */
  constructor(options: PluginOptions) {
    const id = options.discovered.manifest.id;
    const log = this.#log = getLogger(["dotcompute", "plugin", id]);
    const isCurrent = (conn: Parameters<PluginLife["isCurrent"]>[0]): boolean => this.#life.isCurrent(conn);
    this.#health = new HealthChecks(isCurrent);
    this.#resources = new ResourceWatch({
      id,
      log,
      isCurrent,
      probeCpu: (conn) => {
        const { callTimeoutMs, maxCpuPercent } = this.#life.options;
        return this.#health.probe(conn, callTimeoutMs, "cpu", maxCpuPercent);
      },
    }, options.maxCpuPercent);
    const parts: PluginParts = {
      id,
      log,
      metrics: this.#metrics,
      traffic: this.#traffic,
      // Kept across restarts and reloads; none when the host sets no limit.
      logs: options.logRate === false ? undefined : new LogBudget(options.logRate ?? DEFAULT_LOG_RATE),
      resources: this.#resources,
      health: this.#health,
      shutdowns: this.#shutdowns = new Shutdowns(id),
      soft: new SoftLimits((conn, reason, detail) => void this.#life.retire(conn, reason, detail)),
    };
    this.#life = new PluginLife(options, parts);
  }

  /** The last reload's outcome (the host records it after every reload). */
  get lastReload(): ReloadEvent | undefined {
    return this.#lastReload;
  }

  /** The host records the outcome of a reload of this plugin. */
  recordReload(event: ReloadEvent): void {
    this.#lastReload = event;
  }

  get id(): string {
    return this.#life.options.discovered.manifest.id;
  }
  get name(): string {
    return this.#life.options.discovered.manifest.name;
  }
  get version(): string {
    return this.#life.options.discovered.manifest.version;
  }
  get manifest(): PluginManifest {
    return this.#life.options.discovered.manifest;
  }
  get dir(): string {
    return this.#life.options.discovered.dir;
  }
  get isolation(): string {
    return this.#life.options.tier.kind;
  }
  get permissions(): EffectivePermissions {
    return this.#life.options.permissions;
  }
  get state(): PluginState {
    return this.#life.state;
  }
  get methods(): readonly string[] {
    return this.#life.conn?.methods ?? [];
  }
  get lastError(): Error | undefined {
    return this.#life.lastError;
  }
  get settings(): Readonly<Record<string, unknown>> {
    return this.#life.options.settings;
  }
  get lastExit(): PluginHandle["lastExit"] {
    return this.#life.lastExit;
  }
  /** `Activation` in force: `lazy` plugins wait for their first call to start a worker. */
  get activation(): "eager" | "lazy" {
    return this.#life.options.activation ?? "eager";
  }
  /** Whether it runs as a replica set now, or would under `next` (a change then rolls, never restarts). */
  pooled(next: Omit<PluginOptions, "events" | "onPluginCall">): boolean {
    return this.#life.replicas !== undefined || (next.replicas ?? 1) > 1 || next.maxConcurrency !== undefined;
  }
  /** `IdleTimeout` in force, if any. */
  get idleTimeoutMs(): number | undefined {
    return this.#life.options.idleTimeoutMs;
  }
  get dormant(): "lazy" | "idle" | undefined {
    return this.#life.dormant;
  }
  get lastShutdown(): ShutdownEvent | undefined {
    return this.#shutdowns.last;
  }
  /** The plugin folder as discovery found it. */
  get discovered(): DiscoveredPlugin {
    return this.#life.options.discovered;
  }

  /**
   * Pushes new settings to the plugin without a restart (its `validateSettings`, then `configure` hook). When
   * the plugin refuses them, this rejects and the plugin keeps the old ones. A plugin that is not loaded just
   * gets them at its next start.
   */
  configure(settings: Readonly<Record<string, unknown>>): Promise<void> {
    return this.#life.configure(settings);
  }

  call(method: string, ...args: unknown[]): Promise<unknown> {
    return this.request(method, args);
  }

  request(method: string, args: readonly unknown[], options?: CallOptions): Promise<unknown> {
    const life = this.#life, conn = life.conn;
    this.#lastCallAt = performance.now();
    if (this.#resources.throttled && this.state === "Running") {
      return Promise.reject(this.#resources.overloaded());
    }
    if (!life.accepting || !conn) {
      if (life.dormant) return this.#wake(method, args, options);
      const state = this.state === "Running" ? "stopping" : this.state;
      return Promise.reject(
        new PluginHostError("PLUGIN_NOT_RUNNING", `Plugin "${this.id}" is ${state}, not Running`, {
          pluginId: this.id,
        }),
      );
    }
    // No promise or closure of its own: the connection reports the call's end to the metrics.
    if (life.options.enableMetrics !== false) this.#metrics.started();
    return conn.call("method", method, args, options);
  }

  /** A call to a dormant plugin starts it, and waits (bounded by its timeout) before it goes in. */
  async #wake(method: string, args: readonly unknown[], options?: CallOptions): Promise<unknown> {
    const timeoutMs = options?.timeoutMs ?? this.#life.options.callTimeoutMs;
    const started = this.activate();
    if (!await settledWithin(started, timeoutMs)) {
      throw new PluginHostError(
        "CALL_TIMEOUT",
        `Plugin "${this.id}" did not start within ${timeoutMs} ms for a call to "${method}"`,
        { pluginId: this.id },
      );
    }
    await started;
    if (!this.#life.accepting) {
      throw new PluginHostError("PLUGIN_NOT_RUNNING", `Plugin "${this.id}" is ${this.state}, not Running`, {
        pluginId: this.id,
      });
    }
    return this.request(method, args, options);
  }

  /** Starts a dormant plugin (lazy or idle); a running one is left as it is. */
  activate(): Promise<void> {
    return this.#life.dormant ? this.#life.start() : Promise.resolve();
  }

  /** Lazy activation: Unknown → Loading → Loaded with no worker (see {@linkcode PluginHandle.dormant}). */
  prepare(): Promise<void> {
    return this.#life.prepare();
  }

  /** `IdleTimeout`: stops the plugin (reason idle) and ends its worker when it had no call for `idleMs`. */
  sleepIfIdle(idleMs: number): Promise<void> {
    if (this.state !== "Running" || performance.now() - this.#lastCallAt < idleMs) return Promise.resolve();
    return this.#life.sleep(idleMs, () => this.#lastCallAt);
  }

  getMetrics(): PluginMetricsSnapshot {
    const resources = this.#resources.snapshot(this.#life.options, this.#life.lastExit?.kind);
    const pool = this.#life.replicas?.snapshot();
    return {
      ...this.#metrics.snapshot(),
      resources,
      wire: { ...this.#traffic },
      ...(pool ? { replicas: pool.replicas, queue: pool.queue } : {}),
      shutdowns: this.#shutdowns.counts(),
    };
  }

  checkHealth(options: { readonly timeoutMs?: number } = {}): Promise<HealthReport> {
    return this.#health.check(this.#life.conn, this.state, options);
  }

  /** The last health checks, oldest first (at most 20). */
  get healthHistory(): readonly (HealthReport & { readonly at: number })[] {
    return this.#health.history;
  }

  /** Loads, initialises and starts the plugin (from Unknown, Stopped, Unloaded or Failed). */
  start(): Promise<void> {
    return this.#life.start();
  }

  /**
   * Stops the plugin: no new calls, in-flight ones finish (bounded), then its stop hook. The worker stays.
   * `reason` goes on the `Stopping` state change.
   */
  stop(reason?: string): Promise<void> {
    return this.#life.stop(reason);
  }

  /**
   * Points an unloaded plugin at a new version of its folder (a reload), keeping this handle and its metrics.
   * The id must stay the same.
   */
  redefine(options: Omit<PluginOptions, "events" | "onPluginCall">): void {
    this.#life.redefine(options);
  }

  /**
   * Blue/green: starts `options` (a new version) in a new worker beside the running one; once it is Running and
   * passes a health check, new calls go to it, and the old worker drains (bounded by DrainTimeout), runs its
   * stop hook and ends. If the new version fails at any step, it is ended and the old one keeps serving: this
   * rejects with the cause. The plugin stays Running throughout.
   */
  swap(options: Omit<PluginOptions, "events" | "onPluginCall">): Promise<void> {
    return this.#life.swap(options);
  }

  /** Self-healing gave up on this plugin: it stays Failed, and says why, until an operator starts it. */
  quarantine(reason: string): void {
    this.#life.quarantine(reason);
  }

  /**
   * Stops the plugin if it runs (`reason` goes on the `Stopping` state change), then ends its worker; `why` is
   * the shutdown's typed reason (default `stop`).
   */
  unload(reason?: string, why?: ShutdownReason): Promise<void> {
    return this.#life.unload(reason, why);
  }

  /**
   * Marks the plugin `Failed` with `reason` (a `DEPENDENCY_FAILED` error) without loading it: the host does this
   * to a plugin whose dependencies cannot be met. From Unknown it moves straight to Failed; from Unloaded
   * through Loading (Unloaded → Failed is not a move); a loaded plugin fails and its worker ends.
   */
  markFailed(reason: string): Promise<void> {
    return this.#life.markFailed(reason);
  }

  /** Tells a Running plugin that a dependency changed (its `dependencyChanged` hook); never rejects. */
  async dependencyChanged(change: DependencyChange): Promise<void> {
    const life = this.#life, conn = life.conn;
    if (!conn || this.state !== "Running") return;
    await conn.call("hook", "dependencyChanged", [change], { timeoutMs: life.options.hookTimeoutMs }).catch((
      e,
    ) =>
      this.#log.warn("its dependencyChanged hook failed: {message}", { message: String(e?.message ?? e) })
    );
  }
}
