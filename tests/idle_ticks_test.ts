// The host's usage clock (src/isolation/_usage_clock.ts) ticks a direct worker every second only while it needs
// it: a worker whose reports feed a limit always, any other one while a call is in flight and in the second
// after its channel was used. An idle worker that no limit watches is left alone (one tick in 5 min), and is
// ticked again as soon as it is called. Real Workers, counted by their usage reports.
import assert from "node:assert/strict";
import { join } from "node:path";
import { toFileUrl } from "../src/_common/paths.ts";
import { WorkerTier } from "../src/isolation/worker_tier.ts";
import type { PluginConnection, SpawnSpec } from "../src/isolation/tier.ts";

const MODULE = `export default { methods: {
  now() { return 1; },
  async wait(ms) { await new Promise((r) => setTimeout(r, ms)); return ms; },
} };`;

/** A started worker and its usage reports: `reports` so far, `next()` resolves at the next one. */
interface Watched {
  readonly conn: PluginConnection;
  reports: number;
  next(): Promise<void>;
}

async function spawn(dir: string, id: string, usageNeeded?: boolean): Promise<Watched> {
  const folder = join(dir, id);
  await Deno.mkdir(folder);
  await Deno.writeTextFile(join(folder, "mod.js"), MODULE);
  let waiting: (() => void)[] = [];
  const spec: SpawnSpec = {
    id,
    name: id,
    version: "1.0.0",
    entryUrl: toFileUrl(join(folder, "mod.js")),
    settings: {},
    dependencies: [],
    permissions: {
      read: [folder],
      write: [],
      net: [],
      env: [],
      run: false,
      ffi: false,
      sys: false,
      import: false,
      npm: [],
      gpu: false,
      denied: [],
      narrowed: [],
    },
    callTimeoutMs: 30_000,
    loadTimeoutMs: 30_000,
    ...(usageNeeded === undefined ? {} : { usageNeeded }),
    onLog() {},
    onMetrics() {},
    onProtocolError(reason) {
      throw new Error(`protocol error: ${reason}`);
    },
    onPluginCall: () => Promise.reject(new Error("no calls")),
    onUsage() {
      watched.reports++;
      const now = waiting;
      waiting = [];
      for (const resolve of now) resolve();
    },
  };
  const watched: Watched = {
    conn: undefined as unknown as PluginConnection,
    reports: 0,
    next: () => new Promise<void>((resolve) => waiting.push(resolve)),
  };
  (watched as { conn: PluginConnection }).conn = await new WorkerTier().spawn(spec);
  return watched;
}

/** Two periods of the clock (the watched worker reports each): the period after the last message is over. */
async function quiet(clock: Watched): Promise<void> {
  await clock.next();
  await clock.next();
}

Deno.test("an idle worker that no limit watches is not ticked, is ticked again once called, and a watched one always", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dotcompute_ticks_" });
  const idle = await spawn(dir, "idle", false);
  const watched = await spawn(dir, "watched", true); // a limit rests on its reports
  const unsaid = await spawn(dir, "unsaid"); // usageNeeded absent: a limit may rest on it, so it counts as one
  try {
    // Both are ticked in the first second (just started) and in the one after their last message (ready).
    await idle.next();
    await quiet(watched);
    const before = idle.reports;
    for (let i = 0; i < 3; i++) await watched.next();
    assert.ok(watched.reports >= 5, `watched: ${watched.reports} reports`);
    assert.ok(unsaid.reports >= 4, `unsaid: ${unsaid.reports} reports`);
    assert.equal(idle.reports, before, "the idle worker was ticked while idle");

    // A call: it is ticked at the next second, and reports again.
    const report = idle.next();
    assert.equal(await idle.conn.call("method", "now", []), 1);
    await report;
    assert.equal(idle.reports, before + 1);

    // A call in flight keeps it on the clock however long it takes (here about 2.5 ticks).
    const during = idle.reports;
    const slow = idle.conn.call("method", "wait", [2600]);
    await idle.next();
    await idle.next();
    assert.equal(await slow, 2600);
    assert.ok(idle.reports >= during + 2, `${idle.reports - during} reports during the call`);

    // Idle again: the watched one goes on, the idle one stops after the period that followed its answer.
    await quiet(watched);
    const after = idle.reports;
    for (let i = 0; i < 3; i++) await watched.next();
    assert.equal(idle.reports, after, "ticked again while idle");
  } finally {
    await idle.conn.terminate();
    await watched.conn.terminate();
    await unsaid.conn.terminate();
    await Deno.remove(dir, { recursive: true });
  }
});
