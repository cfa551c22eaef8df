/**
 * What metrics show of a plugin that runs as several replicas or behind a concurrency cap: each replica, and the
 * calls waiting for one.
 *
 * @module
 */

/** One replica as metrics show it. */
export interface ReplicaSnapshot {
  /** Its slot, 0-based; a restarted or replaced replica keeps its slot. */
  readonly index: number;
  /** `serving` takes calls; `draining` finishes its calls before it ends (a reload or a retirement). */
  readonly state: "serving" | "draining";
  /** Calls in flight on it now. */
  readonly inFlight: number;
  /** Method calls it was given. */
  readonly calls: number;
  /** Times its slot was restarted after a death. */
  readonly restarts: number;
  /** When it started (epoch ms). */
  readonly startedAt: number;
  /** Heap used, from its last usage report, in bytes. */
  readonly heapUsedBytes?: number;
}

/** The queue as metrics show it. */
export interface QueueSnapshot {
  /** Calls waiting now. */
  readonly length: number;
  /** Calls that ever waited. */
  readonly queued: number;
  /** Calls whose wait ran out (`QUEUE_TIMEOUT`). */
  readonly timeouts: number;
  /** Mean wait of the calls that left the queue for a replica, in ms. */
  readonly meanWaitMs: number;
  /** Longest such wait, in ms. */
  readonly maxWaitMs: number;
}
