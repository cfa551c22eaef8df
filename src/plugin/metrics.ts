/**
 * Per-plugin call metrics kept by the host in bounded memory: counts, in flight, and a log-bucketed latency
 * histogram from which percentiles are read.
 *
 * @module
 */

import type { QueueSnapshot, ReplicaSnapshot } from "./pool_metrics.ts";
import type { ShutdownReason } from "../lifecycle/shutdown.ts";
import type { HistogramSnapshot } from "../rpc/protocol.ts";

/** Latency percentiles in milliseconds. */
export interface LatencySummary {
  /** How many durations were recorded. */
  readonly count: number;
  /** The median. */
  readonly p50: number;
  /** The 95th percentile. */
  readonly p95: number;
  /** The 99th percentile. */
  readonly p99: number;
  /** The longest duration recorded. */
  readonly max: number;
}

/** A plugin's limits and what it uses of them. */
export interface ResourceUsage {
  /** The heap cap in MiB, when there is one. */
  readonly maxMemoryMB?: number;
  /** The CPU budget in percent of one core, when there is one. */
  readonly maxCpuPercent?: number;
  /** Percent of one core spent blocking the plugin's event loop over the last 10 s. */
  readonly cpuPercent: number;
  /**
   * Mean lateness of the plugin's usage timer over its last report, in ms: its event-loop lag. The timer ticks
   * every 100 ms for a plugin with a CPU budget, every second otherwise.
   */
  readonly eventLoopLagMs?: number;
  /** The plugin's used heap in bytes, as last sampled in its thread. */
  readonly heapUsedBytes?: number;
  /** Its memory outside the heap (ArrayBuffers) in bytes, as last sampled; counted against `maxMemoryMB`. */
  readonly externalBytes?: number;
  /** Whether new calls are being refused for being over the CPU budget. */
  readonly throttled: boolean;
  /** How the plugin last ended unasked: memory, cpu, timeout, exit, crash, load-failed. */
  readonly lastExitKind?: string;
}

/** One plugin's metrics, as `getMetrics()` returns them. */
export interface PluginMetricsSnapshot {
  /** Calls made to the plugin's methods. */
  readonly calls: number;
  /** Calls that rejected. */
  readonly errors: number;
  /** Calls pending now. */
  readonly inFlight: number;
  /** Latency of the calls, in ms. */
  readonly latencyMs: LatencySummary;
  /** How many times the plugin was started again after its first start. */
  readonly restarts: number;
  /** Milliseconds since the plugin last reached Running; 0 when it is not running. */
  readonly uptimeMs: number;
  /** Messages from the plugin that were malformed and dropped. */
  readonly protocolErrors: number;
  /** Log records from the plugin dropped because it logged faster than its budget. */
  readonly logsDropped: number;
  /** The last error of a call or of the plugin itself. */
  readonly lastError?: { readonly name: string; readonly message: string; readonly at: number };
  /** Limits, usage and how the plugin last ended (set by the plugin's handle). */
  readonly resources?: ResourceUsage;
  /**
   * Messages between the host and the plugin's worker or process since the host created the plugin: calls
   * and answers ready in the same tick travel as one batch, so a burst of calls costs few messages.
   */
  readonly wire?: {
    readonly messagesSent: number;
    readonly messagesReceived: number;
    /** Lone small calls that went through the shared-memory slot, not a message (worker tier). */
    readonly sharedCalls: number;
  };
  /** Its replicas (a plugin with `Replicas` or `MaxConcurrency`): each one's calls, in flight, restarts, heap. */
  readonly replicas?: readonly ReplicaSnapshot[];
  /** The calls waiting for a replica with room (`MaxConcurrency`), and how long they waited. */
  readonly queue?: QueueSnapshot;
  /** How many of its instances ended, by typed reason, since the host created it. */
  readonly shutdowns?: Readonly<Partial<Record<ShutdownReason, number>>>;
  /** The plugin's own counters and histograms (`ctx.metrics`). */
  readonly custom: {
    readonly counters: Readonly<Record<string, number>>;
    readonly histograms: Readonly<Record<string, HistogramSnapshot>>;
  };
}

// Buckets grow by 5%: percentiles within 5%, in 460 counters, from 1 µs to over an hour.
const GROWTH = Math.log(1.05);
const MIN_MS = 0.001;
const BUCKETS = 460;

/**
 * A latency histogram with fixed memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LatencyHistogram } from "@dotcompute/plugins";
 * const h = new LatencyHistogram();
 * for (let i = 1; i <= 100; i++) h.record(i);
 * const { count, p50, max } = h.summary();
 * assert.equal(count, 100);
 * assert.ok(Math.abs(p50 - 50) <= 50 * 0.05); // within 5%
 * assert.equal(max, 100);
 * ```
 */
export class LatencyHistogram {
  readonly #counts = new Uint32Array(BUCKETS);
  #count = 0;
  #max = 0;

