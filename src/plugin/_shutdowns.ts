/**
 * Internal: the ends of a plugin's instances, each with its typed reason: counted, the last kept, and each one
 * emitted as a `shutdown` event. Kept across restarts and reloads.
 *
 * @module
 */

import type { Emitter, HostEventMap } from "../events/events.ts";
import type { ShutdownEvent, ShutdownReason } from "../lifecycle/shutdown.ts";
import type { PluginConnection } from "../isolation/tier.ts";

/** One plugin's shutdowns. */
export class Shutdowns {
  readonly #id: string;
  readonly #counts: Partial<Record<ShutdownReason, number>> = {};
  #last: ShutdownEvent | undefined;
  /** Instances already accounted for: a stop then an unload of the same worker is one shutdown. */
  readonly #seen = new WeakSet<PluginConnection>();

  constructor(id: string) {
    this.#id = id;
  }

  get last(): ShutdownEvent | undefined {
    return this.#last;
  }

  /** The counts by reason, for the metrics. */
  counts(): Readonly<Partial<Record<ShutdownReason, number>>> {
    return { ...this.#counts };
  }

  /** Records the end of `conn` (once; none when undefined), or of replica `replica`, and emits it on `events`. */
  record(
    events: Emitter<HostEventMap>,
    conn: PluginConnection | undefined,
    reason: ShutdownReason,
    detail?: string,
    replica?: number,
  ): void {
    if (conn) {
      if (this.#seen.has(conn)) return;
      this.#seen.add(conn);
    }
    this.#counts[reason] = (this.#counts[reason] ?? 0) + 1;
    const event: ShutdownEvent = {
      id: this.#id,
      reason,
      ...(replica === undefined ? {} : { replica }),
      ...(detail === undefined ? {} : { detail }),
      at: Date.now(),
    };
    this.#last = event;
    events.emit("shutdown", event);
  }
}
