// Real malicious plugins against a real host: forged and malformed messages posted straight to the host are
// dropped and counted, logs cannot be spoofed or oversized, and calls between plugins follow the manifest.
import assert from "node:assert/strict";
import type { CrashEvent, PluginHandle, ProtocolErrorEvent } from "../../mod.ts";
import { PluginHostError } from "../../mod.ts";
import { captureLogs, hostWith, type PluginSource } from "../_helpers.ts";

// Every method posts its forgeries synchronously, then returns: the host handles a worker's messages in
// order, so by the time the call resolves every forgery has been seen (and counted) by the host.
const evil: PluginSource = {
  manifest: { id: "evil" },
  code: `
    const post = (m) => globalThis.postMessage(m);
    export default {
      initialize(ctx) { globalThis.__ctx = ctx; },
      methods: {
        ping() { return "pong"; },
        unknownAnswers() {
          post({ v: 1, t: "result", id: 999999, value: "forged" });
          post({ v: 1, t: "error", id: 888888, error: { name: "PluginHostError", message: "x", code: "PLUGIN_CRASHED" } });
          return "sent";
        },
        malformed() {
          const bad = [
            { v: 2, t: "result", id: 1, value: 1 },
            { v: "1", t: "result", id: 1, value: 1 },
            { t: "result", id: 1, value: 1 },
            { v: 1, t: "nope" },
            { v: 1 },
            "just a string",
            42,
            null,
            [1, "result"],
            { v: 1, t: "result", id: -1, value: 1 },
            { v: 1, t: "result", id: 1.5, value: 1 },
            { v: 1, t: "call", id: 77, kind: "hook", method: "stop", args: [] },
            { v: 1, t: "call", id: 78, kind: "method", method: "ping", args: [], target: "victim" },
          ];
          for (const m of bad) post(m);
          return bad.length;
        },
        forgedLifecycle() {
          const bad = [
            { v: 1, t: "ready" },
            { v: 1, t: "ready", methods: "ping" },
            { v: 1, t: "ready", methods: [1, 2] },
            { v: 1, t: "exit" },
            { v: 1, t: "exit", how: "Deno.exit", code: "0" },
            { v: 1, t: "exit", how: "", code: 0 },
            { v: 1, t: "exit", how: "Deno.exit", code: 0.5 },
            { v: 1, t: "fatal", phase: "runtime" },
            { v: 1, t: "fatal", phase: "later", error: { name: "Error", message: "x" } },
            { v: 1, t: "fatal", phase: "runtime", error: { message: "no name" } },
          ];
          for (const m of bad) post(m);
          return bad.length;
        },
        flood(n) {
          for (let i = 0; i < n; i++) post({ v: 1, t: "flood", i });
          return n;
        },
        hugeLog() {
          post({ v: 1, t: "log", level: "info", category: ["evil"], message: "H".repeat(16 * 1024 + 1), properties: {} });
          post({ v: 1, t: "log", level: "loud", category: ["evil"], message: "bad level", properties: {} });
          return "sent";
        },
        forgedLogCategory() {
          post({ v: 1, t: "log", level: "warning", category: ["victim", "audit"], message: "forged audit entry",
            properties: { pluginId: "victim" } });
          return "sent";
        },
        logWithFunction() {
          globalThis.__ctx.log.info("fn {f} n {n}", { f: function secret() {}, n: 5, pluginId: "victim" });
          return "logged";
        },
        longLog() {
          globalThis.__ctx.log.info("L".repeat(40_000));
          return "logged";
        },
        poison() {
          post({ v: { toString: 1 }, t: "result", id: 1, value: 1 });
          return "sent";
        },
        forgeAnswers(n) {
          for (let id = 0; id < n; id++) {
            post({ v: 1, t: "result", id, value: "forged" });
            post({ v: 1, t: "error", id, error: { name: "Error", message: "forged" } });
          }
          return 2 * n;
        },
        huge() {
          post({ v: 1, t: "ready", methods: Array.from({ length: 10_001 }, (_, i) => "m" + i) });
          post({ v: 1, t: "log", level: "info", category: Array(100_000).fill("c"), message: "m", properties: {} });
          post({ v: 1, t: "result", id: 4242424, value: "x".repeat(32 * 1024 * 1024) });
          return 3;
        },
        big(mb) { return "y".repeat(mb * 1024 * 1024); },
        logFlood(n) {
          for (let i = 0; i < n; i++) globalThis.__ctx.log.info("flood {i}", { i });
          return n;
        },
        async forgeRawCall(target) {
          // Bypasses ctx.plugins.call: a hand-made call message, and a listener for the host's answer.
          const id = 123456;
          const answer = new Promise((resolve) => {
            globalThis.addEventListener("message", (e) => {
              if ((e.data?.t === "error" || e.data?.t === "result") && e.data.id === id) resolve(e.data);
            });
          });
          post({ v: 1, t: "call", id, kind: "plugin", method: "hello", args: ["raw"], target });
          return await answer;
        },
      },
    };`,
};

