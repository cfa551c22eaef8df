// The host core against real workers: lifecycle, calls, transfers, timeouts, crashes, clean stop.
import assert from "node:assert/strict";
import { CallTimeoutError, PluginCrashedError, PluginHostError, type StateChange } from "../mod.ts";
import { captureLogs, hostWith, type PluginSource } from "./_helpers.ts";

const api = new URL("../src/plugin_api.ts", import.meta.url).href;

const echo: PluginSource = {
  manifest: { id: "echo" },
  code: `
    export default {
      start(ctx) { ctx.log.info("start hook ran for {id}", { id: ctx.id }); },
      stop(ctx) { ctx.log.info("stop hook ran; signal aborted={aborted}", { aborted: ctx.signal.aborted }); },
      methods: {
        ping() { return "pong"; },
        double(xs) { for (let i = 0; i < xs.length; i++) xs[i] *= 2; return xs; },
        async slow(ms) { await new Promise((r) => setTimeout(r, ms)); return "late"; },
        async waitForCancel() {
          const { promise, resolve } = Promise.withResolvers();
          globalThis.__ctx.callSignal.addEventListener("abort", () => resolve("aborted"));
          return promise;
        },
        fail() { const e = new RangeError("out of range"); e.code = "E_RANGE"; throw e; },
        async die(how) {
          setTimeout(() => how === "close" ? close() : Deno.exit(7), 20);
          await new Promise(() => {});
        },
      },
      initialize(ctx) { globalThis.__ctx = ctx; },
    };`,
};

const classy: PluginSource = {
  manifest: { id: "classy", settings: { factor: 3 } },
  code: `
    import { BackendPluginBase } from "${api}";
    export default class Classy extends BackendPluginBase {
      onStop() { this.logger.info("classy onStop"); }
      triple(x) { this.metrics.counter("tripled").add(); return x * this.settings.factor; }
      _hidden() { return "no"; }
    }`,
};

Deno.test("plugins load, run, answer calls and stop through every state", async () => {
  await using logs = await captureLogs();
  await using t = await hostWith({ echo, classy });
  const changes: StateChange[] = [];
  t.host.on("state", (c) => changes.push(c));
  await t.host.start();
  const e = t.host.getPlugin("echo")!;
  assert.equal(e.state, "Running");
  assert.equal(await e.call("ping"), "pong");
  const c = t.host.getPlugin("classy")!;
  assert.equal(await c.call("triple", 5), 15);
  assert.deepEqual([...c.methods], ["triple"]);
  await assert.rejects(
    c.call("_hidden"),
    (err: Error) => err.name === "PluginHostError" && /no method/.test(err.message),
  );
  assert.deepEqual(
    changes.filter((x) => x.id === "echo").map((x) => x.to),
    ["Loading", "Loaded", "Initializing", "Initialized", "Starting", "Running"],
  );
  await t.host.stop();
  assert.equal(e.state, "Unloaded");
  assert.deepEqual(
    changes.filter((x) => x.id === "echo").slice(-4).map((x) => x.to),
    ["Stopping", "Stopped", "Unloading", "Unloaded"],
  );
  const messages = logs.records.map((r) => `${r.properties.pluginId}: ${r.message.join("")}`);
  assert.ok(messages.includes("echo: start hook ran for echo"), messages.join("\n"));
  assert.ok(messages.includes("echo: stop hook ran; signal aborted=true"), messages.join("\n"));
  assert.ok(messages.includes("classy: classy onStop"), messages.join("\n"));
  await assert.rejects(
    e.call("ping"),
    (err) => err instanceof PluginHostError && err.code === "PLUGIN_NOT_RUNNING",
  );
});

