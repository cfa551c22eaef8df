/**
 * Internal: one plugin's life, the one owner of its options, its connection and its last error and exit. Start,
 * stop, unload, redefine, swap and mark failed, each one at a time in the order asked.
 *
 * @module
 */

import { PluginHostError } from "../errors.ts";
import { settledWithin } from "../_common/deadline.ts";
import type { HookName } from "../rpc/protocol.ts";
import type { PluginConnection } from "../isolation/tier.ts";
import { Lifecycle, type PluginState } from "../lifecycle/lifecycle.ts";
import type { PluginHandle, PluginOptions } from "./types.ts";
import { open, type PluginParts, samePool, spawn } from "./_connection.ts";
import { hookError } from "./_hook_error.ts";
import { bringUp } from "./_fresh.ts";
import { ReplicaSet } from "./_replicas.ts";
import { exitReason, type RetireReason, type ShutdownReason } from "../lifecycle/shutdown.ts";

/** A plugin's options without what the host wires itself (events, call routing): what a reload replaces. */
export type PluginRevision = Omit<PluginOptions, "events" | "onPluginCall">;

/** What one plugin is, runs as, and last went through. */
export class PluginLife {
  #o: PluginOptions;
  #conn: PluginConnection | undefined;
  #lastError: Error | undefined;
  #lastExit: PluginHandle["lastExit"];
  #queue: Promise<unknown> = Promise.resolve();
  #everStarted = false;
  /** False from the moment a stop is asked for, so no call slips in while the stop waits its turn. */
  #accepting = false;
  /** Why it has no worker although it serves (lazy, idle): a call starts it. */
  #dormant: "lazy" | "idle" | undefined;
  readonly #life: Lifecycle;
  readonly #parts: PluginParts;

  constructor(options: PluginOptions, parts: PluginParts) {
    this.#o = options;
    this.#parts = parts;
    this.#life = new Lifecycle(parts.id, (change) => options.events.emit("state", change));
  }

  get options(): PluginOptions {
    return this.#o;
  }
  get state(): PluginState {
    return this.#life.state;
  }
  /** The connection calls go to: none before a load and after an end. */
  get conn(): PluginConnection | undefined {
    return this.#conn;
  }
  /** Whether a call may go in now: Running, connected, and no stop asked for. */
  get accepting(): boolean {
    return this.#accepting && this.#conn !== undefined && this.state === "Running";
  }
  get lastError(): Error | undefined {
    return this.#lastError;
  }
  get lastExit(): PluginHandle["lastExit"] {
    return this.#lastExit;
  }

  get dormant(): "lazy" | "idle" | undefined {
    return this.#dormant;
  }

  /** Whether `conn` is still one calls go to (the connection, or one of its replicas; not a replaced one). */
  isCurrent(conn: PluginConnection): boolean {
    const now = this.#conn;
    return now === conn || (now instanceof ReplicaSet && now.has(conn));
  }

  /** The replica set, when the plugin runs as one (`Replicas`, `MaxConcurrency`). */
  get replicas(): ReplicaSet | undefined {
    return this.#conn instanceof ReplicaSet ? this.#conn : undefined;
  }