const victim: PluginSource = {
  manifest: { id: "victim" },
  code: `export default { methods: { ping() { return "still here"; } } };`,
};

// Holds a call open until released: a pending host call whose id a forger could guess.
const slow: PluginSource = {
  manifest: { id: "slow" },
  code: `let release;
    const held = new Promise((r) => release = r);
    export default { methods: { wait: () => held, release: (v) => (release(v), "released") } };`,
};

const dep: PluginSource = {
  manifest: { id: "dep", version: "1.4.2" },
  code: `export default { methods: { hello(who) { return "hello " + who + " from dep"; } } };`,
};

const callerCode = `
  export default {
    initialize(ctx) { globalThis.__ctx = ctx; },
    methods: {
      callDep(id, method, ...args) { return globalThis.__ctx.plugins.call(id, method, ...args); },
      async tryDep(id, method, ...args) {
        try {
          return { ok: await globalThis.__ctx.plugins.call(id, method, ...args) };
        } catch (e) {
          return { name: e.name, code: e.code, message: e.message, isError: e instanceof Error };
        }
      },
    },
  };`;

const stranger: PluginSource = { manifest: { id: "stranger" }, code: callerCode };
const friend: PluginSource = {
  manifest: { id: "friend", dependencies: { "dep": "^1.0.0" } },
  code: callerCode,
};

interface Watch {
  readonly protocolErrors: ProtocolErrorEvent[];
  readonly crashes: CrashEvent[];
}

async function started(
  plugins: Readonly<Record<string, PluginSource>>,
): Promise<Awaited<ReturnType<typeof hostWith>> & Watch> {
  const t = await hostWith(plugins);
  const protocolErrors: ProtocolErrorEvent[] = [];
  const crashes: CrashEvent[] = [];
  t.host.on("protocolError", (e) => protocolErrors.push(e));
  t.host.on("crash", (e) => crashes.push(e));
  await t.host.start();
  for (const p of t.host.getPlugins()) assert.equal(p.state, "Running", `${p.id} started`);
  return Object.assign(t, { protocolErrors, crashes });
}

async function stillFine(t: Watch, e: PluginHandle, v: PluginHandle): Promise<void> {
  assert.equal(await e.call("ping"), "pong");
  assert.equal(await v.call("ping"), "still here");
  assert.equal(e.state, "Running");
  assert.equal(v.state, "Running");
  assert.deepEqual(t.crashes, []);
  assert.equal(v.getMetrics().protocolErrors, 0, "the other plugin is charged nothing");
  assert.ok(t.protocolErrors.every((x) => x.id === "evil"));
}

Deno.test("answers to unknown call ids are dropped and counted", async () => {
  await using t = await started({ evil, victim });
  const e = t.host.getPlugin("evil")!, v = t.host.getPlugin("victim")!;
  assert.equal(await e.call("unknownAnswers"), "sent");
  assert.equal(e.getMetrics().protocolErrors, 2);
  assert.deepEqual(t.protocolErrors.map((x) => x.reason), [
    "answer to unknown call id 999999",
    "answer to unknown call id 888888",
  ]);
  for (const x of t.protocolErrors) assert.equal(typeof x.at, "number");
  await stillFine(t, e, v);
});

