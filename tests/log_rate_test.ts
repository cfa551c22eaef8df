import assert from "node:assert/strict";
import { LogBudget } from "../src/logging/log_rate.ts";

Deno.test("LogBudget: a burst passes, then the average rate; drops are reported at most once a second", () => {
  const b = new LogBudget({ perSecond: 10, burst: 5 }, 0);
  const passed = Array.from({ length: 8 }, () => b.take(0)).filter(Boolean).length;
  assert.equal(passed, 5);
  assert.equal(b.report(1000), 3);
  assert.equal(b.report(1500), 0, "nothing new");
  // 0.5 s later: 5 tokens back at 10/s (capped at the burst).
  assert.equal(Array.from({ length: 7 }, () => b.take(1500)).filter(Boolean).length, 5);
  assert.equal(b.report(1600), 0, "less than a second since the last report");
  assert.equal(b.report(2000), 2);
  assert.equal(b.take(100_000), true, "a long quiet time refills up to the burst only");
  assert.equal(Array.from({ length: 10 }, () => b.take(100_000)).filter(Boolean).length, 4);
});
