/**
 * Internal: a plugin that runs as several replicas (`Replicas`), or behind a concurrency cap (`MaxConcurrency`),
 * is one {@linkcode PluginConnection} to the rest of the host: a set of connections, each its own Worker or
 * process with the same grants. A method call goes to the serving replica with the fewest calls in flight, or
 * waits in the set's queue; a hook goes to every serving replica. A replica that dies is restarted alone.
 *
 * @module
 */

import { PluginHostError } from "../errors.ts";
import { settledWithin } from "../_common/deadline.ts";
import { exitReason, type ShutdownReason } from "../lifecycle/shutdown.ts";
import type { ExitInfo, PluginConnection } from "../isolation/tier.ts";
import type { CallMessage, HookName } from "../rpc/protocol.ts";
import type { CallOptions } from "../rpc/endpoint.ts";
import { bringUp, type Phase } from "./_fresh.ts";
import { hookAll } from "./_replica_hooks.ts";
import type { ReplicaSetOptions } from "./_replica_options.ts";
import { CallQueue } from "./_queue.ts";
import type { QueueSnapshot, ReplicaSnapshot } from "./pool_metrics.ts";

interface Replica {
  readonly conn: PluginConnection;
  readonly index: number;
  readonly startedAt: number;
  state: "serving" | "draining";
  calls: number;
  restarts: number;
  heapUsed?: number;
}

/** Restarts of one slot that fail in a row before the set gives up (the plugin fails; self-healing decides). */
const MAX_RESTART_FAILURES = 3;

/** A plugin's replicas, behind one connection. */
export class ReplicaSet implements PluginConnection {
  readonly exited: Promise<ExitInfo>;
  readonly #o: ReplicaSetOptions;
  readonly #replicas: Replica[] = [];
  readonly #queue: CallQueue<Replica>;
  #exit!: (info: ExitInfo) => void;
  #ended: ExitInfo | undefined;
  /** Hooks every new replica must go through to catch up with the others. */
  #phase: Phase = "loaded";
  #active = 0;
  #idle: (() => void)[] = [];

