/**
 * One plugin: its lifecycle, its connection in an isolation tier, its metrics. The host hands it out as a
 * {@linkcode PluginHandle}.
 *
 * @module
 */

import { getLogger, type LogLevel } from "@logtape/logtape";
import { CallTimeoutError, PluginHostError } from "./errors.ts";
import type { Emitter, HostEventMap, ReloadEvent } from "./events.ts";
import type { IsolationTier, PluginConnection, WireTraffic } from "./isolation/tier.ts";
import { Lifecycle, type PluginState } from "./lifecycle.ts";
import type { PluginManifest } from "./manifest.ts";
import type { DiscoveredPlugin } from "./plugin_folder.ts";
import { CallMetrics, type PluginMetricsSnapshot, type ResourceUsage } from "./metrics.ts";
import type { EffectivePermissions } from "./permissions.ts";
import type {
  DependencyChange,
  HealthReport,
  MethodArgs,
  MethodName,
  MethodResult,
  UntypedMethods,
} from "./plugin_api.ts";
import type { CallOptions } from "./rpc/endpoint.ts";
import { toFileUrl } from "./_paths.ts";
import { CpuBudget, WINDOW_MS } from "./_cpu_budget.ts";

/** A plugin with a CPU budget whose event loop has not turned for this long is ended (reason cpu). */
const HARD_CPU_MS = 5000;

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
  /** `Plugins.EnableMetrics`: false skips counting calls and their latency (default true). */
  readonly enableMetrics?: boolean;
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
  #o: PluginOptions;
  readonly #life: Lifecycle;
  readonly #metrics = new CallMetrics();
  readonly #traffic: WireTraffic = { messagesSent: 0, messagesReceived: 0, sharedCalls: 0 };
  readonly #log;
  #conn: PluginConnection | undefined;
  #lastError: Error | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #everStarted = false;
  /** False from the moment a stop is asked for, so no call slips in while the stop waits its turn. */
  #accepting = false;
  /** Set by the host after every reload. */
  lastReload: ReloadEvent | undefined;
  #lastExit: PluginHandle["lastExit"];
  #cpu: CpuBudget;
  #heapUsed: number | undefined;
  #throttled = false;
  #lagMs: number | undefined;
  readonly #healthHistory: (HealthReport & { readonly at: number })[] = [];
  #probing = false;

  /** Creates the plugin in `Unknown`; nothing runs until {@linkcode Plugin.start}. */
  constructor(options: PluginOptions) {
    this.#o = options;
    this.#cpu = new CpuBudget(options.maxCpuPercent);
    this.#log = getLogger(["dotcompute", "plugin", this.id]);
    this.#life = new Lifecycle(this.id, (change) => options.events.emit("state", change));
  }

  get id(): string {
    return this.#o.discovered.manifest.id;
  }
  get name(): string {
    return this.#o.discovered.manifest.name;
  }
  get version(): string {
    return this.#o.discovered.manifest.version;
  }
  get manifest(): PluginManifest {
    return this.#o.discovered.manifest;
  }
  get dir(): string {
    return this.#o.discovered.dir;
  }
  get isolation(): string {
    return this.#o.tier.kind;
  }
  get permissions(): EffectivePermissions {
    return this.#o.permissions;
  }
  get state(): PluginState {
    return this.#life.state;
  }
  get methods(): readonly string[] {
    return this.#conn?.methods ?? [];
  }
  get lastError(): Error | undefined {
    return this.#lastError;
  }
  get settings(): Readonly<Record<string, unknown>> {
    return this.#o.settings;
  }
  get lastExit(): PluginHandle["lastExit"] {
    return this.#lastExit;
  }
  /** The plugin folder as discovery found it. */
  get discovered(): DiscoveredPlugin {
    return this.#o.discovered;
  }

  /**
   * Pushes new settings to the plugin without a restart (its `validateSettings`, then `configure` hook). When
   * the plugin refuses them, this rejects and the plugin keeps the old ones. A plugin that is not loaded just
   * gets them at its next start.
   */
  configure(settings: Readonly<Record<string, unknown>>): Promise<void> {
    return this.#serial(async () => {
      const conn = this.#conn;
      if (conn && (this.state === "Running" || this.state === "Initialized" || this.state === "Stopped")) {
        await conn.call("hook", "configure", [settings], { timeoutMs: this.#o.hookTimeoutMs });
      }
      this.#o = { ...this.#o, settings };
    });
  }

  call(method: string, ...args: unknown[]): Promise<unknown> {
    return this.request(method, args);
  }

  request(method: string, args: readonly unknown[], options?: CallOptions): Promise<unknown> {
    const conn = this.#conn;
    if (this.#throttled && this.state === "Running") {
      return Promise.reject(
        new PluginHostError(
          "PLUGIN_OVERLOADED",
          `Plugin "${this.id}" is over its CPU budget (${
            this.#cpu.percent.toFixed(0)
          }% of one core over the last ${
            WINDOW_MS / 1000
          } s; MaxCpuPercent ${this.#cpu.maxPercent}): try again later`,
          { pluginId: this.id },
        ),
      );
    }
    if (this.state !== "Running" || !conn || !this.#accepting) {
      const state = this.state === "Running" ? "stopping" : this.state;
      return Promise.reject(
        new PluginHostError("PLUGIN_NOT_RUNNING", `Plugin "${this.id}" is ${state}, not Running`, {
          pluginId: this.id,
        }),
      );
    }
    // No promise or closure of its own: the connection reports the call's end to #methodEnded.
    if (this.#o.enableMetrics !== false) this.#metrics.started();
    return conn.call("method", method, args, options);
  }

  /** A method call ended (told by the connection, once per call): metrics, and a probe after a timeout. */
  #methodEnded(conn: PluginConnection | undefined, startedAt: number, error: unknown): void {
    if (this.#o.enableMetrics !== false) this.#metrics.finish(startedAt, error);
    if (conn && error instanceof CallTimeoutError) void this.#probe(conn);
  }

  getMetrics(): PluginMetricsSnapshot {
    const o = this.#o;
    const resources: ResourceUsage = {
      ...(o.maxMemoryMB ? { maxMemoryMB: o.maxMemoryMB } : {}),
      ...(o.maxCpuPercent ? { maxCpuPercent: o.maxCpuPercent } : {}),
      cpuPercent: Math.round(this.#cpu.percent * 10) / 10,
      ...(this.#heapUsed !== undefined ? { heapUsedBytes: this.#heapUsed } : {}),
      ...(this.#lagMs !== undefined ? { eventLoopLagMs: Math.round(this.#lagMs * 100) / 100 } : {}),
      throttled: this.#throttled,
      ...(this.#lastExit ? { lastExitKind: this.#lastExit.kind } : {}),
    };
    return { ...this.#metrics.snapshot(), resources, wire: { ...this.#traffic } };
  }

  async checkHealth(options: { readonly timeoutMs?: number } = {}): Promise<HealthReport> {
    const conn = this.#conn;
    if (!conn || this.state !== "Running") {
      return this.#record({ status: "unhealthy", details: { state: this.state } });
    }
    const deadline = options.timeoutMs ?? 3000;
    // First the runtime itself: no answer means the plugin's thread is stuck, whatever its health() would say.
    try {
      await conn.call("hook", "ping", [], { timeoutMs: deadline });
    } catch (e) {
      if (e instanceof CallTimeoutError && this.#conn === conn) {
        await conn.kill("timeout", `unresponsive: no answer to a health ping within ${deadline} ms`);
      }
      return this.#record({
        status: "unhealthy",
        details: { error: e instanceof Error ? e.message : String(e) },
      });
    }
    try {
      return this.#record(parseHealth(await conn.call("hook", "health", [], { timeoutMs: deadline })));
    } catch (e) {
      return this.#record({
        status: "unhealthy",
        details: { error: e instanceof Error ? e.message : String(e) },
      });
    }
  }

  /** The last health checks, oldest first (at most 20). */
  get healthHistory(): readonly (HealthReport & { readonly at: number })[] {
    return this.#healthHistory;
  }

  #record(report: HealthReport): HealthReport {
    this.#healthHistory.push({ ...report, at: Date.now() });
    if (this.#healthHistory.length > 20) this.#healthHistory.shift();
    return report;
  }

  /** Loads, initialises and starts the plugin (from Unknown, Stopped, Unloaded or Failed). */
  start(): Promise<void> {
    return this.#serial(async () => {
      if (this.state === "Running") return;
      try {
        if (this.state !== "Stopped" && this.state !== "Initialized") await this.#load();
        this.#life.moveTo("Starting");
        await this.#hook("start");
        if (this.#everStarted) this.#metrics.restarts++;
        this.#everStarted = true;
        this.#metrics.runningSince = Date.now();
        this.#accepting = true;
        this.#life.moveTo("Running");
      } catch (e) {
        await this.#fail(e);
        throw new PluginHostError(
          "START_FAILED",
          `Cannot start plugin "${this.id}": ${this.#lastError?.message}`,
          {
            pluginId: this.id,
            cause: e,
          },
        );
      }
    });
  }

  /**
   * Stops the plugin: no new calls, in-flight ones finish (bounded), then its stop hook. The worker stays.
   * `reason` goes on the `Stopping` state change.
   */
  stop(reason?: string): Promise<void> {
    this.#accepting = false;
    return this.#serial(async () => {
      if (this.state !== "Running") return;
      this.#life.moveTo("Stopping", reason);
      this.#metrics.runningSince = undefined;
      try {
        await this.#drain();
        await this.#hook("stop");
        this.#life.moveTo("Stopped");
      } catch (e) {
        await this.#fail(e);
      }
    });
  }

  /**
   * Points an unloaded plugin at a new version of its folder (a reload), keeping this handle and its metrics.
   * The id must stay the same.
   */
  redefine(options: Omit<PluginOptions, "events" | "onPluginCall">): void {
    if (this.state !== "Unloaded" && this.state !== "Unknown" && this.state !== "Failed") {
      throw new PluginHostError("ILLEGAL_TRANSITION", `Plugin "${this.id}" must be unloaded to be redefined`);
    }
    if (options.discovered.manifest.id !== this.id) {
      throw new PluginHostError(
        "PLUGIN_NOT_FOUND",
        `Plugin "${this.id}" cannot become "${options.discovered.manifest.id}"`,
      );
    }
    this.#o = { ...this.#o, ...options };
  }

  /**
   * Blue/green: starts `options` (a new version) in a new worker beside the running one; once it is Running and
   * passes a health check, new calls go to it, and the old worker drains (bounded by DrainTimeout), runs its
   * stop hook and ends. If the new version fails at any step, it is ended and the old one keeps serving: this
   * rejects with the cause. The plugin stays Running throughout.
   */
  swap(options: Omit<PluginOptions, "events" | "onPluginCall">): Promise<void> {
    return this.#serial(async () => {
      if (this.state !== "Running" || !this.#conn) {
        throw new PluginHostError(
          "ILLEGAL_TRANSITION",
          `Plugin "${this.id}" is ${this.state}; only a Running plugin swaps`,
        );
      }
      if (options.discovered.manifest.id !== this.id) {
        throw new PluginHostError(
          "PLUGIN_NOT_FOUND",
          `Plugin "${this.id}" cannot become "${options.discovered.manifest.id}"`,
        );
      }
      const next: PluginOptions = { ...this.#o, ...options };
      let fresh: PluginConnection | undefined;
      try {
        fresh = await this.#spawn(next);
        const bound = { timeoutMs: next.hookTimeoutMs };
        await fresh.call("hook", "initialize", [], bound);
        await fresh.call("hook", "start", [], bound);
        const health = parseHealth(
          await fresh.call("hook", "health", [], { timeoutMs: Math.min(3000, next.hookTimeoutMs) }),
        );
        if (health.status === "unhealthy") {
          throw new Error(
            `the new version reported itself unhealthy: ${JSON.stringify(health.details ?? {})}`,
          );
        }
      } catch (e) {
        await fresh?.terminate("the new version failed to start");
        throw e;
      }
      const old = this.#conn;
      this.#o = next;
      this.#adopt(fresh);
      await this.#drain(old);
      await old.call("hook", "stop", [], { timeoutMs: next.hookTimeoutMs }).catch((e) =>
        this.#log.warn("the old version's stop hook failed: {message}", { message: String(e?.message ?? e) })
      );
      await old.terminate("replaced by a new version");
    });
  }

  /** Self-healing gave up on this plugin: it stays Failed, and says why, until an operator starts it. */
  quarantine(reason: string): void {
    this.#lastError = new PluginHostError("QUARANTINED", `Plugin "${this.id}" ${reason}`, {
      pluginId: this.id,
      ...(this.#lastError ? { cause: this.#lastError } : {}),
    });
  }

  /** Stops the plugin if it runs (`reason` goes on the `Stopping` state change), then ends its worker. */
  async unload(reason?: string): Promise<void> {
    await this.stop(reason);
    await this.#serial(async () => {
      if (this.state === "Unloaded" || this.state === "Unknown") return;
      if (this.state !== "Failed") this.#life.moveTo("Unloading");
      await this.#conn?.terminate("unloaded");
      this.#conn = undefined;
      this.#life.moveTo("Unloaded");
    });
  }

  /**
   * Marks the plugin `Failed` with `reason` (a `DEPENDENCY_FAILED` error) without loading it: the host does this
   * to a plugin whose dependencies cannot be met. From Unknown it moves straight to Failed; from Unloaded
   * through Loading (Unloaded → Failed is not a move); a loaded plugin fails and its worker ends.
   */
  markFailed(reason: string): Promise<void> {
    return this.#serial(async () => {
      const error = new PluginHostError("DEPENDENCY_FAILED", reason, { pluginId: this.id });
      if (this.state === "Failed" || this.state === "Unknown" || this.state === "Unloaded") {
        this.#lastError = error;
        if (this.state === "Unloaded") this.#life.moveTo("Loading", reason);
        if (this.state !== "Failed") this.#life.moveTo("Failed", reason);
        return;
      }
      await this.#fail(error);
    });
  }

  /** Tells a Running plugin that a dependency changed (its `dependencyChanged` hook); never rejects. */
  async dependencyChanged(change: DependencyChange): Promise<void> {
    const conn = this.#conn;
    if (!conn || this.state !== "Running") return;
    await conn.call("hook", "dependencyChanged", [change], { timeoutMs: this.#o.hookTimeoutMs }).catch((e) =>
      this.#log.warn("its dependencyChanged hook failed: {message}", { message: String(e?.message ?? e) })
    );
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(op, op);
    this.#queue = next.catch(() => {});
    return next;
  }

  async #load(): Promise<void> {
    this.#life.moveTo("Loading");
    const conn = await this.#spawn(this.#o);
    this.#adopt(conn);
    this.#life.moveTo("Loaded");
    this.#life.moveTo("Initializing");
    await this.#hook("initialize");
    this.#life.moveTo("Initialized");
  }

  /** Makes `conn` the one calls go to, and turns its unasked death into a crash of the plugin. */
  #adopt(conn: PluginConnection): void {
    this.#conn = conn;
    this.#cpu.lastSeen = Date.now();
    // The hard CPU action: a plugin with a budget whose loop stops reporting is pinged, then ended.
    const watchdog = this.#o.maxCpuPercent === undefined ? undefined : setInterval(() => {
      if (this.#conn === conn && Date.now() - this.#cpu.lastSeen > HARD_CPU_MS) void this.#probe(conn, "cpu");
    }, 1000);
    void conn.exited.then(() => clearInterval(watchdog));
    conn.exited.then((info) => {
      if (this.#conn !== conn || info.kind === "terminated") return;
      this.#lastExit = { kind: info.kind, reason: info.reason, at: Date.now() };
      this.#o.events.emit("crash", { id: this.id, reason: info.reason, at: Date.now() });
      void this.#fail(info.error ?? new Error(info.reason));
    });
  }

  #spawn(o: PluginOptions): Promise<PluginConnection> {
    const d = o.discovered;
    let conn: PluginConnection | undefined;
    return o.tier.spawn({
      id: this.id,
      name: d.manifest.name,
      version: d.manifest.version,
      entryUrl: toFileUrl(d.entryPath),
      settings: o.settings,
      dependencies: Object.keys(d.manifest.dependencies),
      permissions: o.permissions,
      callTimeoutMs: o.callTimeoutMs,
      loadTimeoutMs: o.hookTimeoutMs,
      traffic: this.#traffic,
      onMethodEnd: (startedAt, error) => this.#methodEnded(conn, startedAt, error),
      ...(o.maxMemoryMB ? { maxMemoryMB: o.maxMemoryMB } : {}),
      ...(o.maxCpuPercent ? { maxCpuPercent: o.maxCpuPercent } : {}),
      onUsage: (m) => this.#usage(m.blockedMs, m.intervalMs, m.heapUsed, m.tickMs ?? 100),
      onLog: (m) => {
        const category = m.category.slice(1);
        const log = category.length ? this.#log.getChild(category as [string, ...string[]]) : this.#log;
        const properties = { ...m.properties, pluginId: this.id };
        log.emit({
          level: m.level as LogLevel,
          message: [m.message],
          rawMessage: m.message,
          properties,
          timestamp: Date.now(),
        });
      },
      onMetrics: (m) => this.#metrics.setCustom({ counters: m.counters, histograms: m.histograms }),
      onProtocolError: (reason) => {
        this.#metrics.protocolError();
        this.#log.warn("dropped a malformed message from the plugin: {reason}", { reason });
        this.#o.events.emit("protocolError", { id: this.id, reason, at: Date.now() });
      },
      onPluginCall: (target, method, args, signal) =>
        this.#o.onPluginCall(this.id, target, method, args, signal),
    }).then((c) => conn = c);
  }

  /** A usage report: soft CPU action (stop routing calls while over budget), heap for the metrics. */
  #usage(blockedMs: number, intervalMs: number, heapUsed: number, tickMs: number): void {
    this.#cpu.record(blockedMs, intervalMs);
    this.#heapUsed = heapUsed;
    this.#lagMs = blockedMs / Math.max(1, intervalMs / tickMs); // mean lateness per tick of the usage timer
    const over = this.#cpu.over;
    if (over !== this.#throttled) {
      this.#throttled = over;
      if (over) {
        this.#log.warn(
          "plugin {id} is over its CPU budget ({percent}%): new calls are refused until it is not",
          {
            id: this.id,
            percent: Math.round(this.#cpu.percent),
          },
        );
      } else this.#log.info("plugin {id} is back within its CPU budget", { id: this.id });
    }
  }

  /**
   * A call timed out: is the plugin still there? The runtime answers a ping by itself, so no answer within
   * the deadline means its thread is stuck (a busy loop, a blocked event loop): end it, with reason timeout.
   */
  async #probe(conn: PluginConnection, kind: "timeout" | "cpu" = "timeout"): Promise<void> {
    if (this.#probing) return;
    this.#probing = true;
    const deadline = Math.min(3000, this.#o.callTimeoutMs);
    try {
      await conn.call("hook", "ping", [], { timeoutMs: deadline });
    } catch (e) {
      if (e instanceof CallTimeoutError && this.#conn === conn) {
        const why = kind === "timeout"
          ? `unresponsive: a call timed out and the plugin did not answer a ping within ${deadline} ms`
          : `its event loop has been blocked for over ${
            HARD_CPU_MS / 1000
          } s (MaxCpuPercent ${this.#cpu.maxPercent})`;
        await conn.kill(kind, why);
      }
    } finally {
      this.#probing = false;
    }
  }

  #hook(name: "initialize" | "start" | "stop"): Promise<unknown> {
    return this.#conn!.call("hook", name, [], { timeoutMs: this.#o.hookTimeoutMs });
  }

  async #drain(conn: PluginConnection | undefined = this.#conn): Promise<void> {
    if (!conn || conn.pending === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, this.#o.drainTimeoutMs));
    await Promise.race([conn.idle(), timeout]);
    clearTimeout(timer);
  }

  async #fail(error: unknown): Promise<void> {
    const e = error instanceof Error ? error : new Error(String(error));
    const cause = e;
    this.#lastError = cause;
    this.#metrics.recordError(cause);
    this.#metrics.runningSince = undefined;
    const conn = this.#conn;
    this.#conn = undefined;
    if (this.state !== "Failed" && this.state !== "Unloaded") this.#life.moveTo("Failed", cause.message);
    this.#log.error("plugin failed: {message}", { message: cause.message });
    await conn?.terminate(`failed: ${cause.message}`);
  }
}

function parseHealth(r: unknown): HealthReport {
  if (typeof r === "object" && r !== null) {
    const { status, details } = r as Record<string, unknown>;
    if (status === "healthy" || status === "degraded" || status === "unhealthy") {
      return typeof details === "object" && details !== null
        ? { status, details: details as Record<string, unknown> }
        : { status };
    }
  }
  return { status: "unhealthy", details: { error: "health() returned no valid status" } };
}
