// Dependencies against real workers: start and stop order as the plugins record it, diamonds, cycles, missing
// and mismatched versions, optional dependencies, calls and services between plugins, zero-copy transfers,
// and dependents told, stopped and started again when a dependency stops, crashes, comes back or is reloaded.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { DependencyEvent, HostEventMap, PluginHost, StateChange } from "../mod.ts";
import { PluginHostError } from "../mod.ts";
import { captureLogs, hostWith, type PluginSource, writePlugins } from "./_helpers.ts";

/** A plugin that logs its start, stop and every dependency change, and calls others on request. */
const code = (extra = ""): string => `
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  export default {
    initialize(ctx) { globalThis.__ctx = ctx; },
    async start(ctx) {
      ctx.log.info("begin " + ctx.id);
      await sleep(ctx.settings.startMs ?? 0);
      ctx.log.info("start " + ctx.id);
    },
    stop(ctx) { ctx.log.info("stop " + ctx.id); },
    dependencyChanged(c, ctx) { ctx.log.info("told " + ctx.id + ": " + c.dependency + " " + c.change); },
    methods: {
      ping() { return globalThis.__ctx.id + "@" + globalThis.__ctx.version; },
      call(id, method, ...args) { return globalThis.__ctx.plugins.call(id, method, ...args); },
      async attempt(id, method, ...args) {
        try {
          return { ok: await globalThis.__ctx.plugins.call(id, method, ...args) };
        } catch (e) {
          return { name: e.name, code: e.code, message: e.message };
        }
      },
      async service(name, range) {
        try {
          const s = await globalThis.__ctx.plugins.getService(name, range);
          return s ? { id: s.id, name: s.name, version: s.version, answer: await s.call("ping") } : null;
        } catch (e) {
          return { name: e.name, code: e.code, message: e.message };
        }
      },
      ${extra}
    },
  };`;

const plugin = (id: string, manifest: Record<string, unknown> = {}, extra = ""): PluginSource => ({
  manifest: { id, ...manifest },
  code: code(extra),
});

type Logs = Awaited<ReturnType<typeof captureLogs>>;
/** What the plugins logged with this verb, in the order the host received it: the ids after the verb. */
const logged = (logs: Logs, verb: string): string[] =>
  logs.records.map((r) => r.message.join("")).filter((m) => m.startsWith(`${verb} `)).map((m) =>
    m.slice(verb.length + 1)
  );

/** Resolves with the first event of `type` for which `pred` holds. */
function next<K extends keyof HostEventMap>(
  host: PluginHost,
  type: K,
  pred: (e: HostEventMap[K]) => boolean,
): Promise<HostEventMap[K]> {
  return new Promise((resolve) => {
    const off = host.on(type, (e) => {
      if (pred(e)) off(), resolve(e);
    });
  });
}

const states = (host: PluginHost): Record<string, string> =>
  Object.fromEntries(host.getPlugins().map((p) => [p.id, p.state]));

Deno.test("a diamond starts its base first, both sides together, its top last, and stops in reverse", async () => {
  await using logs = await captureLogs();
  await using t = await hostWith({
    top: plugin("top", { dependencies: { left: "^1.0.0", right: "^1.0.0" } }),
    left: plugin("left", { dependencies: { base: "^1.0.0" }, settings: { startMs: 2000 } }),
    right: plugin("right", { dependencies: { base: ">=1.0.0 <2" }, settings: { startMs: 2000 } }),
    base: plugin("base", { version: "1.2.0" }),
  });
  await t.host.start();
  assert.deepEqual(states(t.host), { base: "Running", left: "Running", right: "Running", top: "Running" });
  const started = logged(logs, "start");
  assert.equal(started[0], "base");
  assert.deepEqual(started.slice(1, 3).sort(), ["left", "right"]);
  assert.equal(started[3], "top");
  // Independent plugins start concurrently: both sides began before either finished its 2 s start.
  const events = logs.records.map((r) => r.message.join("")).filter((m) =>
    /^(begin|start) (left|right)$/.test(m)
  );
  assert.deepEqual(events.slice(0, 2).map((m) => m.split(" ")[0]), ["begin", "begin"], events.join(", "));

  await t.host.stop();
  const stopped = logged(logs, "stop");
  assert.equal(stopped[0], "top");
  assert.deepEqual(stopped.slice(1, 3).sort(), ["left", "right"]);
  assert.equal(stopped[3], "base");
});

