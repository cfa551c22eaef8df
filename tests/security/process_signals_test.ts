// Signals, exits and aborts aimed at the host's own process, through every API that reaches it (Deno's and
// Node's), and every way a plugin can end itself: the host outlives all of them and says why the plugin died.
import assert from "node:assert/strict";
import { attacker, attackHost, hostProcess } from "./_attack.ts";
import type { PluginSource } from "../_helpers.ts";

const proc = `(await import("node:process"))`;
const killer = attacker("killer", {
  denoKill: `() => Deno.kill(Deno.pid, "SIGKILL")`,
  processKill: `async () => ${proc}.default.kill(Deno.pid, "SIGKILL")`,
  namedKill: `async () => ${proc}.kill(Deno.pid, "SIGKILL")`,
  builtinKill: `() => globalThis.process.getBuiltinModule("process").kill(Deno.pid, "SIGKILL")`,
  globalProcessKill: `() => globalThis.process.kill(Deno.pid, "SIGKILL")`,
  processAbort: `async () => ${proc}.default.abort()`,
  namedAbort: `async () => (await import("node:" + "process")).abort()`,
  builtinAbort: `() => globalThis.process.getBuiltinModule("node:process").abort()`,
  requireAbort: `async () => (await import("node:module")).createRequire(import.meta.url)("process").abort()`,
  signalListener: `() => Deno.addSignalListener("SIGTERM", () => {})`,
});

const KILL = /(Deno|process)\.kill is not available to plugins/;
const ABORT = /process\.abort is not available to plugins/;

Deno.test("signals: kill and abort aimed at the host are refused through every route", async (t) => {
  await using h = await attackHost({ killer });
  for (
    const [attack, denial] of [
      ["denoKill", KILL],
      ["processKill", KILL],
      ["namedKill", KILL],
      ["builtinKill", KILL],
      ["globalProcessKill", KILL],
      ["processAbort", ABORT],
      ["namedAbort", ABORT],
      ["builtinAbort", ABORT],
      ["requireAbort", ABORT],
      ["signalListener", /Deno\.addSignalListener is not available to plugins/],
    ] as const
  ) {
    await t.step(`signals: ${attack}`, () => h.denied("killer", attack, denial).then(() => {}));
  }
});

Deno.test("signals: a plugin cannot keep an embedding host alive through SIGTERM", async () => {
  // The host script has no signal listener of its own: SIGTERM must end it, whatever the plugin registered.
  const out = await hostProcess({
    id: "immortal",
    code: `import process from "node:process";
     const tries = [() => Deno.addSignalListener("SIGTERM", () => {}), () => process.on("SIGTERM", () => {})];
     export default { methods: { hold: () => tries.map((f) => { try { f(); return "held"; } catch (e) { return e.message; } }) } };`,
    dispose: false,
    body: `console.log(JSON.stringify(await host.getPlugin("immortal").call("hold")));
     Deno.kill(Deno.pid, "SIGTERM");
     await new Promise((r) => setTimeout(r, 10_000));
     console.log("still alive");`,
  });
  assert.equal(out.signal, "SIGTERM", `${out.stdout}\n${out.stderr}`);
  assert.doesNotMatch(out.stdout, /still alive/);
  assert.match(out.stdout, /Deno\.addSignalListener is not available to plugins/);
});

const dies = (id: string, code: string): [string, PluginSource] => [id, { manifest: { id }, code }];

Deno.test("exits: plugins that throw, exit, close or hang end Failed with the reason; the rest keep running", async (t) => {
  const plugins = Object.fromEntries([
    dies("top-level-throw", `throw new Error("boom at top level");`),
    dies("start-throws", `export default { start() { throw new TypeError("no database"); } };`),
    dies("deno-exit", `export default { start() { Deno.exit(3); } };`),
    dies("exit-at-load", `Deno.exit(4);`),
    dies("close", `export default { initialize() { close(); } };`),
    dies(
      "process-exit",
      `import process from "node:process"; export default { start() { process.exit(5); } };`,
    ),
    dies("never-settles", `await new Promise(() => {}); export default {};`),
    dies("bad-export", `export default 42;`),
    dies(
      "unhandled-rejection",
      `export default { start() { Promise.reject(new RangeError("nobody listens")); } };`,
    ),
    dies(
      "throw-in-timer",
      `export default { start() { setTimeout(() => { throw new Error("late boom"); }, 0); } };`,
    ),
  ]);
  await using h = await attackHost(plugins, { config: { Plugins: { CallTimeout: 4000 } } });
  const expected: Record<string, RegExp> = {
    "top-level-throw": /boom at top level/,
    "start-throws": /TypeError|no database/,
    "deno-exit": /Deno\.exit \(code 3\)/,
    "exit-at-load": /Deno\.exit \(code 4\)/,
    "close": /close\(\)/,
    "process-exit": /process\.exit \(code 5\)|code 5/,
    "never-settles": /longer than 4000 ms/,
    "bad-export": /default export must be an object or a class/,
  };
  for (const [id, reason] of Object.entries(expected)) {
    await t.step(`exits: ${id}`, async () => {
      const p = h.plugin(id);
      assert.equal(p.state, "Failed", `${id} is ${p.state}`);
      assert.match(p.lastError!.message, reason);
      await h.healthy();
    });
  }
  // An error escaping later (a rejection nobody handles, a throw in a timer) ends the plugin as a crash.
  for (
    const [id, reason] of [["unhandled-rejection", /nobody listens/], [
      "throw-in-timer",
      /late boom/,
    ]] as const
  ) {
    await t.step(`exits: ${id}`, async () => {
      const p = h.plugin(id);
      if (p.state !== "Failed") {
        await new Promise<void>((resolve) => {
          const off = h.host.on("crash", (e) => e.id === id && (off(), resolve()));
        });
      }
      assert.equal(p.state, "Failed");
      assert.match(p.lastError!.message, reason);
      await h.healthy();
    });
  }
  assert.equal(h.host.getStatistics().byState.Failed, 10);
});
