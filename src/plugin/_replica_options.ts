/**
 * Internal: what a replica set (_replicas.ts) needs from its plugin: its sizes and bounds, how to spawn a replica,
 * and where to report what happens to its replicas and calls.
 *
 * @module
 */

import type { ShutdownReason } from "../lifecycle/shutdown.ts";
import type { PluginConnection } from "../isolation/tier.ts";

/** What a replica set needs from its plugin. */
export interface ReplicaSetOptions {
  readonly id: string;
  /** How many replicas serve. */
  readonly count: number;
  /** Calls in flight per replica; more wait in the queue. None: no cap. */
  readonly maxConcurrency?: number;
  /** How long a call may wait in the queue; the call's own timeout when absent. */
  readonly queueTimeoutMs?: number;
  /** The default bound of a call. */
  readonly callTimeoutMs: number;
  /** Bounds each hook of a restart. */
  readonly hookTimeoutMs: number;
  /** How long a replaced replica may finish its calls. */
  readonly drainTimeoutMs: number;
  /** Methods retried once on another replica when theirs is lost. */
  readonly idempotent: ReadonlySet<string>;
  /** Spawns one replica of the current definition, loaded (no hook run yet). */
  spawn(): Promise<PluginConnection>;
  /** A replica ended (a restart, a replacement, a stop): for the `shutdown` event and the metrics. */
  ended(index: number, reason: ShutdownReason, detail: string): void;
  /** A lost replica's slot was restarted (or a try failed: `error`), on try `attempt`. */
  healed(index: number, attempt: number, error?: Error): void;
  /** A lost call is retried: it counts as a call of its own. */
  retried(): void;
  /** A call ended without reaching a replica (its queue wait ran out, the set ended): for the metrics. */
  dropped(queuedAt: number, error: Error): void;
}