Deno.test("a cycle fails its members and their dependents without loading them; the rest starts", async () => {
  await using t = await hostWith({
    a: plugin("a", { dependencies: { b: "*" } }),
    b: plugin("b", { dependencies: { a: "*" } }),
    c: plugin("c", { dependencies: { a: "*" } }),
    d: plugin("d"),
  });
  const changes: StateChange[] = [];
  t.host.on("state", (c) => changes.push(c));
  await t.host.start();
  assert.deepEqual(states(t.host), { a: "Failed", b: "Failed", c: "Failed", d: "Running" });
  const error = (id: string): Error => t.host.getPlugin(id)!.lastError!;
  assert.equal(error("a").message, "dependency cycle a → b → a");
  assert.equal(error("b").message, "dependency cycle b → a → b");
  assert.equal(error("c").message, "c → a: dependency cycle a → b → a");
  assert.equal((error("c") as PluginHostError).code, "DEPENDENCY_FAILED");
  // Unknown → Failed, with the reason on the move; no worker was started for them.
  assert.deepEqual(
    changes.filter((c) => c.id === "a").map((c) => [c.from, c.to, c.reason]),
    [["Unknown", "Failed", "dependency cycle a → b → a"]],
  );
  await assert.rejects(t.host.startPlugin("c"), (e) => {
    assert.ok(e instanceof PluginHostError);
    assert.equal(e.code, "DEPENDENCY_FAILED");
    assert.equal(e.message, 'Cannot start plugin "c": c → a: dependency cycle a → b → a');
    return true;
  });
});

Deno.test("a missing dependency or a version out of range fails exactly those plugins and their dependents", async () => {
  await using t = await hostWith({
    kv: plugin("storage.kv", { version: "1.4.0" }),
    c: plugin("c", { dependencies: { "storage.kv": "^2.0.0" } }),
    e: plugin("e", { dependencies: { c: "^1.0.0" } }),
    m: plugin("m", { dependencies: { ghost: "^1.0.0" } }),
    ok: plugin("ok", { dependencies: { "storage.kv": "^1.2.0" } }),
  });
  await t.host.start();
  assert.deepEqual(states(t.host), {
    "storage.kv": "Running",
    c: "Failed",
    e: "Failed",
    m: "Failed",
    ok: "Running",
  });
  assert.equal(t.host.getPlugin("c")!.lastError!.message, "c needs storage.kv ^2.0.0, found 1.4.0");
  assert.equal(t.host.getPlugin("e")!.lastError!.message, "e → c: c needs storage.kv ^2.0.0, found 1.4.0");
  assert.equal(t.host.getPlugin("m")!.lastError!.message, "m needs ghost ^1.0.0, not found");
  assert.equal(await t.host.getPlugin("ok")!.call("call", "storage.kv", "ping"), "storage.kv@1.4.0");
});