Deno.test("malformed messages (wrong version, unknown type, non-objects, bad ids, bad calls) are dropped", async () => {
  await using t = await started({ evil, victim });
  const e = t.host.getPlugin("evil")!, v = t.host.getPlugin("victim")!;
  const sent = await e.call("malformed") as number;
  assert.equal(sent, 13);
  assert.equal(e.getMetrics().protocolErrors, sent);
  const reasons = t.protocolErrors.map((x) => x.reason);
  assert.equal(reasons.length, sent);
  assert.match(reasons[0], /unsupported protocol version 2/);
  assert.match(reasons[3], /unknown message type "nope"/);
  assert.ok(reasons.slice(5, 9).every((r) => r === "not an object"), reasons.join("\n"));
  assert.deepEqual(reasons.slice(9), [
    "malformed result",
    "malformed result",
    "malformed call",
    "malformed call",
  ]);
  await stillFine(t, e, v);
  // The forged hook call never ran: the plugin was not stopped.
  assert.equal(await e.call("ping"), "pong");
});

Deno.test("forged ready, exit and fatal garbage neither ends nor reloads the plugin", async () => {
  await using t = await started({ evil, victim });
  const e = t.host.getPlugin("evil")!, v = t.host.getPlugin("victim")!;
  const methods = [...e.methods];
  const sent = await e.call("forgedLifecycle") as number;
  assert.equal(e.getMetrics().protocolErrors, sent);
  assert.deepEqual(
    t.protocolErrors.map((x) => x.reason.replace(/^malformed /, "")),
    ["ready", "ready", "ready", "exit", "exit", "exit", "exit", "fatal", "fatal", "fatal"],
  );
  assert.deepEqual([...e.methods], methods);
  await stillFine(t, e, v);
});

Deno.test("a flood of 10,000 malformed messages is counted and survived", async () => {
  await using t = await started({ evil, victim });
  const e = t.host.getPlugin("evil")!, v = t.host.getPlugin("victim")!;
  // The victim keeps answering while the flood goes on.
  const [n, during] = await Promise.all([e.call("flood", 10_000), v.call("ping")]);
  assert.equal(n, 10_000);
  assert.equal(during, "still here");
  assert.equal(e.getMetrics().protocolErrors, 10_000);
  assert.equal(t.protocolErrors.length, 10_000);
  assert.equal(t.protocolErrors[9_999].reason, 'unknown message type "flood"');
  await stillFine(t, e, v);
  assert.equal(e.getMetrics().calls, 2, "only the real calls are counted as calls");
});

Deno.test("a forged log over 16 KiB (or with a bad level) is dropped, never logged", async () => {
  await using logs = await captureLogs();
  await using t = await started({ evil, victim });
  const e = t.host.getPlugin("evil")!, v = t.host.getPlugin("victim")!;
  assert.equal(await e.call("hugeLog"), "sent");
  assert.equal(e.getMetrics().protocolErrors, 2);
  assert.deepEqual(t.protocolErrors.map((x) => x.reason), ["malformed log", "malformed log"]);
  const texts = logs.records.map((r) => r.message.join(""));
  assert.ok(!texts.some((m) => m.includes("HHHH") || m === "bad level"), "neither forged record was logged");
  // The drops themselves are logged by the host, as warnings about the plugin.
  const warnings = logs.records.filter((r) =>
    r.level === "warning" && r.category.join(".") === "dotcompute.plugin.evil" &&
    r.message.join("").includes("malformed log")
  );
  assert.equal(warnings.length, 2);
  await stillFine(t, e, v);
});

Deno.test("a forged log cannot pose as another plugin: category and pluginId stay the sender's", async () => {
  await using logs = await captureLogs();
  await using t = await started({ evil, victim });
  const e = t.host.getPlugin("evil")!;
  assert.equal(await e.call("forgedLogCategory"), "sent");
  const record = logs.records.find((r) => r.message.join("") === "forged audit entry");
  assert.ok(record, "a well-formed log message is delivered");
  assert.deepEqual(record.category, ["dotcompute", "plugin", "evil", "audit"]);
  assert.equal(record.properties.pluginId, "evil");
  assert.equal(record.level, "warning");
  assert.equal(e.getMetrics().protocolErrors, 0);
});