  /** Calls lifecycle hook `name`, bounded by the hook timeout; what the plugin threw is named and located. */
  #hook(name: Extract<HookName, "initialize" | "start" | "stop">): Promise<unknown> {
    return this.#conn!.call("hook", name, [], { timeoutMs: this.#o.hookTimeoutMs }).catch((e: unknown) => {
      throw hookError(name, e, this.#o.discovered.dir);
    });
  }

  /** `Plugin.start`: loads, initialises and starts the plugin (from Unknown, Stopped, Unloaded or Failed). */
  start(): Promise<void> {
    return this.#serial(async () => {
      if (this.state === "Running") return;
      try {
        if (this.state === "Loaded" && !this.#conn) await this.#initialize(); // lazy: its first activation
        else if (this.state !== "Stopped" && this.state !== "Initialized") await this.#load();
        this.#life.moveTo("Starting", this.#dormant === "idle" ? "a call after idle" : undefined);
        if (!this.#conn) { // stopped for being idle: a fresh worker
          this.#adopt(await this.#open(this.#o));
          await this.#hook("initialize");
        }
        await this.#hook("start");
        this.#parts.metrics.running(this.#everStarted);
        this.#everStarted = true;
        this.#accepting = true;
        this.#dormant = undefined;
        this.#life.moveTo("Running");
      } catch (e) {
        this.#dormant = undefined;
        await this.#fail(e);
        const message = `Cannot start plugin "${this.#parts.id}": ${this.#lastError?.message}`;
        throw new PluginHostError("START_FAILED", message, { pluginId: this.#parts.id, cause: e });
      }
    });
  }

  /** `Plugin.stop`: no new calls, in-flight ones finish (bounded), then its stop hook. The worker stays. */
  stop(reason?: string): Promise<void> {
    this.#accepting = false;
    this.#dormant = undefined; // an operator's stop: no call starts it again
    return this.#serial(() => this.#stop(reason));
  }

  async #stop(reason: string | undefined): Promise<void> {
    if (this.state !== "Running") return;
    this.#life.moveTo("Stopping", reason);
    this.#parts.metrics.notRunning();
    try {
      await this.#drain(this.#conn);
      await this.#hook("stop");
      this.#life.moveTo("Stopped");
    } catch (e) {
      await this.#fail(e);
    }
  }

  /**
   * Lazy activation: verified and resolved (Unknown → Loading → Loaded) with no worker; the first call, service
   * lookup or dependent's start starts it.
   */
  prepare(): Promise<void> {
    return this.#serial(() => {
      if (this.state !== "Unknown" && this.state !== "Unloaded") return Promise.resolve();
      this.#life.moveTo("Loading", "lazy activation");
      this.#life.moveTo("Loaded", "lazy: its worker starts on the first call");
      this.#dormant = "lazy";
      return Promise.resolve();
    });
  }

  /**
   * `IdleTimeout`: a Running plugin with no call in flight and none for `idleMs` stops (reason `idle`) and its
   * worker ends; the next call starts it again. `lastCallAt` is read when the stop's turn comes.
   */
  sleep(idleMs: number, lastCallAt: () => number): Promise<void> {
    return this.#serial(async () => {
      const conn = this.#conn;
      if (!this.accepting || !conn || conn.pending > 0 || performance.now() - lastCallAt() < idleMs) return;
      this.#accepting = false;
      this.#dormant = "idle";
      await this.#stop(`idle: no call for ${idleMs} ms`);
      if (this.state !== "Stopped" || this.#conn !== conn) {
        this.#dormant = undefined; // its stop failed: Failed, not dormant (self-healing decides)
        return;
      }
      this.#conn = undefined;
      await this.#end(conn, "idle", `no call for ${idleMs} ms`);
    });
  }

  /** `Plugin.unload`: stops the plugin if it runs, then ends its worker. */
  async unload(reason?: string, why: ShutdownReason = "stop"): Promise<void> {
    this.#accepting = false;
    this.#dormant = undefined;
    await this.#serial(async () => {
      await this.#stop(reason);
      if (this.state === "Unloaded" || this.state === "Unknown") return;
      if (this.state !== "Failed") this.#life.moveTo("Unloading");
      const conn = this.#conn;
      this.#conn = undefined;
      try {
        if (conn) await this.#end(conn, why, reason ?? "unloaded");
      } finally {
        this.#life.moveTo("Unloaded"); // the worker is gone or going: never stuck in Unloading
      }
    });
  }

  /** `Plugin.redefine`: points an unloaded plugin at a new version of its folder; the id must stay the same. */
  redefine(definition: PluginRevision): void {
    if (this.state !== "Unloaded" && this.state !== "Unknown" && this.state !== "Failed") {
      throw new PluginHostError(
        "ILLEGAL_TRANSITION",
        `Plugin "${this.#parts.id}" must be unloaded to be redefined`,
      );
    }
    this.#o = this.#next(definition);
  }

  /** `Plugin.configure`: the hook when loaded (it may refuse), then the settings are the plugin's. */
  configure(settings: Readonly<Record<string, unknown>>): Promise<void> {
    return this.#serial(async () => {
      const loaded = this.state === "Running" || this.state === "Initialized" || this.state === "Stopped";
      // Its refusal (a SettingsError) is the caller's answer as the plugin gave it.
      const conn = this.#conn;
      if (conn && loaded) {
        await conn.call("hook", "configure", [settings], { timeoutMs: this.#o.hookTimeoutMs });
      }
      this.#o = { ...this.#o, settings };
    });
  }

  /** `Plugin.quarantine`: the last error says why self-healing gave up. */
  quarantine(reason: string): void {
    const id = this.#parts.id, cause = this.#lastError;
    this.#lastError = new PluginHostError("QUARANTINED", `Plugin "${id}" ${reason}`, {
      pluginId: id,
      ...(cause ? { cause } : {}),
    });
  }

  /** `Plugin.markFailed`: Failed with a `DEPENDENCY_FAILED` error, without loading it. */
  markFailed(reason: string): Promise<void> {
    return this.#serial(async () => {
      const error = new PluginHostError("DEPENDENCY_FAILED", reason, { pluginId: this.#parts.id });
      if (this.state === "Failed" || this.state === "Unknown" || this.state === "Unloaded") {
        this.#lastError = error;
        if (this.state === "Unloaded") this.#life.moveTo("Loading", reason);
        if (this.state !== "Failed") this.#life.moveTo("Failed", reason);
        return;
      }
      await this.#fail(error);
    });
  }

  /**
   * `Plugin.swap`: see there. Replicas of the same shape (count, cap, queue) roll one at a time; any other
   * change replaces them all at once, blue/green.
   */
  swap(definition: PluginRevision): Promise<void> {
    return this.#serial(async () => {
      const old = this.#conn;
      if (this.state !== "Running" || !old) {
        const message = `Plugin "${this.#parts.id}" is ${this.state}; only a Running plugin swaps`;
        throw new PluginHostError("ILLEGAL_TRANSITION", message);
      }
      const next = this.#next(definition), prev = this.#o;
      if (!(old instanceof ReplicaSet) || !samePool(prev, next)) {
        return await this.#replace(old, next, "reload");
      }
      this.#o = next; // restarts during the roll, and the fresh replicas, are the new version
      try {
        await old.replace(
          undefined,
          "reload",
          () => spawn(this.#parts, next),
          () => spawn(this.#parts, prev),
        );
      } catch (e) {
        this.#o = prev;
        throw e;
      }
    });
  }

  /**
   * A soft limit: `conn` (the plugin's instance, or one replica) gets its `retiring` hook, then a fresh instance
   * takes the new calls while it finishes its own. When no fresh one can start, it keeps serving.
   */
  retire(conn: PluginConnection, reason: RetireReason, detail: string): Promise<void> {
    return this.#serial(async () => {
      if (this.state !== "Running" || !this.isCurrent(conn) || conn.gone) return;
      const log = this.#parts.log;
      log.info("retiring an instance of plugin {id}: {detail}", { id: this.#parts.id, detail });
      await conn.call("hook", "retiring", [reason], { timeoutMs: this.#o.hookTimeoutMs }).catch((e) =>
        log.warn("its retiring hook failed: {message}", { message: String(e?.message ?? e) })
      );
      const set = this.replicas;
      await (set && set !== conn ? set.replace(conn, reason) : this.#replace(conn, this.#o, reason, detail))
        .catch((e) =>
          log.warn("no fresh instance could replace it ({message}); it keeps serving", {
            message: String(e?.message ?? e),
          })
        );
    });
  }

  /** Blue/green: `next` starts beside `old` and must be healthy; then `old` drains, stops and ends (`why`). */
  async #replace(
    old: PluginConnection,
    next: PluginOptions,
    why: ShutdownReason,
    detail?: string,
  ): Promise<void> {
    const fresh = await bringUp(await this.#open(next), "started", next.hookTimeoutMs, true);
    this.#o = next;
    this.#adopt(fresh);
    await this.#drain(old);
    await old.call("hook", "stop", [], { timeoutMs: next.hookTimeoutMs }).catch((e) =>
      this.#parts.log.warn("the old instance's stop hook failed: {message}", {
        message: String(e?.message ?? e),
      })
    );
    await this.#end(old, why, detail ?? (why === "reload" ? "replaced by a new version" : why));
  }

  /** Ends `conn` for `why`, recorded as its shutdown (a replica set records each of its replicas). */
  #end(conn: PluginConnection, why: ShutdownReason, detail: string): Promise<void> {
    if (conn instanceof ReplicaSet) return conn.terminate(detail, why);
    this.#parts.shutdowns.record(this.#o.events, conn, why, detail);
    return conn.terminate(detail);
  }

  /** The plugin failed: Failed, its connection ended, the cause kept and counted. */
  async #fail(error: unknown): Promise<void> {
    const cause = error instanceof Error ? error : new Error(String(error));
    this.#lastError = cause;
    this.#parts.metrics.recordError(cause);
    this.#parts.metrics.notRunning();
    const conn = this.#conn;
    this.#conn = undefined;
    if (this.state !== "Failed" && this.state !== "Unloaded") this.#life.moveTo("Failed", cause.message);
    this.#parts.log.error("plugin failed: {message}", { message: cause.message });
    if (conn) await this.#end(conn, "crash", `failed: ${cause.message}`);
  }

  /** Same id, new definition: a reload may not turn one plugin into another. */
  #next(definition: PluginRevision): PluginOptions {
    const id = this.#parts.id, to = definition.discovered.manifest.id;
    if (to !== id) throw new PluginHostError("PLUGIN_NOT_FOUND", `Plugin "${id}" cannot become "${to}"`);
    return { ...this.#o, ...definition };
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(op, op);
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Spawns the connection, adopts it, and initialises the plugin (Loading → Initialized). */
  async #load(): Promise<void> {
    this.#life.moveTo("Loading");
    this.#adopt(await this.#open(this.#o));
    this.#life.moveTo("Loaded");
    await this.#initialize();
  }

  /** Loaded → Initialized, spawning first when there is no worker yet (a lazy plugin's first activation). */
  async #initialize(): Promise<void> {
    if (!this.#conn) this.#adopt(await this.#open(this.#o));
    this.#life.moveTo("Initializing");
    await this.#hook("initialize");
    this.#life.moveTo("Initialized");
  }

  /** The plugin's connection for definition `o`: one worker, or a replica set (see `open`). */
  #open(o: PluginOptions): Promise<PluginConnection> {
    return open(this.#parts, o, (set) => this.#conn === set ? this.#o : o);
  }

  /** Makes `conn` the one calls go to, and turns its unasked death into a crash of the plugin. */
  #adopt(conn: PluginConnection): void {
    this.#conn = conn;
    this.#parts.resources.watch(conn, this.#o.maxCpuPercent);
    void conn.exited.then((info) => {
      if (this.#conn !== conn || info.kind === "terminated") return;
      if (!(conn instanceof ReplicaSet)) {
        this.#parts.shutdowns.record(this.#o.events, conn, exitReason(info.kind), info.reason);
      }
      this.#lastExit = { kind: info.kind, reason: info.reason, at: Date.now() };
      this.#o.events.emit("crash", { id: this.#parts.id, reason: info.reason, at: Date.now() });
      void this.#fail(info.error ?? new Error(info.reason));
    });
  }

  /** In-flight calls on `conn` finish, or DrainTimeout passes. */
  async #drain(conn: PluginConnection | undefined): Promise<void> {
    if (!conn || conn.pending === 0) return;
    await settledWithin(conn.idle(), this.#o.drainTimeoutMs);
  }
}