Deno.test("optional dependencies: ordered and callable when present, ignored when absent, never a reason to stop", async () => {
  await using logs = await captureLogs();
  await using t = await hostWith({
    opt: plugin("opt", { optionalDependencies: { present: "^1.0.0", absent: "^1.0.0" } }),
    present: plugin("present", { settings: { startMs: 200 } }),
  });
  await t.host.start();
  assert.deepEqual(states(t.host), { opt: "Running", present: "Running" });
  assert.deepEqual(logged(logs, "start"), ["present", "opt"], "the optional dependency started first");
  const opt = t.host.getPlugin("opt")!;
  assert.equal(await opt.call("call", "present", "ping"), "present@1.0.0");
  // Declared, so allowed; just not there.
  const absent = await opt.call("attempt", "absent", "ping") as Record<string, string>;
  assert.equal(absent.code, "PLUGIN_NOT_FOUND");

  const told = next(t.host, "dependency", (e) => e.id === "opt" && e.change === "stopped");
  await t.host.stopPlugin("present");
  assert.deepEqual((await told as DependencyEvent).optional, true);
  assert.equal(opt.state, "Running", "an optional dependency stopping stops nothing");
  await t.host.startPlugin("present");
  assert.deepEqual(logged(logs, "told"), ["opt: present stopped", "opt: present started"]);
});

Deno.test("a call to a plugin not declared as a dependency is refused, and so is a lookup of an undeclared service", async () => {
  await using t = await hostWith({
    stranger: plugin("stranger"),
    target: plugin("target", { provides: { "storage.kv": "2.0.0" } }),
  });
  await t.host.start();
  const s = t.host.getPlugin("stranger")!;
  assert.deepEqual(await s.call("attempt", "target", "ping"), {
    name: "PluginHostError",
    code: "PERMISSION_DENIED",
    message: 'Plugin "stranger" may not call "target": it is not among its dependencies',
  });
  assert.deepEqual(await s.call("service", "storage.kv"), {
    name: "PluginHostError",
    code: "PERMISSION_DENIED",
    message: 'Plugin "stranger" may not use service "storage.kv": it is not among its dependencies',
  });
  assert.equal(t.host.getPlugin("target")!.getMetrics().calls, 0, "target was never called");
});

Deno.test("getService picks the Running provider with the highest version in range, from the host and from ctx", async () => {
  await using t = await hostWith({
    one: plugin("kv.one", { provides: { "storage.kv": "1.4.0" } }),
    two: plugin("kv.two", { provides: { "storage.kv": "2.1.0" } }),
    three: plugin("kv.three", { provides: { "storage.kv": "2.3.0" } }),
    app: plugin("app", { dependencies: { "storage.kv": "^2.0.0" } }),
  }, { Plugins: { "kv.three": { Enabled: false } } });
  await t.host.start();
  assert.equal(t.host.getPlugin("app")!.state, "Running", "kv.two stands in for the disabled kv.three");
  const pick = (range?: string): string | undefined => {
    const s = t.host.getService("storage.kv", range);
    return s && `${s.id}@${s.version}`;
  };
  assert.equal(pick("^2.0.0"), "kv.two@2.1.0");
  assert.equal(pick(), "kv.two@2.1.0");
  assert.equal(pick("^1.0.0"), "kv.one@1.4.0");
  assert.equal(pick("^3.0.0"), undefined);
  assert.equal(await t.host.getService("storage.kv", "^2.0.0")!.call("ping"), "kv.two@1.0.0");
  assert.throws(() => t.host.getService("storage.kv", "not a range"), (e) => {
    assert.ok(e instanceof PluginHostError);
    return e.code === "INVALID_RANGE";
  });

  await t.host.enable("kv.three");
  assert.equal(pick("^2.0.0"), "kv.three@2.3.0");
  const app = t.host.getPlugin("app")!;
  assert.deepEqual(await app.call("service", "storage.kv"), {
    id: "kv.three",
    name: "storage.kv",
    version: "2.3.0",
    answer: "kv.three@1.0.0",
  });
  assert.equal((await app.call("service", "storage.kv", "~2.1.0") as { id: string }).id, "kv.two");
  // Declaring the capability opens the plugins providing it in range, and only them.
  assert.equal(await app.call("call", "kv.two", "ping"), "kv.two@1.0.0");
  assert.equal((await app.call("attempt", "kv.one", "ping") as { code: string }).code, "PERMISSION_DENIED");
});

