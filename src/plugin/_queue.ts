/**
 * Internal: the calls that wait for a replica (every one is at `MaxConcurrency`, or restarting). First in, first
 * out; one timer, armed for the earliest deadline, bounds every wait (`QueueTimeout`, else the call's timeout).
 *
 * @module
 */

import { PluginHostError } from "../errors.ts";
import type { CallOptions } from "../rpc/endpoint.ts";
import type { QueueSnapshot } from "./pool_metrics.ts";

interface Waiting<R> {
  readonly method: string;
  readonly at: number;
  readonly deadline: number;
  readonly go: (replica: R) => void;
  readonly fail: (error: Error) => void;
  readonly signal?: AbortSignal;
  readonly onAbort?: () => void;
}

/** What a queue needs from its set. */
export interface CallQueueOptions<R> {
  readonly id: string;
  /** A replica with room now, if any. */
  pick(): R | undefined;
  /** `QueueTimeout`; absent: each call's own timeout bounds its wait. */
  readonly timeoutMs?: number;
  /** A call left the queue without a replica (its wait ran out, it was aborted, the set ended). */
  dropped(queuedAt: number, error: Error): void;
}

/** Calls waiting for a replica. */
export class CallQueue<R> {
  readonly #o: CallQueueOptions<R>;
  readonly #waiting: Waiting<R>[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedFor = Infinity;
  #queued = 0;
  #timeouts = 0;
  #served = 0;
  #waitedMs = 0;
  #maxWaitMs = 0;

  constructor(options: CallQueueOptions<R>) {
    this.#o = options;
  }

  /** Calls waiting now. */
  get length(): number {
    return this.#waiting.length;
  }

  /** Queues a call to `method`; `go` runs (synchronously, in {@linkcode CallQueue.kick}) with its replica. */
  add(
    method: string,
    options: CallOptions | undefined,
    callTimeoutMs: number,
    go: (replica: R) => void,
    fail: (error: Error) => void,
  ): void {
    const signal = options?.signal;
    if (signal?.aborted) return fail(aborted(this.#o.id, method, signal));
    const at = performance.now();
    const deadline = at + (this.#o.timeoutMs ?? options?.timeoutMs ?? callTimeoutMs);
    const entry: Waiting<R> = signal
      ? {
        method,
        at,
        deadline,
        go,
        fail,
        signal,
        onAbort: () => this.#drop(entry, aborted(this.#o.id, method, signal)),
      }
      : { method, at, deadline, go, fail };
    if (entry.onAbort) signal!.addEventListener("abort", entry.onAbort, { once: true });
    this.#waiting.push(entry);
    this.#queued++;
    this.#arm();
  }

  /** Gives waiting calls, oldest first, to replicas with room. */
  kick(): void {
    while (this.#waiting.length > 0) {
      const replica = this.#o.pick();
      if (replica === undefined) return;
      const entry = this.#waiting.shift()!;
      entry.signal?.removeEventListener("abort", entry.onAbort!);
      const waited = performance.now() - entry.at;
      this.#served++;
      this.#waitedMs += waited;
      this.#maxWaitMs = Math.max(this.#maxWaitMs, waited);
      entry.go(replica);
    }
    this.#disarmIfEmpty();
  }

  /** Every waiting call fails with `error` (the set ended). */
  close(error: Error): void {
    for (const entry of [...this.#waiting]) this.#drop(entry, error);
  }

  snapshot(): QueueSnapshot {
    return {
      length: this.#waiting.length,
      queued: this.#queued,
      timeouts: this.#timeouts,
      meanWaitMs: this.#served === 0 ? 0 : Math.round(this.#waitedMs / this.#served * 100) / 100,
      maxWaitMs: Math.round(this.#maxWaitMs * 100) / 100,
    };
  }

  #drop(entry: Waiting<R>, error: Error): void {
    const i = this.#waiting.indexOf(entry);
    if (i < 0) return;
    this.#waiting.splice(i, 1);
    entry.signal?.removeEventListener("abort", entry.onAbort!);
    this.#o.dropped(entry.at, error);
    entry.fail(error);
    this.#disarmIfEmpty();
  }

  /** One timer for the earliest deadline (deadlines differ when calls bring their own timeouts). */
  #arm(): void {
    let earliest = Infinity;
    for (const w of this.#waiting) earliest = Math.min(earliest, w.deadline);
    if (earliest >= this.#armedFor && this.#timer !== undefined) return;
    clearTimeout(this.#timer);
    this.#armedFor = earliest;
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, earliest - performance.now()));
  }

  #expire(): void {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    const now = performance.now();
    for (const entry of this.#waiting.filter((w) => w.deadline <= now)) {
      this.#timeouts++;
      const waited = Math.round(now - entry.at);
      const limit = this.#o.timeoutMs === undefined
        ? "its call timeout"
        : `QueueTimeout ${this.#o.timeoutMs} ms`;
      this.#drop(
        entry,
        new PluginHostError(
          "QUEUE_TIMEOUT",
          `Plugin "${this.#o.id}": the call to "${entry.method}" waited ${waited} ms for a replica with room ` +
            `(${limit}); every replica is at MaxConcurrency or restarting`,
          { pluginId: this.#o.id },
        ),
      );
    }
    if (this.#waiting.length > 0) this.#arm();
  }

  #disarmIfEmpty(): void {
    if (this.#waiting.length > 0 || this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
  }
}

function aborted(id: string, method: string, signal: AbortSignal): Error {
  return new PluginHostError(
    "CALL_ABORTED",
    `Plugin "${id}": the call to "${method}" was aborted in the queue`,
    {
      pluginId: id,
      cause: signal.reason,
    },
  );
}