  private constructor(o: ReplicaSetOptions) {
    this.#o = o;
    this.exited = new Promise((resolve) => this.#exit = resolve);
    this.#queue = new CallQueue({
      id: o.id,
      pick: () => this.#pick(),
      ...(o.queueTimeoutMs ? { timeoutMs: o.queueTimeoutMs } : {}),
      dropped: (at, e) => {
        o.dropped(at, e);
        this.#settled();
      },
    });
  }

  /** Spawns `o.count` replicas side by side; if one fails to load, the others end and this rejects. */
  static async open(o: ReplicaSetOptions): Promise<ReplicaSet> {
    const set = new ReplicaSet(o);
    const spawned = await Promise.allSettled(Array.from({ length: o.count }, () => o.spawn()));
    const failed = spawned.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) {
      await Promise.all(
        spawned.map((s) => s.status === "fulfilled" && s.value.terminate("a replica failed")),
      );
      throw failed.reason;
    }
    spawned.forEach((s, index) => set.#add((s as PromiseFulfilledResult<PluginConnection>).value, index, 0));
    return set;
  }

  get methods(): readonly string[] {
    return this.#replicas[0]?.conn.methods ?? [];
  }
  get pending(): number {
    return this.#active;
  }
  get gone(): boolean {
    return this.#ended !== undefined;
  }

  /** Whether `conn` is one of its replicas now (a resource limit acts on it alone). */
  has(conn: PluginConnection): boolean {
    return this.#replicas.some((r) => r.conn === conn);
  }

  /** A replica's usage report: its heap, for its row in the metrics. */
  usage(conn: PluginConnection, heapUsed: number): void {
    const r = this.#replicas.find((r) => r.conn === conn);
    if (r) r.heapUsed = heapUsed;
  }

  /** The replicas and the queue, for the metrics. */
  snapshot(): { readonly replicas: readonly ReplicaSnapshot[]; readonly queue: QueueSnapshot } {
    const replicas = this.#replicas.map((r): ReplicaSnapshot => ({
      index: r.index,
      state: r.state,
      inFlight: r.conn.pending,
      calls: r.calls,
      restarts: r.restarts,
      startedAt: r.startedAt,
      ...(r.heapUsed === undefined ? {} : { heapUsedBytes: r.heapUsed }),
    }));
    return { replicas: replicas.sort((a, b) => a.index - b.index), queue: this.#queue.snapshot() };
  }

  call(
    kind: CallMessage["kind"],
    method: string,
    args: readonly unknown[],
    options?: CallOptions,
  ): Promise<unknown> {
    if (kind === "hook") return this.#hook(method as HookName, args, options);
    return this.#method(kind, method, args, options);
  }

  #method(
    kind: Exclude<CallMessage["kind"], "hook">,
    method: string,
    args: readonly unknown[],
    options?: CallOptions,
  ): Promise<unknown> {
    if (this.#ended) {
      const error = new PluginHostError("PLUGIN_NOT_RUNNING", `Plugin "${this.#o.id}" has ended`, {
        pluginId: this.#o.id,
      });
      this.#o.dropped(performance.now(), error); // counted as started by the plugin: it ends here
      return Promise.reject(error);
    }
    this.#active++;
    const r = this.#queue.length === 0 ? this.#pick() : undefined; // no overtaking the queue
    if (r) return this.#send(r, kind, method, args, options, false);
    return new Promise((resolve, reject) =>
      this.#queue.add(
        method,
        options,
        this.#o.callTimeoutMs,
        (replica) => resolve(this.#send(replica, kind, method, args, options, false)),
        reject,
      )
    );
  }

  idle(): Promise<void> {
    return this.#active === 0 ? Promise.resolve() : new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Ends every replica (each restarts alone): a resource action on the whole plugin. */
  async kill(kind: "timeout" | "cpu" | "memory", reason: string): Promise<void> {
    await Promise.all(this.#replicas.map((r) => r.conn.kill(kind, reason)));
  }

  /** Ends the set: every replica (each recorded as a shutdown for `why`), every queued call. */
  async terminate(reason = "terminated by the host", why: ShutdownReason = "stop"): Promise<void> {
    await this.#end({ kind: "terminated", reason }, why);
  }

  /**
   * Replaces replica `conn` (a retirement, `reason`) or every replica one at a time (a reload, `conn`
   * undefined): each fresh one is loaded, initialised, started and healthy before the old one stops taking calls,
   * finishes its calls (bounded by DrainTimeout), runs its stop hook and ends. `spawn` makes the fresh ones (the
   * new version's, for a reload). A reload that fails part way rolls the replaced slots back with `rollback`.
   */
  async replace(
    conn: PluginConnection | undefined,
    reason: ShutdownReason,
    spawn: () => Promise<PluginConnection> = this.#o.spawn,
    rollback?: () => Promise<PluginConnection>,
  ): Promise<void> {
    const olds = this.#replicas.filter((r) =>
      r.state === "serving" && (conn === undefined || r.conn === conn)
    );
    const done: Replica[] = [];
    for (const old of olds) {
      try {
        done.push(await this.#replaceOne(old, reason, spawn));
      } catch (e) {
        if (rollback) {
          for (const fresh of done) await this.#replaceOne(fresh, "reload", rollback).catch(() => {});
        }
        throw e;
      }
    }
  }

  async #replaceOne(
    old: Replica,
    reason: ShutdownReason,
    spawn: () => Promise<PluginConnection>,
  ): Promise<Replica> {
    const fresh = await bringUp(await spawn(), this.#phase, this.#o.hookTimeoutMs, true);
    if (this.#ended) {
      await fresh.terminate("the plugin ended");
      throw new PluginHostError("PLUGIN_NOT_RUNNING", `Plugin "${this.#o.id}" has ended`);
    }
    old.state = "draining";
    const replica = this.#add(fresh, old.index, old.restarts);
    this.#queue.kick();
    await settledWithin(old.conn.idle(), this.#o.drainTimeoutMs);
    if (this.#phase === "started") {
      await old.conn.call("hook", "stop", [], { timeoutMs: this.#o.hookTimeoutMs }).catch(() => {});
    }
    this.#remove(old);
    await old.conn.terminate(reason);
    this.#o.ended(old.index, reason, `replaced by a fresh replica (${reason})`);
    return replica;
  }

  #add(conn: PluginConnection, index: number, restarts: number): Replica {
    const r: Replica = { conn, index, startedAt: Date.now(), state: "serving", calls: 0, restarts };
    this.#replicas.push(r);
    void conn.exited.then((info) => this.#lost(r, info));
    return r;
  }

  #remove(r: Replica): void {
    const i = this.#replicas.indexOf(r);
    if (i >= 0) this.#replicas.splice(i, 1);
  }

  /** A replica died unasked: its slot restarts alone (its calls in flight were lost with it). */
  async #lost(r: Replica, info: ExitInfo): Promise<void> {
    if (info.kind === "terminated" || !this.#replicas.includes(r) || this.#ended) return;
    this.#remove(r);
    this.#o.ended(r.index, exitReason(info.kind), info.reason);
    if (r.state === "draining") return; // its slot already has the fresh replica that replaced it
    for (let failures = 0; !this.#ended; failures++) {
      try {
        const conn = await bringUp(await this.#o.spawn(), this.#phase, this.#o.hookTimeoutMs, false);
        if (this.#ended) return void await conn.terminate("the plugin ended");
        this.#add(conn, r.index, r.restarts + 1);
        this.#o.healed(r.index, failures + 1);
        return this.#queue.kick();
      } catch (e) {
        this.#o.healed(r.index, failures + 1, e instanceof Error ? e : new Error(String(e)));
        if (failures + 1 >= MAX_RESTART_FAILURES) {
          const reason = `replica ${r.index} could not be restarted: ${e instanceof Error ? e.message : e}`;
          return void await this.#end({ kind: "crash", reason }, "crash");
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * 4 ** failures));
      }
    }
  }

  async #end(info: ExitInfo, reason: ShutdownReason): Promise<void> {
    if (this.#ended) return;
    this.#ended = info;
    const error = new PluginHostError("PLUGIN_NOT_RUNNING", info.reason, { pluginId: this.#o.id });
    this.#queue.close(error);
    const all = this.#replicas.splice(0);
    await Promise.all(all.map(async (r) => {
      await r.conn.terminate(info.reason);
      this.#o.ended(r.index, reason, info.reason);
    }));
    this.#exit(info);
  }

  /** The serving replica with the fewest calls in flight and room under the cap, if any. */
  #pick(): Replica | undefined {
    const cap = this.#o.maxConcurrency ?? Infinity;
    let best: Replica | undefined, least = Infinity;
    for (const r of this.#replicas) {
      const n = r.conn.pending;
      if (r.state === "serving" && !r.conn.gone && n < cap && n < least) [best, least] = [r, n];
    }
    return best;
  }

  #send(
    r: Replica,
    kind: Exclude<CallMessage["kind"], "hook">,
    method: string,
    args: readonly unknown[],
    options: CallOptions | undefined,
    retry: boolean,
  ): Promise<unknown> {
    r.calls++;
    return r.conn.call(kind, method, args, options).then(
      (value) => {
        this.#settled();
        return value;
      },
      (e: unknown) => {
        if (!r.conn.gone || this.#ended) {
          this.#settled();
          throw e;
        }
        const next = !retry && this.#o.idempotent.has(method) ? this.#pick() : undefined;
        if (next) {
          this.#o.retried();
          return this.#send(next, kind, method, args, options, true);
        }
        this.#settled();
        const why = retry
          ? " (its one retry)"
          : this.#o.idempotent.has(method)
          ? " (no other replica to retry on)"
          : "";
        const message = `Plugin "${this.#o.id}" lost replica ${r.index} with this call in flight${why}`;
        throw new PluginHostError("REPLICA_LOST", message, { pluginId: this.#o.id, cause: e });
      },
    );
  }

  /** A call left the set: the queue's head may go, and a drain may be over. */
  #settled(): void {
    this.#active--;
    this.#queue.kick();
    if (this.#active === 0) { for (const resolve of this.#idle.splice(0)) resolve(); }
  }

  /** A hook goes to every serving replica; `health` and `ping` answer for the set. */
  #hook(name: HookName, args: readonly unknown[], options?: CallOptions): Promise<unknown> {
    if (name === "initialize") this.#phase = "initialized";
    if (name === "start") this.#phase = "started";
    if (name === "stop") this.#phase = "initialized";
    const serving = this.#replicas.filter((r) => r.state === "serving").map((r) =>
      [r.index, r.conn] as const
    );
    return hookAll(this.#o.id, serving, name, args, options);
  }
}