Deno.test("a Float32Array passed from plugin to plugin is transferred, not copied", async () => {
  const transfer = `
    async transfer(n) {
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = i;
      const out = await globalThis.__ctx.plugins.call("math", "double", data);
      return { detached: data.buffer.byteLength === 0, isF32: out instanceof Float32Array, n: out.length, last: out[n - 1] };
    },`;
  const double = `double(xs) { for (let i = 0; i < xs.length; i++) xs[i] *= 2; return xs; },`;
  await using t = await hostWith({
    app: plugin("app", { dependencies: { math: "^1.0.0" } }, transfer),
    math: plugin("math", {}, double),
  });
  await t.host.start();
  const n = 4 * 1024 * 1024;
  assert.deepEqual(await t.host.getPlugin("app")!.call("transfer", n), {
    detached: true,
    isF32: true,
    n,
    last: (n - 1) * 2,
  });
});

Deno.test("a dependency that stops: dependents are told, stopped (dependents first) and started again when it is back", async () => {
  await using logs = await captureLogs();
  await using t = await hostWith({
    base: plugin("base"),
    mid: plugin("mid", { dependencies: { base: "^1.0.0" } }),
    top: plugin("top", { dependencies: { mid: "^1.0.0" } }),
    side: plugin("side", { optionalDependencies: { base: "*" } }),
  });
  await t.host.start();
  const changes: StateChange[] = [];
  const told: DependencyEvent[] = [];
  t.host.on("state", (c) => changes.push(c));
  t.host.on("dependency", (e) => told.push(e));

  await t.host.stopPlugin("base");
  assert.deepEqual(states(t.host), { base: "Unloaded", mid: "Unloaded", top: "Unloaded", side: "Running" });
  assert.deepEqual(logged(logs, "stop"), ["top", "mid", "base"]);
  assert.deepEqual(logged(logs, "told").sort(), [
    "mid: base stopped",
    "side: base stopped",
    "top: mid stopped",
  ]);
  const reason = (id: string): string | undefined =>
    changes.find((c) => c.id === id && c.to === "Stopping")?.reason;
  assert.equal(reason("mid"), 'dependency "base" stopped');
  assert.equal(reason("top"), 'dependency "mid" stopped (dependency "base" stopped)');
  assert.equal(reason("base"), undefined);
  assert.deepEqual(
    told.map((e) => [e.id, e.dependency, e.change, e.optional]).sort(),
    [["mid", "base", "stopped", false], ["side", "base", "stopped", true], ["top", "mid", "stopped", false]],
  );
  await assert.rejects(
    t.host.startPlugin("mid"),
    /mid needs base \^1\.0\.0, and base is not running \(Unloaded\)/,
  );

  await t.host.startPlugin("base");
  assert.deepEqual(states(t.host), { base: "Running", mid: "Running", top: "Running", side: "Running" });
  assert.deepEqual(logged(logs, "start").slice(-3), ["base", "mid", "top"]);
  assert.ok(told.some((e) => e.id === "mid" && e.change === "started"));
  assert.equal(await t.host.getPlugin("top")!.call("call", "mid", "ping"), "mid@1.0.0");

  // An operator's stop of a dependent is final: it does not come back with its dependency.
  await t.host.stopPlugin("top");
  await t.host.stopPlugin("base");
  await t.host.startPlugin("base");
  assert.deepEqual(states(t.host), { base: "Running", mid: "Running", top: "Unloaded", side: "Running" });
});

