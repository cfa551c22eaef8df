// LatencyHistogram percentiles against exact ones on known distributions; CallMetrics' counters.
import assert from "node:assert/strict";
import { CallMetrics, LatencyHistogram } from "../mod.ts";

/** A small seeded PRNG (mulberry32), so the distributions are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The exact q-quantile (nearest rank) of sorted values. */
function exact(sorted: readonly number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

function within5(actual: number, expected: number, what: string): void {
  const error = Math.abs(actual - expected) / expected;
  assert.ok(error <= 0.05, `${what}: ${actual} vs exact ${expected} (${(error * 100).toFixed(2)}% off)`);
}

function checkDistribution(name: string, values: number[]): void {
  const h = new LatencyHistogram();
  for (const v of values) h.record(v);
  const sorted = [...values].sort((a, b) => a - b);
  const s = h.summary();
  assert.equal(s.count, values.length, name);
  assert.equal(s.max, sorted.at(-1), `${name}: max is exact`);
  within5(s.p50, exact(sorted, 0.5), `${name} p50`);
  within5(s.p95, exact(sorted, 0.95), `${name} p95`);
  within5(s.p99, exact(sorted, 0.99), `${name} p99`);
  assert.ok(s.p50 <= s.p95 && s.p95 <= s.p99 && s.p99 <= s.max, `${name}: ordered ${JSON.stringify(s)}`);
}

Deno.test("an empty histogram reports zeros", () => {
  assert.deepEqual(new LatencyHistogram().summary(), { count: 0, p50: 0, p95: 0, p99: 0, max: 0 });
});

Deno.test("percentiles are within 5% on a uniform distribution 1..10000 ms", () => {
  checkDistribution("uniform ints", Array.from({ length: 10_000 }, (_, i) => i + 1));
  const r = rng(1);
  checkDistribution("uniform random", Array.from({ length: 50_000 }, () => 0.5 + r() * 200));
});

Deno.test("percentiles are within 5% on exponential and log-normal distributions", () => {
  const r = rng(42);
  checkDistribution("exponential mean 20 ms", Array.from({ length: 50_000 }, () => -20 * Math.log(1 - r())));
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  checkDistribution(
    "log-normal around 5 ms",
    Array.from({ length: 50_000 }, () => Math.exp(Math.log(5) + normal())),
  );
});

Deno.test("percentiles are within 5% across six orders of magnitude", () => {
  // 10 µs .. 10 s, log-uniform.
  const r = rng(7);
  checkDistribution("log-uniform 0.01..10000 ms", Array.from({ length: 50_000 }, () => 10 ** (r() * 6 - 2)));
  for (const ms of [0.01, 0.5, 3, 42, 1_000, 30_000, 120_000]) {
    const h = new LatencyHistogram();
    for (let i = 0; i < 100; i++) h.record(ms);
    const s = h.summary();
    assert.equal(s.p50, ms, `a constant ${ms} ms reads back as itself (capped at max)`);
    assert.equal(s.p99, ms);
  }
});

Deno.test("a bimodal distribution: p50 on the fast mode, p99 on the slow one", () => {
  const values = [...Array.from({ length: 900 }, () => 2), ...Array.from({ length: 100 }, () => 800)];
  checkDistribution("bimodal", values);
  const h = new LatencyHistogram();
  for (const v of values) h.record(v);
  const s = h.summary();
  within5(s.p50, 2, "p50");
  within5(s.p95, 800, "p95");
});

Deno.test({
  name: "percentiles stay within 5% up to about an hour",
  fn() {
    const r = rng(3);
    checkDistribution("10..50 minutes", Array.from({ length: 1_000 }, () => 600_000 + r() * 2_400_000));
  },
});

Deno.test("a million records: memory stays fixed, the summary stays right", () => {
  const h = new LatencyHistogram();
  const r = rng(9);
  const values = new Float64Array(1_000_000);
  for (let i = 0; i < values.length; i++) h.record(values[i] = 1 + r() * 99);
  const s = h.summary();
  const sorted = values.sort();
  assert.equal(s.count, 1_000_000);
  assert.equal(s.max, sorted[sorted.length - 1]);
  within5(s.p50, sorted[499_999], "p50");
  within5(s.p95, sorted[949_999], "p95");
  within5(s.p99, sorted[989_999], "p99");
  // Nothing per record is kept: summaries of a million records cost what one costs (a pass over the buckets).
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) h.summary();
  assert.ok(performance.now() - t0 < 1000, "summary is O(buckets), not O(records)");
});

