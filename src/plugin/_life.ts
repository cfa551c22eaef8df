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
import { type PluginParts, spawn } from "./_connection.ts";
import { hookError } from "./_hook_error.ts";
import { parseHealth } from "./_health.ts";

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

  /** Whether `conn` is still the one calls go to (a replaced or ended one is left alone). */
  isCurrent(conn: PluginConnection): boolean {
    return this.#conn === conn;
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
        if (this.state !== "Stopped" && this.state !== "Initialized") await this.#load();
        this.#life.moveTo("Starting");
        await this.#hook("start");
        this.#parts.metrics.running(this.#everStarted);
        this.#everStarted = true;
        this.#accepting = true;
        this.#life.moveTo("Running");
      } catch (e) {
        await this.#fail(e);
        const message = `Cannot start plugin "${this.#parts.id}": ${this.#lastError?.message}`;
        throw new PluginHostError("START_FAILED", message, { pluginId: this.#parts.id, cause: e });
      }
    });
  }

  /** `Plugin.stop`: no new calls, in-flight ones finish (bounded), then its stop hook. The worker stays. */
  stop(reason?: string): Promise<void> {
    this.#accepting = false;
    return this.#serial(async () => {
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
    });
  }

  /** `Plugin.unload`: stops the plugin if it runs, then ends its worker. */
  async unload(reason?: string): Promise<void> {
    await this.stop(reason);
    await this.#serial(async () => {
      if (this.state === "Unloaded" || this.state === "Unknown") return;
      if (this.state !== "Failed") this.#life.moveTo("Unloading");
      const conn = this.#conn;
      this.#conn = undefined;
      await conn?.terminate("unloaded");
      this.#life.moveTo("Unloaded");
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

  /** `Plugin.swap`: see there. */
  swap(definition: PluginRevision): Promise<void> {
    return this.#serial(async () => {
      const old = this.#conn;
      if (this.state !== "Running" || !old) {
        const message = `Plugin "${this.#parts.id}" is ${this.state}; only a Running plugin swaps`;
        throw new PluginHostError("ILLEGAL_TRANSITION", message);
      }
      const next = this.#next(definition);
      let fresh: PluginConnection | undefined;
      try {
        fresh = await spawn(this.#parts, next);
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
      this.#o = next;
      this.#adopt(fresh);
      await this.#drain(old);
      await old.call("hook", "stop", [], { timeoutMs: next.hookTimeoutMs }).catch((e) =>
        this.#parts.log.warn("the old version's stop hook failed: {message}", {
          message: String(e?.message ?? e),
        })
      );
      await old.terminate("replaced by a new version");
    });
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
    await conn?.terminate(`failed: ${cause.message}`);
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
    this.#adopt(await spawn(this.#parts, this.#o));
    this.#life.moveTo("Loaded");
    this.#life.moveTo("Initializing");
    await this.#hook("initialize");
    this.#life.moveTo("Initialized");
  }

  /** Makes `conn` the one calls go to, and turns its unasked death into a crash of the plugin. */
  #adopt(conn: PluginConnection): void {
    this.#conn = conn;
    this.#parts.resources.watch(conn, this.#o.maxCpuPercent);
    void conn.exited.then((info) => {
      if (this.#conn !== conn || info.kind === "terminated") return;
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
