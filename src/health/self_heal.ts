/**
 * Restarts plugins that die unasked (crash, exit, out of memory, cpu, unresponsive) or fail to start, with
 * growing delays, and quarantines those that keep dying. Uses only the host's public surface.
 *
 * @module
 */

import { getLogger } from "../_npm/logtape.ts";
import { type RestartPolicy, RestartTracker } from "./restart_policy.ts";

/** One step of self-healing, as emitted on the host. */
export interface HealEvent {
  /** The plugin. */
  readonly id: string;
  /** `scheduled`: a restart will run after `delayMs`; `restarted` / `failed`: how it went; `quarantined`. */
  readonly action: "scheduled" | "restarted" | "failed" | "quarantined";
  /** Which restart this is within the policy's window. */
  readonly attempt?: number;
  /** The delay before the restart, for `scheduled`. */
  readonly delayMs?: number;
  /** The replica (0-based) restarted alone, for a plugin that runs several (`Replicas`). */
  readonly replica?: number;
  /** What happened, in words. */
  readonly reason: string;
  /** When, in ms since the epoch. */
  readonly at: number;
}

/** What the healer needs of the host. */
export interface HealTarget {
  /** Starts the plugin again (loads it if needed). */
  restart(id: string): Promise<void>;
  /** Whether the plugin should still be restarted (enabled, known, not stopped by an operator, host running). */
  wanted(id: string): boolean;
  /** Emits a heal event. */
  emit(event: HealEvent): void;
  /** Records the quarantine on the plugin (its last error). */
  quarantine(id: string, reason: string): void;
}

const log = getLogger(["dotcompute", "host", "heal"]);

/**
 * Self-healing for one host.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type HealEvent, type HealTarget, SelfHealer } from "./self_heal.ts";
 * const events: HealEvent[] = [];
 * const restarted = Promise.withResolvers<void>();
 * const target: HealTarget = { // what the host gives it
 *   restart: () => Promise.resolve(),
 *   wanted: () => true,
 *   emit: (e) => {
 *     events.push(e);
 *     if (e.action === "restarted") restarted.resolve();
 *   },
 *   quarantine: () => {},
 * };
 * const healer = new SelfHealer(target, { maxRestarts: 3, baseDelayMs: 10, jitter: 0 });
 * healer.onDeath("my.plugin", "crashed");
 * await restarted.promise;
 * await healer[Symbol.asyncDispose]();
 * assert.deepEqual(events.map((e) => [e.action, e.attempt]), [["scheduled", 1], ["restarted", 1]]);
 * ```
 */
export class SelfHealer implements AsyncDisposable {
  readonly #target: HealTarget;
  readonly #policy: Partial<RestartPolicy>;
  readonly #trackers = new Map<string, RestartTracker>();
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  #disposed = false;

  /** `policy` overrides {@linkcode DEFAULT_RESTART_POLICY} field by field. */
  constructor(target: HealTarget, policy: Partial<RestartPolicy> = {}) {
    this.#target = target;
    this.#policy = policy;
  }

  /** The plugin died unasked, or failed to start: restart it later, or quarantine it. */
  onDeath(id: string, reason: string): void {
    if (this.#disposed || this.#timers.has(id) || !this.#target.wanted(id)) return;
    let tracker = this.#trackers.get(id);
    if (!tracker) this.#trackers.set(id, tracker = new RestartTracker(this.#policy));
    const decision = tracker.onDeath();
    const at = Date.now();
    if (decision.action === "quarantine") {
      log.error("plugin {id} {reason} (last: {last})", { id, reason: decision.reason, last: reason });
      this.#target.quarantine(id, decision.reason);
      this.#target.emit({ id, action: "quarantined", reason: `${decision.reason}; last: ${reason}`, at });
      return;
    }
    const { attempt, delayMs } = decision;
    log.warn("plugin {id} died ({reason}); restart {attempt} in {delayMs} ms", {
      id,
      reason,
      attempt,
      delayMs,
    });
    this.#target.emit({ id, action: "scheduled", attempt, delayMs, reason, at });
    this.#timers.set(
      id,
      setTimeout(async () => {
        this.#timers.delete(id);
        if (this.#disposed || !this.#target.wanted(id)) return;
        try {
          await this.#target.restart(id);
          this.#target.emit({ id, action: "restarted", attempt, reason: "running again", at: Date.now() });
        } catch (e) {
          const why = e instanceof Error ? e.message : String(e);
          this.#target.emit({ id, action: "failed", attempt, reason: why, at: Date.now() });
          this.onDeath(id, why);
        }
      }, delayMs),
    );
  }

  /** An operator started or stopped the plugin: forget its deaths and any pending restart. */
  reset(id: string): void {
    clearTimeout(this.#timers.get(id));
    this.#timers.delete(id);
    this.#trackers.delete(id);
  }

  /** Cancels every pending restart. */
  [Symbol.asyncDispose](): Promise<void> {
    this.#disposed = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    return Promise.resolve();
  }
}