Deno.test("a 16 MiB Float32Array goes to a method and back intact, transferred both ways", async () => {
  await using t = await hostWith({ echo });
  await t.host.start();
  const data = new Float32Array(4 * 1024 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = i;
  const result = await t.host.getPlugin("echo")!.call("double", data) as Float32Array;
  assert.equal(data.buffer.byteLength, 0, "the sender's buffer is detached");
  assert.equal(result.length, 4 * 1024 * 1024);
  assert.equal(result[12345], 24690);
  assert.equal(result[result.length - 1], (result.length - 1) * 2);
});

Deno.test("a call past its timeout rejects with a timeout error and the plugin stays usable", async () => {
  await using t = await hostWith({ echo });
  await t.host.start();
  const p = t.host.getPlugin("echo")!;
  await assert.rejects(p.request("slow", [5_000], { timeoutMs: 100 }), CallTimeoutError);
  assert.equal(await p.call("ping"), "pong");
  assert.equal(p.state, "Running");
  const m = p.getMetrics();
  assert.equal(m.calls, 2);
  assert.equal(m.errors, 1);
});

Deno.test("aborting a call rejects it and aborts the plugin's per-call signal", async () => {
  await using t = await hostWith({ echo });
  await t.host.start();
  const p = t.host.getPlugin("echo")!;
  const controller = new AbortController();
  const pending = p.request("waitForCancel", [], { signal: controller.signal });
  controller.abort(new Error("user gave up"));
  await assert.rejects(pending, (e) => e instanceof PluginHostError && e.code === "CALL_ABORTED");
  assert.equal(await p.call("ping"), "pong");
});

Deno.test("remote errors come back as the same class with name, message and code", async () => {
  await using t = await hostWith({ echo });
  await t.host.start();
  await assert.rejects(t.host.getPlugin("echo")!.call("fail"), (e: Error & { code?: string }) => {
    assert.ok(e instanceof RangeError);
    assert.equal(e.message, "out of range");
    assert.equal(e.code, "E_RANGE");
    return true;
  });
});

for (const how of ["exit", "close"]) {
  Deno.test(`a plugin that dies mid-call (${how}) rejects the call with a crash error within 1 s`, async () => {
    await using t = await hostWith({ echo });
    await t.host.start();
    const p = t.host.getPlugin("echo")!;
    const crashed = new Promise((resolve) => t.host.on("crash", resolve));
    const t0 = performance.now();
    await assert.rejects(p.call("die", how), PluginCrashedError);
    assert.ok(performance.now() - t0 < 1000, `took ${performance.now() - t0} ms`);
    await crashed;
    assert.equal(p.state, "Failed");
    assert.match(p.lastError!.message, how === "exit" ? /Deno\.exit \(code 7\)/ : /close\(\)/);
  });
}

Deno.test("start, stop and reload one plugin through the host", async () => {
  await using t = await hostWith({ echo, classy });
  await t.host.start();
  await t.host.stopPlugin("classy");
  assert.equal(t.host.getPlugin("classy")!.state, "Unloaded");
  assert.equal(await t.host.getPlugin("echo")!.call("ping"), "pong");
  await t.host.startPlugin("classy");
  assert.equal(await t.host.getPlugin("classy")!.call("triple", 2), 6);
  const handle = t.host.getPlugin("classy")!;
  const reloaded = await t.host.reload("classy");
  assert.equal(reloaded, handle, "the handle survives a reload");
  assert.equal(reloaded.state, "Running");
  assert.equal(t.host.getStatistics().byState.Running, 2);
});

Deno.test("reload picks up the plugin's new code and version; disable and enable stop and start it", async () => {
  await using t = await hostWith({ echo, classy });
  await t.host.start();
  const handle = t.host.getPlugin("classy")!;
  const dir = handle.dir;
  await Deno.writeTextFile(`${dir}/mod.ts`, `export default { methods: { triple: (x) => x * 30 } };`);
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/plugin.jsonc`));
  await Deno.writeTextFile(`${dir}/plugin.jsonc`, JSON.stringify({ ...manifest, version: "2.0.0" }));
  await t.host.reload("classy");
  assert.equal(handle.version, "2.0.0");
  assert.equal(await handle.call("triple", 2), 60);

  await t.host.disable("classy");
  assert.equal(handle.state, "Unloaded");
  await t.host.reload("classy");
  assert.equal(handle.state, "Unloaded", "a disabled plugin stays stopped across a reload");
  await t.host.enable("classy");
  assert.equal(await handle.call("triple", 1), 30);
});

Deno.test("a plugin disabled in the config is discovered but not started", async () => {
  await using t = await hostWith({ echo, classy }, { Plugins: { classy: { Enabled: false } } });
  await t.host.start();
  assert.equal(t.host.getPlugin("classy")!.state, "Unknown");
  assert.equal(t.host.getPlugin("echo")!.state, "Running");
  await t.host.enable("classy");
  assert.equal(t.host.getPlugin("classy")!.state, "Running");
});

Deno.test("stop lets in-flight calls finish, refuses new ones, then ends the worker", async () => {
  await using t = await hostWith({ echo });
  await t.host.start();
  const p = t.host.getPlugin("echo")!;
  const inFlight = p.call("slow", 150);
  const stopped = t.host.stopPlugin("echo");
  await assert.rejects(
    p.call("ping"),
    (e) => e instanceof PluginHostError && e.code === "PLUGIN_NOT_RUNNING",
  );
  assert.equal(await inFlight, "late");
  await stopped;
  assert.equal(p.state, "Unloaded");
});

Deno.test("stop does not wait past DrainTimeout for a call that never ends", async () => {
  await using t = await hostWith({ echo }, { Plugins: { DrainTimeout: 100 } });
  await t.host.start();
  const p = t.host.getPlugin("echo")!;
  const never = p.call("waitForCancel");
  await t.host.stopPlugin("echo");
  assert.equal(p.state, "Unloaded");
  await assert.rejects(never, PluginHostError);
});