Deno.test("a dependency that crashes: its dependents are stopped naming the failure, and return with it", async () => {
  const die = `die() { setTimeout(() => Deno.exit(3), 10); return "bye"; },`;
  await using t = await hostWith({
    base: plugin("base", {}, die),
    app: plugin("app", { dependencies: { base: "*" } }),
  });
  await t.host.start();
  const stopped = next(t.host, "state", (c) => c.id === "app" && c.to === "Unloaded");
  const stopping = next(t.host, "state", (c) => c.id === "app" && c.to === "Stopping");
  const told = next(t.host, "dependency", (e) => e.id === "app");
  await t.host.getPlugin("base")!.call("die");
  assert.match((await stopping).reason!, /^dependency "base" failed: .*Deno\.exit \(code 3\)/);
  assert.equal((await told).change, "failed");
  await stopped;
  assert.equal(t.host.getPlugin("base")!.state, "Failed");
  await t.host.startPlugin("base");
  assert.equal(t.host.getPlugin("app")!.state, "Running");
});

Deno.test("a blue/green reload of a dependency does not bounce its dependents; leaving their range does", async () => {
  await using logs = await captureLogs();
  const svc = (version: string): PluginSource =>
    plugin("svc", { version, capabilities: ["HotReloadable"] }, `version() { return "${version}"; },`);
  await using t = await hostWith({
    svc: svc("1.0.0"),
    app: plugin("app", { dependencies: { svc: "^1.0.0" } }),
  });
  await t.host.start();
  const app = t.host.getPlugin("app")!;
  const appChanges: StateChange[] = [];
  t.host.on("state", (c) => c.id === "app" && appChanges.push(c));
  const rewrite = async (version: string): Promise<void> => {
    const s = svc(version);
    const dir = t.host.getPlugin("svc")!.dir;
    await Deno.writeTextFile(join(dir, "mod.ts"), s.code);
    await Deno.writeTextFile(join(dir, "plugin.jsonc"), JSON.stringify({ name: "svc", ...s.manifest }));
  };

  await rewrite("1.1.0");
  const told = next(t.host, "dependency", (e) => e.id === "app" && e.change === "reloaded");
  await t.host.reload("svc");
  assert.equal((await told).version, "1.1.0");
  assert.deepEqual(appChanges, [], "the dependent never left Running");
  assert.equal(await app.call("call", "svc", "version"), "1.1.0");
  assert.deepEqual(logged(logs, "told"), ["app: svc reloaded"]);

  await rewrite("2.0.0");
  const failed = next(t.host, "state", (c) => c.id === "app" && c.to === "Failed");
  await t.host.reload("svc");
  assert.equal((await failed).reason, "app needs svc ^1.0.0, found 2.0.0");

  await rewrite("1.2.0");
  const back = next(t.host, "state", (c) => c.id === "app" && c.to === "Running");
  await t.host.reload("svc");
  await back;
  assert.equal(await app.call("call", "svc", "version"), "1.2.0");
});

Deno.test("validate reports each dependency problem at its file:line:col, with the chain", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_deps_" }));
  try {
    const dir = await writePlugins(root, {
      a: plugin("a", { dependencies: { b: "*" } }),
      b: plugin("b", { dependencies: { a: "*" } }),
      kv: plugin("storage.kv", { version: "1.4.0" }),
      c: plugin("c", { dependencies: { "storage.kv": "^2.0.0" } }),
      ok: plugin("ok", { optionalDependencies: { ghost: "^1.0.0" } }),
    });
    const cli = new URL("../src/cli/cli.ts", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--unstable-worker-options", "--no-prompt", "-A", cli, "validate", dir],
      env: { NO_COLOR: "1" },
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 1, stdout);
    // writePlugins writes each manifest on one line: {"name":…,"version":…,"id":…,"dependencies":{…}}
    assert.match(
      stdout,
      new RegExp(`${join(dir, "a", "plugin.jsonc")}:1:\\d+: "dependencies.b": dependency cycle a → b → a`),
    );
    assert.match(stdout, /"dependencies\.a": dependency cycle b → a → b/);
    assert.match(
      stdout,
      /c[\\/]plugin\.jsonc:1:\d+: "dependencies\.storage\.kv": c needs storage\.kv \^2\.0\.0, found 1\.4\.0/,
    );
    assert.match(stdout, /3 problems in 5 plugins/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
