/**
 * One rule for both sides of the wire: messages ready in the same tick travel as one `batch` (one message, one
 * wake-up of the other side for a burst); a full batch goes at once, without waiting for the end of the tick.
 * When the batch cannot be sent (a value that cannot be cloned), each message goes alone, so that only the one
 * that cannot be sent fails.
 *
 * @module
 */

import { BATCH_FLUSH_AT, type BatchMessage } from "./protocol.ts";

// Taken at load: in a plugin's Worker, the plugin's code could replace the global afterwards.
const queue = queueMicrotask;
const now = performance.now.bind(performance);

/** Sends one message, or one batch, to the other side; throws when it cannot be serialized. */
export type BatchSend<M> = (message: M | BatchMessage, transfer: Transferable[]) => void;

/** Queues messages of type `M`, each with a tag (`T`) its failure is reported with. */
export class Batcher<M, T = undefined> {
  readonly #send: BatchSend<M>;
  readonly #unsendable: (message: M, error: unknown, tag: T | undefined) => void;
  #messages: M[] = [];
  #transfers: Transferable[][] = [];
  #tags: (T | undefined)[] = [];
  #queued = false;
  /** When the first message of the batch was queued (`performance.now()`). */
  #since = 0;
  readonly #flushAfterMs: number;

  /**
   * `unsendable` is told about a message that could not be sent even alone. With `flushAfterMs`, a batch whose
   * first message waited that long goes at the next push: a tick that runs long (CPU-bound calls served one
   * after the other) would otherwise hold every answer until it ends (measured: 24 answers of ~5 ms calls
   * waited 130 ms for one batch).
   */
  constructor(
    send: BatchSend<M>,
    unsendable: (message: M, error: unknown, tag: T | undefined) => void,
    flushAfterMs = Infinity,
  ) {
    this.#send = send;
    this.#unsendable = unsendable;
    this.#flushAfterMs = flushAfterMs;
  }

  /** How many messages wait for the end of this tick. */
  get size(): number {
    return this.#messages.length;
  }

  /** Queues `message` (with the buffers it moves) for the end of this tick, or sends the batch it fills. */
  push(message: M, transfer: Transferable[], tag?: T): void {
    this.#messages.push(message);
    this.#transfers.push(transfer);
    this.#tags.push(tag);
    if (this.#messages.length >= BATCH_FLUSH_AT) return this.#flush();
    const timed = this.#flushAfterMs !== Infinity;
    if (this.#queued) {
      if (timed && now() - this.#since > this.#flushAfterMs) this.#flush();
      return;
    }
    this.#queued = true;
    if (timed) this.#since = now();
    queue(() => this.#queued && this.#flush());
  }

  /** Sends what this tick queued: one message alone, several as one batch. */
  #flush(): void {
    this.#queued = false;
    const messages = this.#messages, transfers = this.#transfers, tags = this.#tags;
    this.#messages = [];
    this.#transfers = [];
    this.#tags = [];
    if (messages.length > 1) {
      try {
        return this.#send({ v: 1, t: "batch", messages }, transfers.flat());
      } catch { /* one of them cannot be sent: send each alone, so only that one fails */ }
    }
    for (let i = 0; i < messages.length; i++) {
      try {
        this.#send(messages[i], transfers[i]);
      } catch (e) {
        // Only this one fails; the others of the batch are sent as they were.
        this.#unsendable(messages[i], e, tags[i]);
      }
    }
  }
}
