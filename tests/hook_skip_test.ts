// A hook the plugin does not define costs no round trip: the ready message says which of initialize,
// validateSettings and start the plugin has (ReadyMessage.hooks), and the host sends only those. Every cold
// start of a lazy plugin paid two round trips (~1 ms) for hooks that did nothing. Real Workers, both tiers.
import assert from "node:assert/strict";
import { hostWith, type PluginSource } from "./_helpers.ts";

const bare: PluginSource = {
  manifest: { id: "bare" },
  code: `export default { methods: { ping: () => "pong" } };`,
};
const hooked: PluginSource = {
  manifest: { id: "hooked" },
  code: `let seen = [];
    export default {
      initialize() { seen.push("initialize"); },
      start() { seen.push("start"); },
      methods: { seen: () => seen },
    };`,
};
const validating: PluginSource = {
  manifest: { id: "validating" },
  code: `export default {
      validateSettings: (s) => (s.size > 0 ? [] : ["size must be positive"]),
      methods: { ping: () => "pong" },
    };`,
};

for (const isolation of ["worker", "process"]) {
  Deno.test(`${isolation}: start() sends no hook a plugin lacks, and every hook it has`, async () => {
    await using t = await hostWith({ bare, hooked }, {
      Plugins: { bare: { Isolation: isolation }, hooked: { Isolation: isolation } },
    });
    await t.host.start();
    // What went to the plugin: messages, and lone calls through the worker's shared slot.
    const sent = (id: string): number => {
      const wire = t.host.getPlugin(id)!.getMetrics().wire!;
      return wire.messagesSent + wire.sharedCalls;
    };
    // Both got the load the same way; hooked got initialize and start besides, bare nothing.
    assert.equal(sent("hooked") - sent("bare"), 2);
    assert.ok(sent("bare") <= 1, `${sent("bare")} sent to a plugin without hooks`);
    assert.deepEqual(await t.host.getPlugin("hooked")!.call("seen"), ["initialize", "start"]);
    assert.equal(await t.host.getPlugin("bare")!.call("ping"), "pong");
  });
}

Deno.test("a plugin with validateSettings and no initialize still has its settings judged at start", async () => {
  await using t = await hostWith({ validating }, {
    Plugins: { validating: { Settings: { size: 0 } } },
  });
  await t.host.start().catch(() => {});
  const p = t.host.getPlugin("validating")!;
  assert.equal(p.state, "Failed");
  assert.match(p.lastError?.message ?? "", /size must be positive/);
});
