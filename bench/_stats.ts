// Small statistics for the benchmark suite: medians, and runs that alternate baseline and subject.

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = xs.toSorted((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** One measured quantity of a scenario: its samples (one per round) and their median. */
export interface Measure {
  readonly samples: number[];
  readonly median: number;
}

/**
 * Runs each named measurement once per round, the order rotating each round, so drift on the machine hits
 * every subject alike; returns each one's samples and median.
 */
export async function alternate<K extends string>(
  rounds: number,
  subjects: Readonly<Record<K, () => Promise<number>>>,
): Promise<Record<K, Measure>> {
  const names = Object.keys(subjects) as K[];
  const samples = Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const k = names[(i + r) % names.length];
      samples[k].push(await subjects[k]());
    }
  }
  return Object.fromEntries(
    names.map((k) => [k, { samples: samples[k], median: median(samples[k]) }]),
  ) as Record<
    K,
    Measure
  >;
}

/** The median of the per-round ratios subject/baseline: steadier than a ratio of medians under load. */
export function pairedRatio(subject: Measure, baseline: Measure): number {
  return median(subject.samples.map((s, i) => s / baseline.samples[i]));
}

/** Microseconds per call of `calls` sequential awaits of `f`. */
export async function perCallUs(calls: number, f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) await f();
  return (performance.now() - t0) * 1000 / calls;
}

/** Calls per second for `calls` calls of `f` with `depth` of them in flight at any time. */
export async function callsPerSecond(
  calls: number,
  depth: number,
  f: () => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < calls) {
      next++;
      await f();
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: depth }, lane));
  return calls / ((performance.now() - t0) / 1000);
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
