/**
 * The calling side of the protocol: pending calls by id, each with a timeout and an AbortSignal, transferred
 * buffers, and every pending call rejected the moment the other side dies.
 *
 * @module
 */

import { CallTimeoutError, PluginHostError } from "../errors.ts";
import type { BatchMessage, CallMessage, CancelMessage, ErrorMessage, ResultMessage } from "./protocol.ts";
import { Batcher } from "./batcher.ts";
import { deserializeError } from "./_wire_errors.ts";
import { collectTransferables } from "./_transfer.ts";
import { unshareCopy } from "./_unshare.ts";

export { collectTransferables };

/** How to send one message to the other side (a batch when the endpoint batches). */
export type Send = (
  message: CallMessage | CancelMessage | BatchMessage,
  transfer: Transferable[],
) => void;

/** Options of one call. */
export interface CallOptions {
  /** Aborts the call: it rejects with `CALL_ABORTED` and the callee's per-call signal is aborted. */
  readonly signal?: AbortSignal;
  /** Milliseconds before the call rejects with a {@linkcode CallTimeoutError}. Default: the endpoint's. */
  readonly timeoutMs?: number;
  /** Buffers to transfer, or `"auto"` (default) to transfer every ArrayBuffer found in the arguments. */
  readonly transfer?: readonly Transferable[] | "auto" | "none";
}

/** Options of an {@linkcode RpcEndpoint}. */
export interface RpcEndpointOptions {
  /** Sends one message (or one batch) to the other side. */
  readonly send: Send;
  /** Names the other side in errors. */
  readonly peer: string;
  /** Bounds calls that set no timeout, in ms (`Infinity` or 0: unbounded). */
  readonly defaultTimeoutMs: number;
  /**
   * Send the calls and cancels issued in the same tick as one `batch` message (a single one goes alone).
   * The other side must unpack batches. Default: false, every message is sent at once.
   */
  readonly batch?: boolean;
  /**
   * Told when each call of kind `method` ends, with when it started (`performance.now()`) and its error
   * (undefined on success): one function for every call, so measuring a call allocates nothing.
   */
  readonly onMethodEnd?: (startedAt: number, error: unknown) => void;
  /**
   * A faster route for a lone call (none other pending or queued, nothing to transfer): returns true when it
   * took the call (its answer still comes through {@linkcode RpcEndpoint.settle}), false to post it as usual.
   */
  readonly fastSend?: (message: CallMessage) => boolean;
}

/** One pending call. A plain record, not closures: this is the hot path. */
interface Pending {
  readonly method: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  /** Epoch ms after which the sweep rejects the call; Infinity when unbounded. */
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** When a `method` call started, for `onMethodEnd`; NaN for other calls. */
  readonly startedAt: number;
}

/**
 * Issues calls to the other side and settles them when its answers arrive. One timer per endpoint bounds every
 * call (armed for the earliest deadline), not one per call; with `batch`, calls issued in the same tick travel
 * as one message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RpcEndpoint } from "@dotcompute/plugins";
 * const { port1, port2 } = new MessageChannel();
 * const ep = new RpcEndpoint({ peer: "demo", defaultTimeoutMs: 1000, send: (m, t) => port1.postMessage(m, t) });
 * port2.onmessage = (e) => port2.postMessage({ v: 1, t: "result", id: e.data.id, value: e.data.args[0] });
 * port1.onmessage = (e) => ep.settle(e.data);
 * assert.equal(await ep.call("method", "echo", ["hi"]), "hi");
 * assert.equal(ep.pending, 0);
 * port1.close();
 * ```
 */
export class RpcEndpoint {
  readonly #pending = new Map<number, Pending>();
  readonly #send: Send;
  readonly #peer: string;
  readonly #defaultTimeoutMs: number;
  readonly #onMethodEnd: ((startedAt: number, error: unknown) => void) | undefined;
  readonly #fastSend: ((message: CallMessage) => boolean) | undefined;
  #nextId = 1;
  #closed: Error | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  /** With `batch`: the calls and cancels of this tick. */
  readonly #outbox: Batcher<CallMessage | CancelMessage> | undefined;
  #idle: (() => void)[] = [];

  /** `peer` names the other side in errors; `defaultTimeoutMs` bounds calls that set no timeout. */
  constructor(options: RpcEndpointOptions) {
    this.#send = options.send;
    this.#peer = options.peer;
    this.#defaultTimeoutMs = options.defaultTimeoutMs;
    this.#outbox = options.batch
      ? new Batcher<CallMessage | CancelMessage>(options.send, (m, e) => {
        if (m.t === "call") this.#end(m.id, this.#unsendable(m.method, e));
      })
      : undefined;
    this.#onMethodEnd = options.onMethodEnd;
    this.#fastSend = options.fastSend;
  }

