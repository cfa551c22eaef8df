// A direct worker's usage (CPU, event-loop lag, heap) is measured from ticks the host sends it, not from a timer
// of its own (a Worker's first timer costs it ~1.7 MiB): how late the plugin handles a tick is how long its
// loop was blocked (tests/blocked_time_test.ts: ticks that queue up behind one long block count it once).
import assert from "node:assert/strict";
import { hostWith, pollUntil } from "./_helpers.ts";

const burner = {
  manifest: { id: "burner" },
  code: `export default { methods: {
    burn(ms) { const end = performance.now() + ms; while (performance.now() < end) {} return ms; },
  } };`,
};

type Resources = { cpuPercent: number; eventLoopLagMs?: number; heapUsedBytes?: number };

/** The handle's resources once `ok` holds for them (each usage report updates them, once a second). */
async function until(
  p: { getMetrics(): { resources?: Resources } },
  ok: (r: Resources) => boolean,
): Promise<Resources> {
  const r = await pollUntil(() => p.getMetrics().resources, (r) => r !== undefined && ok(r), 15_000);
  if (!r || !ok(r)) throw new Error(`usage never matched: ${JSON.stringify(r)}`);
  return r;
}

Deno.test("usage of a direct worker: heap, and a blocked loop as lag and CPU, from the host's ticks", async () => {
  await using t = await hostWith({ burner });
  await t.host.start();
  const p = t.host.getPlugin("burner")!;
  const idle = await until(p, (r) => (r.heapUsedBytes ?? 0) > 0);
  assert.ok(idle.cpuPercent < 50, `idle: ${JSON.stringify(idle)}`);
  // 2.5 s of busy loop: two or three ticks queue up behind it and are handled one after the other.
  await p.call("burn", 2500);
  const busy = await until(p, (r) => (r.eventLoopLagMs ?? 0) > 100);
  assert.ok(busy.cpuPercent > 20, `busy: ${JSON.stringify(busy)}`);
});
