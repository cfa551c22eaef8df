/**
 * How many log records a plugin may send, as a token bucket. A plugin that logs without pause would
 * otherwise fill the host's sinks (20,000 records in a second all reached them, measured); past its budget its
 * records are dropped and counted, and the host says so at most once a second.
 *
 * @module
 */

/**
 * A plugin's log budget: `burst` records at once, `perSecond` on average.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPluginHost } from "@dotcompute/plugins";
 * // A plugin that logs 20 records in one call.
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/chatty`);
 * await Deno.writeTextFile(
 *   `${dir}/chatty/plugin.jsonc`,
 *   '{ "id": "chatty", "name": "chatty", "version": "1.0.0" }',
 * );
 * await Deno.writeTextFile(
 *   `${dir}/chatty/mod.ts`,
 *   `let log;
 *   export default {
 *     initialize: (ctx) => { log = ctx.log; },
 *     methods: { talk: () => { for (let i = 0; i < 20; i++) log.info("line {i}", { i }); } },
 *   };`,
 * );
 * const host = await createPluginHost({ Plugins: { PluginsDirectory: dir } }, {
 *   logRate: { perSecond: 1, burst: 5 },
 * });
 * await host.start();
 * await host.getPlugin("chatty")?.call("talk");
 * assert.equal(host.getPlugin("chatty")?.getMetrics().logsDropped, 15); // past the burst of 5
 * await host.stop();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export interface LogRate {
  /** Records a second, on average. */
  readonly perSecond: number;
  /** Records at once, after a quiet time. */
  readonly burst: number;
}

/**
 * The default budget: enough for a chatty plugin, far below what would slow the host.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_LOG_RATE } from "@dotcompute/plugins";
 * assert.deepEqual(DEFAULT_LOG_RATE, { perSecond: 200, burst: 2000 });
 * ```
 */
export const DEFAULT_LOG_RATE: LogRate = { perSecond: 200, burst: 2000 };

/**
 * Takes one token per record; counts the records dropped since the last report. Internal to the host (not
 * exported from mod.ts).
 */
export class LogBudget {
  readonly rate: LogRate;
  #tokens: number;
  #at: number;
  #dropped = 0;
  #reportedAt = 0;
  #due: ReturnType<typeof setTimeout> | undefined;

  constructor(rate: LogRate, now: number = Date.now()) {
    this.rate = rate;
    this.#tokens = rate.burst;
    this.#at = now;
  }

  /** Whether a record may pass now; if not, it is counted as dropped. */
  take(now: number = Date.now()): boolean {
    this.#tokens = Math.min(this.rate.burst, this.#tokens + ((now - this.#at) / 1000) * this.rate.perSecond);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens--;
      return true;
    }
    this.#dropped++;
    return false;
  }

  /**
   * The records dropped since the last report, if any and a second has passed since it (or `now` is forced,
   * as when a worker ends); else 0.
   */
  report(now: number = Date.now(), force = false): number {
    if (this.#dropped === 0 || (!force && now - this.#reportedAt < 1000)) return 0;
    const dropped = this.#dropped;
    this.#dropped = 0;
    this.#reportedAt = now;
    return dropped;
  }

  /**
   * Calls `say` once when the records dropped but not yet reported are due (a second after the last report):
   * a flood that stopped is reported then, not at some later record or usage report (an idle plugin has
   * none for minutes). One timer at most, and none while nothing waits.
   */
  later(say: () => void, now: number = Date.now()): void {
    if (this.#dropped === 0 || this.#due !== undefined) return;
    const due = this.#due = setTimeout(() => {
      this.#due = undefined;
      say();
    }, Math.max(0, this.#reportedAt + 1000 - now));
    Deno.unrefTimer(due);
  }

  /** Drops the pending `later` (its worker ended; what waited was reported with `force`). */
  cancel(): void {
    clearTimeout(this.#due);
    this.#due = undefined;
  }
}
