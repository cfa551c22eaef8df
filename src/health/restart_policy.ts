/**
 * Self-healing: when a plugin dies unasked, restart it after a delay that doubles with each attempt (with
 * jitter, so plugins that died together do not restart together); after too many deaths in a window, stop
 * trying and quarantine it until an operator starts it.
 *
 * @module
 */

/** How a crashed plugin is restarted. */
export interface RestartPolicy {
  /** Deaths allowed within `windowMs`; one more quarantines the plugin. Default 5. */
  readonly maxRestarts: number;
  /** The window deaths are counted in, in ms. Default 60000. */
  readonly windowMs: number;
  /** Delay before the first restart, in ms; it doubles with each attempt. Default 500. */
  readonly baseDelayMs: number;
  /** The longest delay, in ms. Default 30000. */
  readonly maxDelayMs: number;
  /** Up to this fraction is added to each delay at random. Default 0.2. */
  readonly jitter: number;
}

/** The defaults of {@linkcode RestartPolicy}. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = Object.freeze({
  maxRestarts: 5,
  windowMs: 60_000,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  jitter: 0.2,
});

/** What to do after a death. */
export type RestartDecision =
  | { readonly action: "restart"; readonly attempt: number; readonly delayMs: number }
  | { readonly action: "quarantine"; readonly deaths: number; readonly reason: string };

/**
 * Counts one plugin's deaths and decides what follows each.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RestartTracker } from "@dotcompute/plugins";
 * const t = new RestartTracker({ maxRestarts: 2, windowMs: 60_000, baseDelayMs: 100, maxDelayMs: 1000, jitter: 0 });
 * assert.deepEqual(t.onDeath(0), { action: "restart", attempt: 1, delayMs: 100 });
 * assert.deepEqual(t.onDeath(1), { action: "restart", attempt: 2, delayMs: 200 });
 * assert.equal(t.onDeath(2).action, "quarantine"); // a third death within the window
 * ```
 */
export class RestartTracker {
  readonly #policy: RestartPolicy;
  readonly #random: () => number;
  #deaths: number[] = [];

  /** `random` is injectable so tests can fix the jitter. */
  constructor(policy: Partial<RestartPolicy> = {}, random: () => number = Math.random) {
    this.#policy = { ...DEFAULT_RESTART_POLICY, ...policy };
    this.#random = random;
  }

  /** Records a death at `now` and decides. */
  onDeath(now: number = Date.now()): RestartDecision {
    const p = this.#policy;
    this.#deaths = this.#deaths.filter((t) => t > now - p.windowMs);
    this.#deaths.push(now);
    const n = this.#deaths.length;
    if (n > p.maxRestarts) {
      return {
        action: "quarantine",
        deaths: n,
        reason: `quarantined after ${n} deaths within ${p.windowMs / 1000} s; start it to try again`,
      };
    }
    const base = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** (n - 1));
    return { action: "restart", attempt: n, delayMs: Math.round(base * (1 + p.jitter * this.#random())) };
  }

  /** Forgets the deaths (an operator started the plugin). */
  reset(): void {
    this.#deaths = [];
  }
}