  /** How many calls are waiting for an answer. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Resolves once no call is pending (at once when none is). */
  idle(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Calls `method` on the other side. */
  call(
    kind: CallMessage["kind"],
    method: string,
    args: readonly unknown[],
    options?: CallOptions & { readonly target?: string },
  ): Promise<unknown> {
    const startedAt = this.#onMethodEnd && kind === "method" ? performance.now() : NaN;
    const signal = options?.signal;
    const early = this.#closed ?? (signal?.aborted ? this.#aborted(method, signal) : undefined);
    if (early) {
      if (!Number.isNaN(startedAt)) this.#onMethodEnd!(startedAt, early);
      return Promise.reject(early);
    }
    const id = this.#nextId++;
    const timeoutMs = options?.timeoutMs ?? this.#defaultTimeoutMs;
    const t = options?.transfer;
    let transfer: Transferable[];
    try {
      // No memory of the caller's stays shared with the other side: shared buffers go as copies.
      args = unshareCopy(args);
      transfer = t === undefined || t === "auto" ? collectTransferables(args) : t === "none" ? [] : [...t];
    } catch (e) {
      // Arguments that cannot even be looked at (a getter that throws, a Proxy): only this call fails.
      const error = this.#unsendable(method, e);
      if (!Number.isNaN(startedAt)) this.#onMethodEnd!(startedAt, error);
      return Promise.reject(error);
    }
    const message: CallMessage = options?.target === undefined
      ? { v: 1, t: "call", id, kind, method, args }
      : { v: 1, t: "call", id, kind, method, args, target: options.target };
    const bounded = Number.isFinite(timeoutMs) && timeoutMs > 0;
    const deadline = bounded ? Date.now() + timeoutMs : Infinity;
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const p: Pending = {
      method,
      resolve,
      reject,
      deadline,
      timeoutMs,
      signal,
      onAbort: undefined,
      startedAt,
    };
    this.#pending.set(id, p);
    if (bounded && deadline < this.#timerAt) this.#arm(deadline);
    if (signal) {
      p.onAbort = () => this.#cancel(id, this.#aborted(method, signal));
      signal.addEventListener("abort", p.onAbort, { once: true });
    }
    const lone = this.#pending.size === 1 && (this.#outbox?.size ?? 0) === 0 && transfer.length === 0;
    try {
      if (lone && this.#fastSend?.(message)) return promise;
      if (this.#outbox) this.#outbox.push(message, transfer);
      else this.#send(message, transfer);
    } catch (e) {
      this.#end(id, this.#unsendable(method, e));
    }
    return promise;
  }

  /** The error of a call whose arguments cannot be sent: DataCloneError (or what threw), naming the method. */
  #unsendable(method: string, e: unknown): Error {
    let why: string, name = "DataCloneError";
    try {
      why = e instanceof Error ? e.message : String(e);
      if (e instanceof Error && e.name !== "Error") name = e.name;
    } catch {
      why = "a value that cannot be read";
    }
    const error = new DOMException(
      `Cannot send the arguments of "${method}" to "${this.#peer}": ${why}`,
      name,
    );
    return Object.assign(error, { cause: e });
  }

  /** Settles the call a result or error answers. Returns false when no call has that id (a stale or forged answer). */
  settle(message: ResultMessage | ErrorMessage): boolean {
    if (!this.#pending.has(message.id)) return false;
    if (message.t === "result") this.#end(message.id, undefined, message.value);
    else this.#end(message.id, deserializeError(message.error, this.#peer));
    return true;
  }

  /** Rejects every pending call with `error`, and every later call too: the other side is gone. */
  close(error: Error): void {
    this.#closed ??= error;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    for (const id of [...this.#pending.keys()]) this.#end(id, error);
  }

  /** Ends call `id`: resolves it with `value`, or rejects it with `error`. */
  #end(id: number, error: Error | undefined, value?: unknown): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    if (p.onAbort) p.signal!.removeEventListener("abort", p.onAbort);
    if (!Number.isNaN(p.startedAt)) this.#onMethodEnd!(p.startedAt, error);
    if (error) p.reject(error);
    else p.resolve(value);
    if (this.#pending.size === 0 && this.#idle.length > 0) {
      const waiting = this.#idle;
      this.#idle = [];
      for (const resolve of waiting) resolve();
    }
  }

  /** The caller gave up on call `id` (timeout, abort): reject it and tell the other side. */
  #cancel(id: number, error: Error): void {
    if (!this.#pending.has(id)) return;
    this.#end(id, error);
    const cancel: CancelMessage = { v: 1, t: "cancel", id, reason: error.message };
    if (this.#outbox) return this.#outbox.push(cancel, []);
    try {
      this.#send(cancel, []);
    } catch { /* the other side is gone: nothing to cancel */ }
  }

  /** Arms the one timer for `deadline`, the earliest now. It does not keep the process alive by itself. */
  #arm(deadline: number): void {
    clearTimeout(this.#timer);
    this.#timerAt = deadline;
    const timer = setTimeout(() => this.#sweep(), Math.max(0, deadline - Date.now()));
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Rejects the calls past their deadline and re-arms the timer for the earliest of the others. */
  #sweep(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const [id, p] of this.#pending) {
      if (p.deadline <= now) this.#cancel(id, new CallTimeoutError(this.#peer, p.method, p.timeoutMs));
      else if (p.deadline < next) next = p.deadline;
    }
    if (next < Infinity && !this.#closed) this.#arm(next);
  }

  #aborted(method: string, signal: AbortSignal): PluginHostError {
    const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
    return new PluginHostError("CALL_ABORTED", `Call "${method}" to "${this.#peer}" was aborted: ${reason}`, {
      pluginId: this.#peer,
      cause: signal.reason,
    });
  }
}
