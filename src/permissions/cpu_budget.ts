// MaxCpuPercent, defined: the share of one core a plugin's thread spends with its event loop blocked by the
// plugin's own synchronous work, over the last WINDOW_MS. The plugin's runtime measures it (how late a 100 ms
// timer fires) and reports it about once a second; a thread stuck in a loop reports nothing, which the host
// notices (see Plugin's watchdog).

/** The sliding window over which the share is computed. */
export const WINDOW_MS = 10_000;

interface Sample {
  readonly at: number;
  readonly blockedMs: number;
  readonly intervalMs: number;
}

/** Usage samples of one plugin and its budget. */
export class CpuBudget {
  readonly #samples: Sample[] = [];
  #lastSeen = 0;

  /** `maxPercent` undefined means no budget: usage is still measured. */
  constructor(readonly maxPercent: number | undefined) {}

  /** When the last sample arrived (ms since the epoch); 0 before the first. */
  get lastSeen(): number {
    return this.#lastSeen;
  }

  /** A new connection: its silence is counted from now, not from the last one's last report. */
  restartClock(now: number = Date.now()): void {
    this.#lastSeen = now;
  }

  /** Adds one report. */
  record(blockedMs: number, intervalMs: number, now: number = Date.now()): void {
    this.#lastSeen = now;
    this.#samples.push({ at: now, blockedMs: Math.min(blockedMs, intervalMs), intervalMs });
    while (this.#samples.length > 0 && this.#samples[0].at < now - WINDOW_MS) this.#samples.shift();
  }

  /** Percent of one core over the window (0 with no samples). */
  get percent(): number {
    let blocked = 0, total = 0;
    for (const s of this.#samples) {
      blocked += s.blockedMs;
      total += s.intervalMs;
    }
    return total === 0 ? 0 : (blocked / total) * 100;
  }

  /** Whether the plugin is over its budget now. */
  get over(): boolean {
    return this.maxPercent !== undefined && this.percent > this.maxPercent;
  }
}