Deno.test("tiny and non-positive durations land in the first bucket", () => {
  const h = new LatencyHistogram();
  for (const v of [0, 0.0001, 0.001]) h.record(v);
  const s = h.summary();
  assert.equal(s.count, 3);
  assert.ok(s.p99 <= 0.001);
  assert.equal(s.max, 0.001);
});

Deno.test("CallMetrics counts calls, errors, in flight, latency and the last error", () => {
  const m = new CallMetrics();
  const empty = m.snapshot(1_000);
  assert.deepEqual(
    { ...empty, latencyMs: undefined },
    {
      calls: 0,
      errors: 0,
      inFlight: 0,
      latencyMs: undefined,
      restarts: 0,
      uptimeMs: 0,
      protocolErrors: 0,
      logsDropped: 0,
      custom: { counters: {}, histograms: {} },
    },
  );
  assert.equal("lastError" in empty, false, "no lastError before any");

  const a = m.begin();
  const b = m.begin();
  const c = m.begin();
  let s = m.snapshot();
  assert.equal(s.calls, 3);
  assert.equal(s.inFlight, 3);
  assert.equal(s.latencyMs.count, 0, "latency is recorded when a call ends");

  a(undefined);
  const t0 = Date.now();
  b(new RangeError("out of range"));
  const t1 = Date.now();
  s = m.snapshot();
  assert.equal(s.calls, 3);
  assert.equal(s.inFlight, 1);
  assert.equal(s.errors, 1);
  assert.equal(s.latencyMs.count, 2);
  assert.equal(s.lastError?.name, "RangeError");
  assert.equal(s.lastError?.message, "out of range");
  assert.ok(s.lastError!.at >= t0 && s.lastError!.at <= t1);

  c("a string thrown");
  s = m.snapshot();
  assert.equal(s.inFlight, 0);
  assert.equal(s.errors, 2);
  assert.deepEqual({ ...s.lastError, at: 0 }, { name: "Error", message: "a string thrown", at: 0 });

  m.recordError(new TypeError("plugin failed"));
  s = m.snapshot();
  assert.equal(s.errors, 2, "recordError alone is not a failed call");
  assert.equal(s.lastError?.name, "TypeError");
});

Deno.test("CallMetrics: protocol errors, restarts, uptime and custom metrics", () => {
  const m = new CallMetrics();
  m.protocolError();
  m.protocolError();
  m.running(false, 1_000); // the first start, then two more: 2 restarts, running since the last
  m.running(true, 5_000);
  m.running(true, 10_000);
  const custom = { counters: { hits: 3 }, histograms: { size: { count: 1, sum: 4, min: 4, max: 4 } } };
  m.setCustom(custom);
  const s = m.snapshot(12_500);
  assert.equal(s.protocolErrors, 2);
  assert.equal(s.restarts, 2);
  assert.equal(s.uptimeMs, 2_500);
  assert.deepEqual(s.custom, custom);
  assert.equal(m.snapshot(9_000).uptimeMs, 0, "never negative");
  m.notRunning();
  assert.equal(m.snapshot(20_000).uptimeMs, 0, "0 when not running");
});

Deno.test("CallMetrics latency reflects how long calls took", async () => {
  const m = new CallMetrics();
  const done = m.begin();
  await new Promise((r) => setTimeout(r, 30));
  done(undefined);
  const { latencyMs } = m.snapshot();
  assert.equal(latencyMs.count, 1);
  assert.ok(latencyMs.max >= 25 && latencyMs.max < 2_000, `${latencyMs.max}`);
  assert.equal(latencyMs.p50, latencyMs.max);
});