  /** Records one duration in ms. */
  record(ms: number): void {
    const i = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / GROWTH));
    this.#counts[i]++;
    this.#count++;
    if (ms > this.#max) this.#max = ms;
  }

  /** The percentiles of everything recorded. */
  summary(): LatencySummary {
    return {
      count: this.#count,
      p50: this.#quantile(0.5),
      p95: this.#quantile(0.95),
      p99: this.#quantile(0.99),
      max: this.#max,
    };
  }

  #quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.ceil(q * this.#count);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i];
      if (seen >= rank) return Math.min(this.#max, MIN_MS * Math.exp(i * GROWTH));
    }
    return this.#max;
  }
}

/**
 * The counters the host keeps for one plugin.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CallMetrics } from "@dotcompute/plugins";
 * const m = new CallMetrics();
 * const done = m.begin();
 * assert.equal(m.snapshot(0).inFlight, 1);
 * done(undefined); // no error: a call that succeeded
 * assert.equal(m.snapshot(0).calls, 1);
 * assert.equal(m.snapshot(0).errors, 0);
 * ```
 */
export class CallMetrics {
  #calls = 0;
  #errors = 0;
  #inFlight = 0;
  #protocolErrors = 0;
  #logsDropped = 0;
  #restarts = 0;
  #runningSince: number | undefined;
  readonly #latency = new LatencyHistogram();
  #lastError: PluginMetricsSnapshot["lastError"];
  #custom: PluginMetricsSnapshot["custom"] = { counters: {}, histograms: {} };

  /** How many times the plugin was started again after its first start. */
  get restarts(): number {
    return this.#restarts;
  }

  /** When the plugin last reached Running (epoch ms); undefined while it is not running. */
  get runningSince(): number | undefined {
    return this.#runningSince;
  }

  /** The plugin reached Running (`again`: not for the first time). */
  running(again: boolean, now: number = Date.now()): void {
    if (again) this.#restarts++;
    this.#runningSince = now;
  }

  /** The plugin left Running (stopping, failed): its uptime ends. */
  notRunning(): void {
    this.#runningSince = undefined;
  }

  /** Counts a call starting; call the result with its error (or undefined) when it ends. */
  begin(): (error: unknown) => void {
    const t0 = this.start();
    return (error) => this.finish(t0, error);
  }

  /** Counts a call starting and returns its start time; pass that to {@linkcode CallMetrics.finish}. */
  start(): number {
    this.#calls++;
    this.#inFlight++;
    return performance.now();
  }

  /** Counts a call starting whose start time someone else takes; they pass it to {@linkcode CallMetrics.finish}. */
  started(): void {
    this.#calls++;
    this.#inFlight++;
  }

  /** Counts a call ending (with its error, or undefined). No closure per call: this is the hot path. */
  finish(t0: number, error: unknown): void {
    this.#inFlight--;
    this.#latency.record(performance.now() - t0);
    if (error !== undefined) {
      this.#errors++;
      this.recordError(error);
    }
  }

  /** Remembers the last error. */
  recordError(error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error));
    this.#lastError = { name: e.name, message: e.message, at: Date.now() };
  }

  /** Counts a dropped message. */
  protocolError(): void {
    this.#protocolErrors++;
  }

  /** Counts log records dropped over the plugin's log budget. */
  logsDropped(count: number): void {
    this.#logsDropped += count;
  }

  /**
   * Replaces the plugin's own metrics with the totals it sent. Copied into the host's own records: a plugin's
   * message keeps nothing of its own here (no extra histogram fields, no shared memory, `__proto__` a plain key).
   */
  setCustom(custom: PluginMetricsSnapshot["custom"]): void {
    const counters: Record<string, number> = {};
    for (const [name, v] of Object.entries(custom.counters)) own(counters, name, Number(v));
    const histograms: Record<string, HistogramSnapshot> = {};
    for (const [name, h] of Object.entries(custom.histograms)) {
      own(histograms, name, {
        count: Number(h.count),
        sum: Number(h.sum),
        min: Number(h.min),
        max: Number(h.max),
      });
    }
    this.#custom = { counters, histograms };
  }

  /** Everything, as of `now`. */
  snapshot(now: number = Date.now()): PluginMetricsSnapshot {
    const base = {
      calls: this.#calls,
      errors: this.#errors,
      inFlight: this.#inFlight,
      latencyMs: this.#latency.summary(),
      restarts: this.#restarts,
      uptimeMs: this.#runningSince === undefined ? 0 : Math.max(0, now - this.#runningSince),
      protocolErrors: this.#protocolErrors,
      logsDropped: this.#logsDropped,
      custom: this.#custom,
    };
    return this.#lastError ? { ...base, lastError: this.#lastError } : base;
  }
}

/** Sets an own data property: a metric named `__proto__` is a metric, not a prototype. */
function own<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}
