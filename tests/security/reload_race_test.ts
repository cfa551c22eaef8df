// Attacks timed to coincide with a reload: a version swapped in that reaches outside its grants, a plugin
// that exits or floods forged answers while its reload runs, a symlink slipped in before the reload. The reload
// ends one way or the other, the host keeps serving, and no new version gets more than the old one had.
import assert from "node:assert/strict";
import { join } from "node:path";
import { attacker, attackHost } from "./_attack.ts";

const racer = (id: string, extra = "") =>
  attacker(id, {
    version: `() => "v1"`,
    flood:
      `(n) => { for (let i = 0; i < n; i++) globalThis.postMessage({ v: 1, t: "result", id: i, value: "forged" });
      return n; }`,
  }, { manifest: { capabilities: ["HotReloadable"] }, prelude: extra });

Deno.test("reload races: attacks timed with a reload never widen a plugin's reach nor stop the host", async (t) => {
  await using h = await attackHost({
    "swap-out": racer("swap-out"),
    "exit-on-stop": {
      manifest: { id: "exit-on-stop", capabilities: ["HotReloadable"] },
      code: `export default { stop() { Deno.exit(9); }, methods: { version: () => "v1" } };`,
    },
    "flood-reload": racer("flood-reload"),
    "link-in": racer("link-in"),
  });
  const dirOf = (id: string) => h.plugin(id).dir;

  await t.step(
    "reload: a new version that reads outside at load is refused; the old one keeps answering",
    async () => {
      await Deno.mkdir(join(h.root, "outside"), { recursive: true });
      await Deno.writeTextFile(join(h.root, "outside", "secret.txt"), "s3cr3t");
      await Deno.writeTextFile(
        join(dirOf("swap-out"), "mod.ts"),
        `const s = await Deno.readTextFile(new URL("../../outside/secret.txt", import.meta.url));
       export default { methods: { version: () => "v2 " + s } };`,
      );
      await assert.rejects(h.host.reload("swap-out"), /Requires read access to ".*secret\.txt"/);
      assert.deepEqual(await h.plugin("swap-out").call("version"), { ok: true, value: "v1" });
      await h.healthy({ "swap-out": "Running" });
    },
  );

  await t.step("reload: a plugin exiting from its stop hook during the reload is replaced", async () => {
    await Deno.writeTextFile(
      join(dirOf("exit-on-stop"), "mod.ts"),
      `export default { methods: { version: () => "v2" } };`,
    );
    await h.host.reload("exit-on-stop").catch(() => {});
    const p = h.plugin("exit-on-stop");
    if (p.state !== "Running") await h.host.startPlugin("exit-on-stop");
    assert.equal(await p.call("version"), "v2");
    await h.healthy({ "exit-on-stop": "Running" });
  });

  await t.step("reload: forged answers flooding in while the plugin reloads are dropped", async () => {
    await Deno.writeTextFile(
      join(dirOf("flood-reload"), "mod.ts"),
      `export default { methods: { version: () => "v2" } };`,
    );
    const p = h.plugin("flood-reload");
    // The flood call itself may be answered by its own forgery: that is the plugin's own call.
    await Promise.all([p.call("flood", 5000), h.host.reload("flood-reload")]);
    assert.equal(await p.call("version"), "v2");
    assert.ok(h.protocolErrors.some((e) => e.id === "flood-reload"));
    await h.healthy({ "flood-reload": "Running" });
  });

  await t.step(
    "reload: a symlink pointing out, slipped in before the reload, makes the reload fail",
    async () => {
      await Deno.symlink(join(h.root, "outside", "secret.txt"), join(dirOf("link-in"), "link"));
      await assert.rejects(h.host.reload("link-in"), /symlink "link" points outside the plugin folder/);
      assert.deepEqual(await h.plugin("link-in").call("version"), { ok: true, value: "v1" });
      await h.healthy({ "link-in": "Running" });
    },
  );
});
