// The host's side of the shared-memory call slot (src/rpc/_shared_slot.ts): a lone small call (nothing else
// pending) is written into shared memory and the worker is woken with Atomics.notify; the answer is read back
// the same way, and handed on only once the messages the worker posted before it have arrived. The worker is not trusted: whatever it writes is bounds-checked, copied out and parsed, then
// goes through the same validation as a posted message; a worker that scribbles on the header loses the slot.
import type { CallMessage } from "../rpc/protocol.ts";
import {
  AREA,
  DATA,
  jsonExact,
  POSTED,
  readText,
  REQ_LEN,
  REQ_SEQ,
  RES_ERROR,
  RES_KIND,
  RES_LEN,
  RES_POSTED,
  RES_RESULT,
  RES_SEQ,
  SLOT_BYTES,
  writeText,
} from "../rpc/_shared_slot.ts";

/** Re-checks the slot this often while an answer is awaited, so a closed slot's waiter ends. */
const RECHECK_MS = 1000;
/**
 * How long the host watches the slot for the answer before it goes back to its event loop (spin, then park).
 * A thread that parks is woken through its event loop, and on a VM an idle vCPU is woken through the
 * hypervisor: measured on the 2-vCPU box, idle, a lone call's round trip was 86 µs parked at once, 30 µs
 * watching up to 50 µs (raw postMessage: 93 µs). Not on one core, where watching would starve the plugin.
 */
const SPIN_MS = navigator.hardwareConcurrency > 1 ? 0.05 : 0;

export class SharedCalls {
  readonly buffer = new SharedArrayBuffer(SLOT_BYTES);
  readonly #i32 = new Int32Array(this.buffer);
  readonly #u8 = new Uint8Array(this.buffer);
  /** Receives each answer as a worker message (validated there). */
  readonly #deliver: (message: unknown) => void;
  readonly #protocolError: (reason: string) => void;
  /** How many messages the host has received from the worker. */
  readonly #received: () => number;
  /** Answers held back until the messages the worker posted before them have arrived, oldest first. */
  readonly #held: { readonly message: unknown; readonly after: number }[] = [];
  #seq = 0;
  #busy = false;
  #off = false;

  constructor(options: {
    readonly deliver: (message: unknown) => void;
    readonly protocolError: (reason: string) => void;
    readonly received: () => number;
  }) {
    this.#deliver = options.deliver;
    this.#protocolError = options.protocolError;
    this.#received = options.received;
  }

  /** Call after each message received from the worker: delivers the answers it was holding for. */
  caughtUp(): void {
    while (this.#held.length > 0 && this.#due(this.#held[0].after)) {
      this.#deliver(this.#held.shift()!.message);
    }
  }

  /** Whether every message posted before an answer (`after` of them) has arrived; wraps with the int32 count. */
  #due(after: number): boolean {
    return ((this.#received() - after) | 0) >= 0;
  }

  #hand(message: unknown, after: number): void {
    if (this.#held.length === 0 && this.#due(after)) return this.#deliver(message);
    this.#held.push({ message, after });
  }

  /** Sends `m` through the slot when it is free and the call fits; false means: post it instead. */
  trySend(m: CallMessage): boolean {
    if (this.#off || m.kind !== "method" || m.target !== undefined) return false;
    if (this.#busy) {
      // The worker may have answered the last call by message and freed the slot before posting it, while
      // the waiter has not run yet: then the slot is free.
      const i32 = this.#i32;
      if (Atomics.load(i32, RES_SEQ) !== this.#seq || Atomics.load(i32, RES_KIND) !== RES_POSTED) {
        return false;
      }
      this.#busy = false;
    }
    if (!jsonExact(m.args)) return false;
    const length = writeText(this.#u8, DATA, JSON.stringify([m.id, m.method, m.args]));
    if (length < 0) return false;
    this.#busy = true;
    const seq = ++this.#seq;
    this.#i32[REQ_LEN] = length;
    Atomics.store(this.#i32, REQ_SEQ, seq);
    Atomics.notify(this.#i32, REQ_SEQ);
    void this.#await(seq, m.id);
    return true;
  }

  /** The worker is gone: the slot is not used again and a waiting reader ends. */
  close(): void {
    this.#off = true;
    Atomics.notify(this.#i32, RES_SEQ);
  }

  async #await(seq: number, id: number): Promise<void> {
    const i32 = this.#i32;
    const until = performance.now() + SPIN_MS;
    while (Atomics.load(i32, RES_SEQ) === seq - 1 && performance.now() < until) { /* the answer is near */ }
    for (;;) {
      const wait = Atomics.waitAsync(i32, RES_SEQ, seq - 1, RECHECK_MS);
      if (wait.async) await wait.value;
      if (this.#off || this.#seq !== seq) return; // closed, or the slot has moved on (see trySend)
      const now = Atomics.load(i32, RES_SEQ);
      if (now === seq) break;
      if (now !== seq - 1) return this.#lose(`a forged answer sequence ${now} in the shared slot`);
    }
    const kind = Atomics.load(i32, RES_KIND);
    const length = Atomics.load(i32, RES_LEN);
    const after = Atomics.load(i32, POSTED);
    this.#busy = false;
    if (kind === RES_POSTED) return; // the answer came (or comes) by postMessage
    if ((kind !== RES_RESULT && kind !== RES_ERROR) || !(length >= 0 && length <= AREA)) {
      return this.#lose("a malformed answer in the shared slot");
    }
    let payload: unknown;
    try {
      payload = JSON.parse(readText(this.#u8, DATA + AREA, length));
    } catch {
      return this.#lose("an unreadable answer in the shared slot");
    }
    if (kind === RES_ERROR) return this.#hand({ v: 1, t: "error", id, error: payload }, after);
    // A result travels wrapped in an array: `[]` is undefined.
    if (!Array.isArray(payload) || payload.length > 1) {
      return this.#lose("a malformed result in the shared slot");
    }
    this.#hand({ v: 1, t: "result", id, value: payload[0] }, after);
  }

  /** The worker broke the slot's rules: report it and post every later call. */
  #lose(reason: string): void {
    this.#off = true;
    this.#protocolError(reason);
  }
}
