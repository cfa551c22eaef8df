// A plugin's own counters and histograms, kept inside its worker and sent to the host as totals at most every
// FLUSH_MS while they change (one message per burst, not one per update).
import type { PluginCounter, PluginHistogram, PluginMetrics } from "../plugin_api.ts";
import type { HistogramSnapshot } from "../rpc/protocol.ts";

const FLUSH_MS = 250;
const MAX_SERIES = 1000;
const NAME = /^[a-zA-Z_][a-zA-Z0-9_.:-]{0,127}$/;

interface Snapshot {
  readonly counters: Record<string, number>;
  readonly histograms: Record<string, HistogramSnapshot>;
}

export class PluginMetricsRecorder implements PluginMetrics {
  readonly #counters = new Map<string, number>();
  readonly #histograms = new Map<string, { count: number; sum: number; min: number; max: number }>();
  readonly #flush: (s: Snapshot) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(flush: (s: Snapshot) => void) {
    this.#flush = flush;
  }

  #check(name: string): void {
    if (!NAME.test(name)) throw new TypeError(`Invalid metric name ${JSON.stringify(name)}`);
    if (this.#counters.size + this.#histograms.size >= MAX_SERIES) {
      throw new RangeError(`A plugin may keep at most ${MAX_SERIES} metrics`);
    }
  }

  #dirty(): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#flush({
        counters: Object.fromEntries(this.#counters),
        histograms: Object.fromEntries([...this.#histograms].map(([k, v]) => [k, { ...v }])),
      });
    }, FLUSH_MS);
  }

  counter(name: string): PluginCounter {
    if (!this.#counters.has(name)) {
      this.#check(name);
      this.#counters.set(name, 0);
    }
    return {
      add: (n = 1): void => {
        if (!Number.isFinite(n) || n < 0) throw new RangeError("A counter only grows by finite amounts");
        this.#counters.set(name, this.#counters.get(name)! + n);
        this.#dirty();
      },
    };
  }

  histogram(name: string): PluginHistogram {
    if (!this.#histograms.has(name)) {
      this.#check(name);
      this.#histograms.set(name, { count: 0, sum: 0, min: Infinity, max: -Infinity });
    }
    return {
      record: (value: number): void => {
        if (!Number.isFinite(value)) throw new RangeError("A histogram records finite values");
        const h = this.#histograms.get(name)!;
        h.count++;
        h.sum += value;
        h.min = Math.min(h.min, value);
        h.max = Math.max(h.max, value);
        this.#dirty();
      },
    };
  }
}
