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
import { PluginCore } from "./_core.ts";
import { checkHealth } from "./_health.ts";
import { overloaded, resourceUsage } from "./_resources.ts";
import { markFailed, redefine, start, stop, unload } from "./_transitions.ts";
import { swap } from "./_swap.ts";
import type { PluginHandle, PluginOptions } from "./types.ts";
export type { PluginHandle, PluginOptions } from "./types.ts";

/** One plugin in the host. Use it through {@linkcode PluginHandle}. */
export class Plugin implements PluginHandle {
  /** Its state, shared with the `_`-prefixed modules of plugin/ that do the work. */
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
