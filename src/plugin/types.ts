import type { DiscoveredPlugin } from "../discovery/plugin_folder.ts";
import type { Emitter, HostEventMap, ReloadEvent } from "../events/events.ts";
import type { IsolationTier } from "../isolation/tier.ts";
import type { PluginState } from "../lifecycle/lifecycle.ts";
import type { ShutdownEvent } from "../lifecycle/shutdown.ts";
import type { LogRate } from "../logging/log_rate.ts";
import type { PluginManifest } from "../manifest/manifest.ts";
import type { EffectivePermissions } from "../permissions/permissions.ts";
import type { HealthReport, MethodArgs, MethodName, MethodResult, UntypedMethods } from "../plugin_api.ts";
import type { CallOptions } from "../rpc/endpoint.ts";
import type { PluginMetricsSnapshot } from "./metrics.ts";

/**
 * What the host and other code see of a plugin. Stable for the plugin's whole life in the host. `M`, the
 * plugin's method table, types `call` and `request` (see `host.getPlugin<typeof plugin>(id)`); by default any
 * method name and arguments compile and results are `unknown`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { testPlugin } from "@dotcompute/plugins/testing";
 * import type plugin from "../../plugins/hello/mod.ts";
 * await using p = await testPlugin("plugins/hello");
 * const hello = p.host.getPlugin<typeof plugin>("hello.world")!;
 * const text: string = await hello.call("greet", "Ada"); // checked at compile time
 * assert.equal(text, "hello Ada");
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
  /**
   * Why it has no worker although it serves: `lazy` (`Activation: "lazy"`, not needed yet; state `Loaded`) or
   * `idle` (stopped after `IdleTimeout`; state `Stopped`). A call, a service lookup or a dependent's start
   * starts it; undefined otherwise.
   */
  readonly dormant: "lazy" | "idle" | undefined;
  /** The last end of one of its instances (a worker, a process, a replica), with its typed reason. */
  readonly lastShutdown: ShutdownEvent | undefined;
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
  /** Replicas to run (`Replicas`, only for a `Scalable` plugin); default 1. */
  readonly replicas?: number;
  /** Calls in flight per replica (`MaxConcurrency`); more wait in a queue. None: no cap. */
  readonly maxConcurrency?: number;
  /** How long a call may wait in that queue (`QueueTimeout`); default: the call's own timeout. */
  readonly queueTimeoutMs?: number;
  /** `"lazy"`: its worker starts on the first call (or dependent, or service lookup); default `"eager"`. */
  readonly activation?: "eager" | "lazy";
  /** Stop the plugin (and end its worker) after this long without a call (`IdleTimeout`); none when absent. */
  readonly idleTimeoutMs?: number;
  /** Soft heap-and-buffers limit in MiB (`ResourceLimits.SoftMemoryMB`): retire and replace past it. */
  readonly softMemoryMB?: number;
  /** Soft CPU limit in percent of one core (`ResourceLimits.SoftCpuPercent`): retire and replace past it. */
  readonly softCpuPercent?: number;
  /** An instance's longest life (`ResourceLimits.MaxLifetime`): retired and replaced after it. */
  readonly maxLifetimeMs?: number;
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