Deno.test("ctx.log with a non-cloneable property (a function) still reaches the host, tagged", async () => {
  await using logs = await captureLogs();
  await using t = await started({ evil, victim });
  const e = t.host.getPlugin("evil")!;
  assert.equal(await e.call("logWithFunction"), "logged");
  const record = logs.records.find((r) => r.message.join("").startsWith("fn "));
  assert.ok(record, logs.records.map((r) => r.message.join("")).join("\n"));
  assert.equal(record.properties.pluginId, "evil", "tagged with the sender, whatever it claimed");
  assert.equal(record.properties.n, 5);
  assert.equal(typeof record.properties.f, "string", "the function arrives as its description");
  assert.match(record.properties.f as string, /secret/);
  assert.match(record.message.join(""), /^fn .*secret.* n 5$/);
  assert.deepEqual(record.category, ["dotcompute", "plugin", "evil"]);
  assert.equal(record.level, "info");
  assert.equal(e.getMetrics().protocolErrors, 0);
  assert.deepEqual(t.crashes, []);
});

Deno.test("ctx.log with a message over 16 KiB is cut to 16 KiB, not dropped", async () => {
  await using logs = await captureLogs();
  await using t = await started({ evil, victim });
  const e = t.host.getPlugin("evil")!;
  assert.equal(await e.call("longLog"), "logged");
  const record = logs.records.find((r) => r.message.join("").startsWith("LLLL"));
  assert.ok(record);
  assert.equal(record.message.join(""), "L".repeat(16 * 1024));
  assert.equal(record.properties.pluginId, "evil");
  assert.equal(e.getMetrics().protocolErrors, 0);
});

Deno.test({
  name: "a version whose string conversion throws is a protocol error, not a dead host",
  async fn() {
    await using t = await started({ evil, victim });
    const e = t.host.getPlugin("evil")!, v = t.host.getPlugin("victim")!;
    assert.equal(await e.call("poison"), "sent");
    assert.equal(e.getMetrics().protocolErrors, 1);
    await stillFine(t, e, v);
  },
});

Deno.test("ctx.plugins.call on a plugin not declared as a dependency is refused, naming it", async () => {
  await using t = await started({ stranger, dep });
  const s = t.host.getPlugin("stranger")!, d = t.host.getPlugin("dep")!;
  await assert.rejects(s.call("callDep", "dep", "hello", "me"), (e: unknown) => {
    assert.ok(e instanceof PluginHostError, String(e));
    assert.equal(e.code, "PERMISSION_DENIED");
    assert.match(e.message, /"stranger" may not call "dep"/);
    return true;
  });
  // Inside the plugin, the refusal is a PluginHostError-named error with the code.
  const seen = await s.call("tryDep", "dep", "hello", "me") as Record<string, unknown>;
  assert.deepEqual(seen, {
    name: "PluginHostError",
    code: "PERMISSION_DENIED",
    message: 'Plugin "stranger" may not call "dep": it is not among its dependencies',
    isError: true,
  });
  // Refused for a plugin that does not exist too, and for itself.
  for (const target of ["no.such.plugin", "stranger"]) {
    const r = await s.call("tryDep", target, "hello") as Record<string, unknown>;
    assert.equal(r.code, "PERMISSION_DENIED", target);
    assert.match(r.message as string, new RegExp(`"${target.replaceAll(".", "\\.")}"`));
  }
  assert.equal(d.getMetrics().calls, 0, "dep was never called");
  assert.equal(s.state, "Running");
});

Deno.test("a hand-forged plugin call to an undeclared plugin is refused by the host, not the worker", async () => {
  await using t = await started({ evil, dep });
  const e = t.host.getPlugin("evil")!, d = t.host.getPlugin("dep")!;
  const answer = await e.call("forgeRawCall", "dep") as {
    t: string;
    id: number;
    error: Record<string, string>;
  };
  assert.equal(answer.t, "error");
  assert.equal(answer.id, 123456);
  assert.equal(answer.error.code, "PERMISSION_DENIED");
  assert.match(answer.error.message, /"evil" may not call "dep"/);
  assert.equal(d.getMetrics().calls, 0, "dep was never called");
  assert.equal(e.getMetrics().protocolErrors, 0, "a well-formed call is not a protocol error");
});

