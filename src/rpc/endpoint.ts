/**
 * The calling side of the protocol: pending calls by id, each with a timeout and an AbortSignal, transferred
 * buffers, and every pending call rejected the moment the other side dies.
 *
 * @module
 */

import { CallTimeoutError, PluginHostError } from "../errors.ts";
import type { CallMessage, ErrorMessage, ResultMessage } from "./protocol.ts";
import { deserializeError } from "./_wire_errors.ts";

/** How to send one message to the other side. */
export type Send = (
  message: CallMessage | { v: 1; t: "cancel"; id: number; reason: string },
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

interface Pending {
  readonly method: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * Finds the ArrayBuffers in a value (a few levels deep) so they move instead of being copied.
 *
 * @example
 * ```ts
 * import { collectTransferables } from "@dotcompute/plugins";
 * const data = new Float32Array(4);
 * collectTransferables([data]); // [data.buffer]
 * ```
 */
export function collectTransferables(
  value: unknown,
  depth = 3,
  found: Set<Transferable> = new Set(),
): Transferable[] {
  if (value instanceof ArrayBuffer) {
    if (value.byteLength > 0) found.add(value);
  } else if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer && value.buffer.byteLength > 0) found.add(value.buffer);
  } else if (depth > 0 && typeof value === "object" && value !== null && found.size < 1000) {
    const items = Array.isArray(value) ? value : value.constructor === Object ? Object.values(value) : [];
    for (const item of items.slice(0, 1000)) collectTransferables(item, depth - 1, found);
  }
  return [...found];
}

/**
 * Issues calls to the other side and settles them when its answers arrive.
 *
 * @example
 * ```ts
 * import { RpcEndpoint } from "@dotcompute/plugins";
 * const { port1, port2 } = new MessageChannel();
 * const ep = new RpcEndpoint({ peer: "demo", defaultTimeoutMs: 1000, send: (m, t) => port1.postMessage(m, t) });
 * port2.onmessage = (e) => port2.postMessage({ v: 1, t: "result", id: e.data.id, value: e.data.args[0] });
 * port1.onmessage = (e) => ep.settle(e.data);
 * console.log(await ep.call("method", "echo", ["hi"])); // "hi"
 * port1.close();
 * ```
 */
export class RpcEndpoint {
  readonly #pending = new Map<number, Pending>();
  readonly #send: Send;
  readonly #peer: string;
  readonly #defaultTimeoutMs: number;
  #nextId = 1;
  #closed: Error | undefined;

  /** `peer` names the other side in errors; `defaultTimeoutMs` bounds calls that set no timeout. */
  constructor(options: { readonly send: Send; readonly peer: string; readonly defaultTimeoutMs: number }) {
    this.#send = options.send;
    this.#peer = options.peer;
    this.#defaultTimeoutMs = options.defaultTimeoutMs;
  }

  /** How many calls are waiting for an answer. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Calls `method` on the other side. */
  call(
    kind: CallMessage["kind"],
    method: string,
    args: readonly unknown[],
    options: CallOptions & { readonly target?: string } = {},
  ): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closed);
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(this.#aborted(method, signal));
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? this.#defaultTimeoutMs;
    const transfer = options.transfer === undefined || options.transfer === "auto"
      ? collectTransferables(args)
      : options.transfer === "none"
      ? []
      : [...options.transfer];
    const message: CallMessage = options.target === undefined
      ? { v: 1, t: "call", id, kind, method, args }
      : { v: 1, t: "call", id, kind, method, args, target: options.target };
    return new Promise<unknown>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const cancel = (error: Error): void => {
        if (!this.#pending.delete(id)) return;
        done();
        reject(error);
        try {
          this.#send({ v: 1, t: "cancel", id, reason: error.message }, []);
        } catch { /* the other side is gone: nothing to cancel */ }
      };
      const onAbort = (): void => cancel(this.#aborted(method, signal!));
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      this.#pending.set(id, {
        method,
        resolve: (v) => (done(), resolve(v)),
        reject: (e) => (done(), reject(e)),
      });
      if (Number.isFinite(timeoutMs) && timeoutMs > 0) {
        timer = setTimeout(() => cancel(new CallTimeoutError(this.#peer, method, timeoutMs)), timeoutMs);
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        this.#send(message, transfer);
      } catch (e) {
        this.#pending.delete(id);
        done();
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  }

  /** Settles the call a result or error answers. Returns false when no call has that id (a stale or forged answer). */
  settle(message: ResultMessage | ErrorMessage): boolean {
    const pending = this.#pending.get(message.id);
    if (!pending) return false;
    this.#pending.delete(message.id);
    if (message.t === "result") pending.resolve(message.value);
    else pending.reject(deserializeError(message.error, this.#peer));
    return true;
  }

  /** Rejects every pending call with `error`, and every later call too: the other side is gone. */
  close(error: Error): void {
    this.#closed ??= error;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(error);
  }

  #aborted(method: string, signal: AbortSignal): PluginHostError {
    const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
    return new PluginHostError("CALL_ABORTED", `Call "${method}" to "${this.#peer}" was aborted: ${reason}`, {
      pluginId: this.#peer,
      cause: signal.reason,
    });
  }
}
