// Self-healing against real workers: a plugin that stops answering is found by the periodic health check and
// restarted; one that dies on every start is restarted with growing delays, then quarantined.
import assert from "node:assert/strict";
import { type HealEvent, RestartTracker } from "../mod.ts";
import { hostWith, type PluginSource } from "./_helpers.ts";

function heals(
  host: { on(t: "heal", l: (e: HealEvent) => void): () => void },
): { next(): Promise<HealEvent> } {
  const queue: HealEvent[] = [];
  const waiters: ((e: HealEvent) => void)[] = [];
  host.on("heal", (e) => (waiters.shift() ?? ((x) => queue.push(x)))(e));
  return { next: () => queue.length ? Promise.resolve(queue.shift()!) : new Promise((r) => waiters.push(r)) };
}

Deno.test("RestartTracker doubles the delay, caps it, and quarantines past the limit", () => {
  const t = new RestartTracker({
    maxRestarts: 4,
    windowMs: 10_000,
    baseDelayMs: 100,
    maxDelayMs: 500,
    jitter: 0,
  });
  assert.deepEqual([0, 1, 2, 3].map((n) => t.onDeath(n)), [
    { action: "restart", attempt: 1, delayMs: 100 },
    { action: "restart", attempt: 2, delayMs: 200 },
    { action: "restart", attempt: 3, delayMs: 400 },
    { action: "restart", attempt: 4, delayMs: 500 },
  ]);
  assert.equal(t.onDeath(4).action, "quarantine");
  // Deaths older than the window no longer count.
  assert.deepEqual(t.onDeath(20_000), { action: "restart", attempt: 1, delayMs: 100 });
});

const freezer: PluginSource = {
  manifest: { id: "freezer" },
  code: `const born = Date.now();
    export default { methods: {
      born: () => born,
      freeze() { setTimeout(() => { for (;;) {} }, 0); return "freezing"; },
    } };`,
};

Deno.test("a plugin that stops answering is detected by the health check within its deadline and restarted", async () => {
  await using t = await hostWith({ freezer }, {
    Plugins: { HealthCheckInterval: 200, freezer: { ResourceLimits: { MaxMemoryMB: 128 } } },
  }, { restartPolicy: { baseDelayMs: 50 } });
  await t.host.start();
  const p = t.host.getPlugin("freezer")!;
  const events = heals(t.host);
  const before = await p.call("born");
  const crashed = new Promise<{ reason: string }>((resolve) => t.host.on("crash", resolve));
  const t0 = performance.now();
  await p.call("freeze");
  const crash = await crashed;
  // One interval to notice, plus the 3 s ping deadline.
  assert.ok(performance.now() - t0 < 200 + 3000 + 1500, `took ${performance.now() - t0} ms`);
  assert.match(crash.reason, /unresponsive: no answer to a health ping within 3000 ms/);
  assert.equal((await events.next()).action, "scheduled");
  assert.equal((await events.next()).action, "restarted");
  assert.equal(p.state, "Running");
  assert.ok((await p.call("born") as number) > (before as number), "a fresh instance answers");
  assert.equal(p.getMetrics().restarts, 1);
});

Deno.test("a plugin that dies on every start is restarted with growing delays, then quarantined", async () => {
  const dying: PluginSource = {
    manifest: { id: "dying" },
    code: `export default { start() { throw new Error("no database"); } };`,
  };
  await using t = await hostWith({ dying }, {}, {
    restartPolicy: { maxRestarts: 3, baseDelayMs: 40, maxDelayMs: 1000, jitter: 0 },
  });
  const events = heals(t.host);
  await t.host.start();
  const seen: HealEvent[] = [];
  for (let e = await events.next();; e = await events.next()) {
    seen.push(e);
    if (e.action === "quarantined") break;
  }
  const delays = seen.filter((e) => e.action === "scheduled").map((e) => e.delayMs);
  assert.deepEqual(delays, [40, 80, 160]);
  assert.equal(seen.filter((e) => e.action === "failed").length, 3);
  const p = t.host.getPlugin("dying")!;
  assert.equal(p.state, "Failed");
  assert.match(p.lastError!.message, /quarantined after 4 deaths/);
  assert.equal((p.lastError as Error & { code?: string }).code, "QUARANTINED");
  // An operator's start lifts the quarantine (and here fails again, reported to the caller).
  await assert.rejects(t.host.startPlugin("dying"), /no database/);
});