Deno.test("a plugin calls a method of its declared dependency", async () => {
  await using t = await started({ friend, dep, stranger });
  const f = t.host.getPlugin("friend")!, d = t.host.getPlugin("dep")!;
  assert.equal(await f.call("callDep", "dep", "hello", "friend"), "hello friend from dep");
  assert.equal(d.getMetrics().calls, 1, "the call went through dep's handle, and is counted there");
  // A missing method of the dependency comes back as METHOD_NOT_FOUND, through both hops.
  await assert.rejects(f.call("callDep", "dep", "nope"), (e: unknown) => {
    assert.ok(e instanceof PluginHostError, String(e));
    assert.equal(e.code, "METHOD_NOT_FOUND");
    assert.match(e.message, /no method "nope"/);
    return true;
  });
  // Declaring dep does not open any other plugin.
  const r = await f.call("tryDep", "stranger", "tryDep") as Record<string, unknown>;
  assert.equal(r.code, "PERMISSION_DENIED");
  assert.match(r.message as string, /"friend" may not call "stranger"/);
});

Deno.test("forged answers cannot settle another plugin's pending call", async () => {
  await using t = await started({ evil, slow, victim });
  const e = t.host.getPlugin("evil")!, s = t.host.getPlugin("slow")!;
  const pending = s.call("wait");
  // Call ids are small integers counted per connection: forge every id up to 2000, results and errors.
  // Its own call (forgeAnswers) has an id in that range too: answering its own call early is its right.
  const own = await e.call("forgeAnswers", 2000);
  assert.ok([4000, "forged"].includes(own as number));
  assert.equal(await s.call("release", "real"), "released");
  assert.equal(await pending, "real", "the pending call got its own plugin's answer");
  assert.equal(s.getMetrics().protocolErrors, 0);
  // Its own call may have been settled early by a forgery; then forgeries it posted later can settle its next
  // call too, with a forged result or a forged error (only its own: it confuses no one else). Otherwise its
  // real answer came after all it posted.
  const ping = String(await e.call("ping").catch((err: Error) => `error: ${err.message}`));
  assert.ok((own === "forged" ? ["pong", "forged", "error: forged"] : ["pong"]).includes(ping), ping);
  // Every forgery is dropped and counted, though not always before a later answer: a real "pong" has been seen
  // with only 57 of the 4000 counted (under the full suite's load; a lone call's answer through the shared slot
  // may pass messages the plugin posted itself). So wait for their protocolError events (bounded), making no
  // call meanwhile: a new call's id is in the forged range, and a forgery still queued would settle it instead.
  const counted = (): boolean => t.protocolErrors.filter((x) => x.id === "evil").length >= 3997 - 1;
  if (!counted()) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => (off(), resolve()), 20_000);
      const off = t.host.on("protocolError", () => counted() && (clearTimeout(timer), off(), resolve()));
    });
  }
  assert.ok(e.getMetrics().protocolErrors >= 3996, String(e.getMetrics().protocolErrors));
  await stillFine(t, e, t.host.getPlugin("victim")!);
});

Deno.test("huge forged messages (10,001 methods, a 100,000-part category, 32 MiB answers) are dropped", async () => {
  await using t = await started({ evil, victim });
  const e = t.host.getPlugin("evil")!, v = t.host.getPlugin("victim")!;
  const methods = [...e.methods];
  assert.equal(await e.call("huge"), 3);
  assert.deepEqual(t.protocolErrors.map((x) => x.reason), [
    "malformed ready",
    "malformed log",
    "answer to unknown call id 4242424",
  ]);
  assert.deepEqual([...e.methods], methods);
  // A large honest answer is the plugin's right: it arrives whole and costs the others nothing.
  assert.equal((await e.call("big", 32) as string).length, 32 * 1024 * 1024);
  await stillFine(t, e, v);
});

Deno.test("a flood of 20,000 log records is survived and the others keep answering during it", async () => {
  await using logs = await captureLogs();
  await using t = await started({ evil, victim });
  const e = t.host.getPlugin("evil")!, v = t.host.getPlugin("victim")!;
  const [n, during] = await Promise.all([e.call("logFlood", 20_000), v.call("ping")]);
  assert.equal(n, 20_000);
  assert.equal(during, "still here");
  const flood = logs.records.filter((r) => r.message.join("").startsWith("flood "));
  assert.ok(flood.length > 0 && flood.length <= 20_000, String(flood.length));
  assert.ok(flood.every((r) => r.properties.pluginId === "evil"));
  await stillFine(t, e, v);
});
