// How long a worker's event loop was blocked, from ticks the host sent (absolute ms) and when the runtime got
// to handle each. Ticks that queued up behind one long block are handled one after the other: each adds only
// the part of its wait that no earlier tick covered, so the block counts once.

/** Sums blocked time over ticks; `take()` returns the sum since the last take. */
export class BlockedTime {
  #countedUntil = 0;
  #blocked = 0;

  /** A tick sent at `sentAt` was handled at `handledAt` (both absolute ms). */
  tick(sentAt: number, handledAt: number): void {
    const from = Math.max(sentAt, this.#countedUntil);
    if (Number.isFinite(from) && handledAt > from) this.#blocked += handledAt - from;
    if (handledAt > this.#countedUntil) this.#countedUntil = handledAt;
  }

  /** The blocked ms since the last call. */
  take(): number {
    const blocked = this.#blocked;
    this.#blocked = 0;
    return blocked;
  }
}
