// The monitoring provider (plugins/monitoring) in a real host through the test kit, beside a plugin made to
// fail on purpose: it reads the host's metrics through the "host.metrics" service, raises alerts on its
// thresholds (method and warning log), resolves them, and a plugin that did not declare the service is refused.
import assert from "node:assert/strict";
import { join } from "node:path";
import { testPlugin } from "../src/testing/testing.ts";
import type monitoring from "../plugins/monitoring/mod.ts";

const dir = new URL("../plugins/monitoring", import.meta.url);

async function pluginFolder(manifest: Record<string, unknown>, code: string): Promise<string> {
  const folder = await Deno.makeTempDir({ prefix: "monitoring_fixture_" });
  await Deno.writeTextFile(join(folder, "plugin.jsonc"), JSON.stringify({ version: "1.0.0", ...manifest }));
  await Deno.writeTextFile(join(folder, "mod.ts"), code);
  return folder;
}

Deno.test("monitoring: alerts when another plugin crosses a threshold, once, and resolves it", async () => {
  const flaky = await pluginFolder(
    { id: "flaky", name: "Flaky" },
    `export default { methods: { ok: () => 1, fail() { throw new Error("boom"); } } };`,
  );
  try {
    await using p = await testPlugin<typeof monitoring>(dir, {
      with: [flaky],
      settings: { intervalMs: 0, thresholds: { errorsPerCheck: 2 } }, // checks only when asked: no timing
    });
    assert.deepEqual(await p.call("thresholds"), { errorsPerCheck: 2, p95LatencyMs: 1000, restarts: 3 });
    const target = p.host.getPlugin("flaky")!;
    await assert.rejects(target.call("fail"));
    await assert.rejects(target.call("fail"));
    assert.deepEqual(await p.call("check"), [], "2 errors are not over 2");

    for (let i = 0; i < 3; i++) await assert.rejects(target.call("fail"));
    const raised = await p.call("check");
    assert.equal(raised.length, 1);
    assert.deepEqual(
      {
        plugin: raised[0].plugin,
        metric: raised[0].metric,
        value: raised[0].value,
        threshold: raised[0].threshold,
      },
      { plugin: "flaky", metric: "errors", value: 3, threshold: 2 },
    );
    const warning = await p.waitForLog((l) => l.level === "warning" && l.message.startsWith("alert:"));
    assert.equal(warning.message, "alert: flaky: errors 3 over 2");
    assert.deepEqual((await p.call("alerts")).map((a) => a.metric), ["errors"]);

    // No new errors by the next check: the errors alert resolves (a stopped plugin is no alert).
    await p.host.stopPlugin("flaky");
    const state = await p.call("check");
    assert.equal(state.length, 0, "Stopped is not Failed");
    assert.deepEqual(await p.call("alerts"), []);
    await p.waitForLog((l) => l.message === "resolved: flaky: errors 3 over 2");
    assert.equal(p.logs.filter((l) => l.message.startsWith("alert:")).length, 1, "raised once");
  } finally {
    await Deno.remove(flaky, { recursive: true });
  }
});

Deno.test("monitoring: a Failed plugin raises a state alert", async () => {
  const broken = await pluginFolder(
    { id: "broken", name: "Broken" },
    `export default { start() { throw new Error("cannot start"); } };`,
  );
  try {
    await using p = await testPlugin<typeof monitoring>(dir, { with: [broken], settings: { intervalMs: 0 } });
    assert.equal(p.host.getPlugin("broken")?.state, "Failed");
    const [alert] = await p.call("check");
    assert.equal(alert.plugin, "broken");
    assert.equal(alert.metric, "state");
    assert.equal(alert.message, "broken: state Failed over not Failed");
  } finally {
    await Deno.remove(broken, { recursive: true });
  }
});

Deno.test("host.metrics: only a plugin that declares it may read it; lookups see it as a service", async () => {
  const reader = (id: string, declared: boolean): Promise<string> =>
    pluginFolder(
      { id, name: id, ...(declared ? { optionalDependencies: { "host.metrics": "^1.0.0" } } : {}) },
      `let ctx; export default { initialize(c) { ctx = c; }, methods: {
        read: () => ctx.plugins.call("host.metrics", "snapshot"),
        lookup: async () => { const s = await ctx.plugins.getService("host.metrics"); return s && { id: s.id, version: s.version }; },
        poke: () => ctx.plugins.call("host.metrics", "setState", "x"),
      } };`,
    );
  const allowed = await reader("reader.allowed", true);
  const refused = await reader("reader.refused", false);
  try {
    await using p = await testPlugin(allowed, { with: [refused] });
    const snap = await p.call("read") as { at: number; plugins: { id: string; state: string }[] };
    assert.deepEqual(snap.plugins.map((x) => [x.id, x.state]).sort(), [
      ["reader.allowed", "Running"],
      ["reader.refused", "Running"],
    ]);
    assert.deepEqual(await p.call("lookup"), { id: "host.metrics", version: "1.0.0" });
    await assert.rejects(p.call("poke"), { code: "METHOD_NOT_FOUND", message: /has no method "setState"/ });
    const other = p.host.getPlugin("reader.refused")!;
    await assert.rejects(other.call("read"), {
      code: "PERMISSION_DENIED",
      message: /"reader\.refused" may not read "host\.metrics"/,
    });
    await assert.rejects(other.call("lookup"), { code: "PERMISSION_DENIED" });
  } finally {
    await Deno.remove(allowed, { recursive: true });
    await Deno.remove(refused, { recursive: true });
  }
});
