// What reaches the host from a plugin cannot hurt the host: a log record or a handler that throws is charged to
// the plugin (never reaches the event loop), logs are bounded and print as one line each, a result or argument
// that cannot be sent fails that one call only, and shared memory never stays shared across a plugin boundary.
import assert from "node:assert/strict";
import { join } from "node:path";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import type { PluginSource } from "../_helpers.ts";
import { writePlugins } from "../_helpers.ts";
import { attackHost, CONFIG } from "./_attack.ts";

const TIERS = ["worker", "process"] as const;
type Tier = typeof TIERS[number];

/** Captures the host's records; a filter that throws on `boom` stands for any handler a record can break. */
async function records(): Promise<{ list: LogRecord[] } & AsyncDisposable> {
  const list: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { mem: (r) => void list.push(r) },
    filters: {
      picky: (r) => {
        if (r.properties.boom !== undefined) throw new Error("the host's filter choked");
        return true;
      },
    },
    loggers: [
      { category: ["dotcompute"], sinks: ["mem"], filters: ["picky"], lowestLevel: "debug" },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "fatal" },
    ],
  });
  return { list, [Symbol.asyncDispose]: () => reset() };
}

const message = (r: LogRecord): string => r.message.join("");

// The logger: its records, and raw log messages forged with the plugin's own postMessage (worker tier only).
const logger: PluginSource = {
  manifest: { id: "logger" },
  code: `
    let ctx;
    const post = (m) => globalThis.postMessage(m);
    const raw = (category, text, properties = {}) =>
      post({ v: 1, t: "log", level: "info", category, message: text, properties });
    // Not thousands of levels: Deno's host side cannot read those, and after one unreadable message a Worker's
    // later messages never arrive (the plugin only cuts itself off; the ping then ends it as unresponsive).
    let deep = { end: true };
    for (let i = 0; i < 200; i++) deep = { deep };
    const many = {};
    for (let i = 0; i < 5000; i++) many["k" + i] = i;
    const sparse = [];
    sparse[100_000] = 1; // longer, and V8's own serializer walks every hole: the plugin would only stall itself
    let sab, view;
    export default {
      initialize(c) { ctx = c; },
      methods: {
        ping: () => "pong",
        names() {
          for (const name of ["constructor", "__proto__", "hasOwnProperty", "toString", "prototype", "deref"]) {
            ctx.log.getChild(name).info("child " + name);
          }
          ctx.log.getChild(["__proto__", "valueOf"]).info("nested");
          ctx.log.getChild("my module\\n").info("odd name");
          return "logged";
        },
        forgedNames() {
          raw(["evil", "constructor"], "forged constructor");
          raw(["evil", "__proto__"], "forged proto");
          raw(["evil", "deref"], "forged deref");
          raw(["evil", "a\\nb"], "bad part");
          raw(["evil", "x".repeat(65)], "long part");
          raw(["evil", "sp ace"], "space");
          return "sent";
        },
        forgedHuge() {
          raw(["logger"], "huge", {
            deep, many, sparse, text: "t".repeat(1_000_000), bytes: new Uint8Array(1_000_000),
            nested: { a: { b: { c: { d: { e: 1 } } } } }, ["__proto__"]: "a key",
          });
          return "sent";
        },
        ownHuge() {
          let d = {};
          for (let i = 0; i < 100_000; i++) d = { d };
          ctx.log.info("own {n}", { d, many, text: "u".repeat(1_000_000), fn: () => 1 });
          return "logged";
        },
        boom() { ctx.log.info("boom", { boom: 1 }); return "logged"; },
        forgedBoom() { raw(["logger"], "forged boom", { boom: 1 }); return "sent"; },
        sabLog() {
          sab = new SharedArrayBuffer(8);
          view = new Int32Array(sab);
          raw(["logger"], "shared", { sab, view, deep: [[{ sab }]] });
          return "sent";
        },
        peek: () => Atomics.load(view, 0),
        forgedMetrics() {
          post({ v: 1, t: "metrics", counters: { x: new SharedArrayBuffer(4) }, histograms: {} });
          return "sent";
        },
      },
    };`,
};

Deno.test("log categories named constructor, __proto__, toString...: ordinary names, the host survives", async () => {
  for (const tier of TIERS) {
    await using logs = await records();
    await using h = await attackHost({ logger }, { config: { Plugins: { logger: { Isolation: tier } } } });
    const p = h.plugin("logger");
    assert.equal(await p.call("names"), "logged");
    assert.equal(await p.call("ping"), "pong", `${tier}: the plugin still answers`);
    const got = (text: string) => logs.list.find((r) => message(r) === text)?.category.join("/");
    for (const name of ["constructor", "__proto__", "hasOwnProperty", "toString", "prototype", "deref"]) {
      assert.equal(got(`child ${name}`), `dotcompute/plugin/logger/${name}`, `${tier}: ${name}`);
    }
    assert.equal(got("nested"), "dotcompute/plugin/logger/__proto__/valueOf");
    assert.equal(got("odd name"), "dotcompute/plugin/logger/my_module_", "an odd name is made ordinary");
    assert.equal(p.getMetrics().protocolErrors, 0);
    await h.healthy({ logger: "Running" });
  }
});

Deno.test("forged raw logs: constructor works as a name, a bad category part is refused and charged", async () => {
  await using logs = await records();
  await using h = await attackHost({ logger });
  const p = h.plugin("logger");
  assert.equal(await p.call("forgedNames"), "sent");
  assert.equal(await p.call("ping"), "pong");
  const got = (text: string) => logs.list.find((r) => message(r) === text);
  assert.deepEqual(got("forged constructor")?.category, ["dotcompute", "plugin", "logger", "constructor"]);
  assert.deepEqual(got("forged proto")?.category, ["dotcompute", "plugin", "logger", "__proto__"]);
  assert.deepEqual(got("forged deref")?.category, ["dotcompute", "plugin", "logger", "deref"]);
  for (const refused of ["bad part", "long part", "space"]) assert.equal(got(refused), undefined, refused);
  assert.deepEqual(h.protocolErrors.map((e) => e.reason), [
    "malformed log",
    "malformed log",
    "malformed log",
  ]);
  assert.equal(got("forged constructor")?.properties.pluginId, "logger");
  await h.healthy({ logger: "Running" });
});

Deno.test("a record a host handler chokes on is charged to its plugin, never ends the host", async () => {
  for (const tier of TIERS) {
    await using logs = await records();
    await using h = await attackHost({ logger }, {
      config: { Plugins: { CallTimeout: 5000, logger: { Isolation: tier } } },
    });
    const p = h.plugin("logger");
    assert.equal(await p.call("boom"), "logged");
    assert.equal(await p.call("ping"), "pong", `${tier}: the plugin's next messages are still read`);
    assert.equal(p.getMetrics().protocolErrors, 1, tier);
    assert.match(h.protocolErrors[0].reason, /"log" message failed: Error: the host's filter choked/);
    assert.equal(h.protocolErrors[0].id, "logger");
    if (tier === "worker") {
      assert.equal(await p.call("forgedBoom"), "sent");
      assert.equal(p.getMetrics().protocolErrors, 2);
    }
    assert.ok(logs.list.some((r) => r.level === "warning" && message(r).includes("filter choked")));
    await h.healthy({ logger: "Running" });
  }
});

Deno.test("huge and deep log properties are cut, not refused: forged ones and the plugin's own", async () => {
  await using logs = await records();
  await using h = await attackHost({ logger });
  const p = h.plugin("logger");
  assert.equal(await p.call("forgedHuge"), "sent");
  assert.equal(await p.call("ownHuge"), "logged");
  for (const text of ["huge", "own 1"]) {
    const r = logs.list.find((x) => message(x).startsWith(text.split(" ")[0]));
    assert.ok(r, text);
    const props = r.properties as Record<string, unknown>;
    assert.equal(props.pluginId, "logger");
    assert.ok(Deno.inspect(props, { depth: 100, iterableLimit: 1e6 }).length < 200_000, `${text}: bounded`);
    assert.ok(Object.keys(props.many as object).length <= 64, `${text}: keys cut`);
    assert.ok((props.text as string).length <= 4097, `${text}: string cut`);
    assert.match(JSON.stringify(props.d ?? props.deep), /\[…\]/, `${text}: depth cut`);
  }
  const forged = logs.list.find((x) => message(x) === "huge")!.properties as Record<string, unknown>;
  assert.ok((forged.sparse as unknown[]).length <= 65, "a sparse array is cut by index");
  assert.ok((forged.bytes as Uint8Array).byteLength <= 1024, "binary is cut");
  assert.equal(Object.getPrototypeOf(forged), Object.prototype, "__proto__ stays a key");
  assert.equal(forged["__proto__"], "a key");
  assert.equal(p.getMetrics().protocolErrors, 0);
  await h.healthy({ logger: "Running" });
});

Deno.test("shared memory in a log record or a metrics message never stays shared with the host", async () => {
  await using logs = await records();
  await using h = await attackHost({ logger });
  const p = h.plugin("logger");
  assert.equal(await p.call("sabLog"), "sent");
  const props = logs.list.find((r) => message(r) === "shared")!.properties as Record<string, unknown>;
  for (const v of [props.sab, (props.view as Int32Array).buffer]) {
    assert.ok(!(v instanceof SharedArrayBuffer), "not shared");
    assert.ok(v instanceof ArrayBuffer);
  }
  new Int32Array((props.view as Int32Array).buffer)[0] = 42;
  assert.equal(await p.call("peek"), 0, "the plugin does not see the host's write");
  assert.equal(await p.call("forgedMetrics"), "sent");
  assert.deepEqual(h.protocolErrors.map((e) => e.reason), ["malformed metrics"]);
  await h.healthy({ logger: "Running" });
});

// Results and arguments that cannot be sent: the one call fails, the next succeed.
const results: PluginSource = {
  manifest: { id: "results" },
  code: `
    let kept;
    export default { methods: {
      ping: () => "pong",
      getter: () => ({ get x() { throw new Error("getter says no"); } }),
      proxy: () => new Proxy({}, {}),
      nested: () => ({ list: [1, { inner: new Proxy([2], {}) }] }),
      trap: () => new Proxy({}, { getPrototypeOf() { throw new Error("trap says no"); } }),
      deep() { let o = {}; for (let i = 0; i < 100_000; i++) o = { o }; return o; },
      fn: () => ({ f() {} }),
      symbol: () => Symbol("s"),
      later: async () => ({ f() {} }),
      keep(x) { kept = x; return { shared: x instanceof SharedArrayBuffer || x?.buffer instanceof SharedArrayBuffer }; },
      peek: () => new Int32Array(kept?.buffer ?? kept)[0],
      give() { kept = new SharedArrayBuffer(8); return { sab: kept, view: new Int32Array(kept) }; },
      memory() { const m = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }); kept = m.buffer; return m; },
    } };`,
};

// A short call timeout: a stalled answer (the shared slot waiting for a message that was never sent) fails.
const QUICK = 2000;

Deno.test("a result that cannot be sent fails that call only, naming the method; the next calls succeed", async () => {
  for (const tier of TIERS) {
    await using h = await attackHost({ results }, {
      config: { Plugins: { CallTimeout: QUICK, results: { Isolation: tier } } },
    });
    const p = h.plugin("results");
    const cases: [string, RegExp][] = [
      ["getter", /getter says no/],
      ["proxy", /clone|Proxy|Object/],
      ["nested", /clone|Proxy|Object/],
      ["trap", /trap says no|clone/],
      ["deep", /call stack|clone/i],
      ["fn", /clone/i],
      ["symbol", /clone|Symbol/i],
      ["later", /clone/i],
    ];
    for (const [method, why] of cases) {
      // Alone (the worker's shared-memory slot), then in a batch between good calls.
      const lone = await p.call(method).then((value) => ({ value }), (e: Error) => e);
      // A lone call's answer takes the worker's shared-memory slot as JSON, which would read a Proxy through
      // its traps: the runtime keeps Proxies out of it, so they fail there as in a posted answer.
      assert.ok(lone instanceof Error, `${tier}: ${method} resolved`);
      assert.match(lone.message, why, `${tier}: ${method}: ${lone.message}`);
      if (method !== "trap") {
        assert.match(lone.message, new RegExp(`"${method}"`), `${tier}: names the method`);
      }
      assert.equal(await p.call("ping"), "pong", `${tier}: after ${method}`);
      const batch = await Promise.allSettled([p.call("ping"), p.call(method), p.call("ping")]);
      assert.deepEqual(
        batch.map((b) => b.status),
        ["fulfilled", "rejected", "fulfilled"],
        `${tier}: ${method}`,
      );
    }
    assert.equal(p.state, "Running");
    assert.equal(p.getMetrics().inFlight, 0, "no call is left pending");
    assert.deepEqual(h.crashes, []);
    await h.healthy({ results: "Running" });
  }
});

Deno.test("arguments the host cannot send reject that call only; nothing is left pending", async () => {
  for (const tier of TIERS) {
    await using h = await attackHost({ results }, { config: { Plugins: { results: { Isolation: tier } } } });
    const p = h.plugin("results");
    const bad: [string, unknown][] = [
      ["a function", () => 1],
      ["a getter that throws", {
        get x() {
          throw new Error("arg getter says no");
        },
      }],
      [
        "a Proxy with a throwing trap",
        new Proxy({}, {
          getPrototypeOf() {
            throw new Error("arg trap");
          },
        }),
      ],
      ["a symbol", Symbol("s")],
    ];
    for (const [what, arg] of bad) {
      const error = await p.call("ping", arg).then(() => assert.fail(what), (e: Error) => e);
      assert.match(error.message, /arguments of "ping"/, `${tier}: ${what}: ${error.message}`);
      assert.equal(await p.call("ping"), "pong", `${tier}: after ${what}`);
      const batch = await Promise.allSettled([p.call("ping"), p.call("ping", arg), p.call("ping")]);
      assert.deepEqual(
        batch.map((b) => b.status),
        ["fulfilled", "rejected", "fulfilled"],
        `${tier}: ${what}`,
      );
    }
    assert.equal(p.getMetrics().inFlight, 0);
    await h.healthy({ results: "Running" });
  }
});

Deno.test("a SharedArrayBuffer, a view over one or a shared WebAssembly.Memory in a result is copied", async () => {
  await using h = await attackHost({ results });
  const p = h.plugin("results");
  const got = await p.call("give") as { sab: ArrayBuffer; view: Int32Array };
  assert.ok(!(got.sab instanceof SharedArrayBuffer) && got.sab instanceof ArrayBuffer);
  assert.ok(!(got.view.buffer instanceof SharedArrayBuffer));
  assert.equal(got.view.buffer, got.sab, "a view and its buffer stay one copy");
  new Int32Array(got.sab)[0] = 42;
  assert.equal(await p.call("peek"), 0, "the plugin does not see the host's write");
  const memory = await p.call("memory");
  assert.ok(memory instanceof ArrayBuffer && !(memory instanceof SharedArrayBuffer), String(memory));
  new Uint8Array(memory)[0] = 9;
  assert.equal(await p.call("peek"), 0);
  await h.healthy({ results: "Running" });
});

Deno.test("a SharedArrayBuffer the host passes is sent as a copy, in both tiers", async () => {
  for (const tier of TIERS) {
    await using h = await attackHost({ results }, { config: { Plugins: { results: { Isolation: tier } } } });
    const p = h.plugin("results");
    const sab = new SharedArrayBuffer(8);
    assert.deepEqual(await p.call("keep", new Int32Array(sab)), { shared: false }, tier);
    Atomics.store(new Int32Array(sab), 0, 42);
    assert.equal(await p.call("peek"), 0, `${tier}: the plugin does not see the host's write`);
    assert.ok(sab instanceof SharedArrayBuffer, "the caller's own value is left as it was");
    await h.healthy({ results: "Running" });
  }
});

// Plugin to plugin: the caller's arguments and the callee's results, each way.
const callee: PluginSource = { ...results, manifest: { id: "callee" } };
const caller: PluginSource = {
  manifest: { id: "caller", dependencies: { callee: "*" } },
  code: `
    let ctx, sab;
    const call = (...a) => ctx.plugins.call("callee", ...a).then(
      (value) => ({ ok: true, value }), (e) => ({ ok: false, name: e.name, message: e.message }));
    export default {
      initialize(c) { ctx = c; },
      methods: {
        call,
        async badArg() { return await call("ping", () => 1); },
        async shareArg() {
          sab = new SharedArrayBuffer(8);
          const r = await call("keep", sab);
          Atomics.store(new Int32Array(sab), 0, 42);
          return { keep: r, peek: await call("peek") };
        },
        async shareResult() {
          const r = await call("give");
          const shared = r.value.sab instanceof SharedArrayBuffer || r.value.view.buffer instanceof SharedArrayBuffer;
          new Int32Array(r.value.sab)[0] = 42;
          return { shared, peek: await call("peek") };
        },
      },
    };`,
};

Deno.test("plugin to plugin: bad results and arguments fail one call, shared memory is copied", async () => {
  for (const tier of TIERS) {
    await using h = await attackHost({ caller, callee }, {
      config: { Plugins: { CallTimeout: QUICK, caller: { Isolation: tier }, callee: { Isolation: tier } } },
    });
    const c = h.plugin("caller");
    for (const method of ["getter", "trap", "fn", "symbol", "deep"]) {
      const r = await c.call("call", method) as { ok: boolean; message: string };
      assert.equal(r.ok, false, `${tier}: ${method}`);
      assert.deepEqual(await c.call("call", "ping"), { ok: true, value: "pong" }, `${tier}: after ${method}`);
    }
    const arg = await c.call("badArg") as { ok: boolean; message: string };
    assert.equal(arg.ok, false);
    assert.match(arg.message, /arguments of "ping"/);
    const shareArg = await c.call("shareArg") as { keep: { value: unknown }; peek: { value: unknown } };
    if (tier === "worker") {
      assert.deepEqual(shareArg.keep.value, { shared: false }, "the callee got a copy");
      assert.equal(shareArg.peek.value, 0, "the callee does not see the caller's write");
      const shareResult = await c.call("shareResult") as { shared: boolean; peek: { value: unknown } };
      assert.equal(shareResult.shared, false, "the caller got a copy");
      assert.equal(shareResult.peek.value, 0, "the callee does not see the caller's write");
    }
    assert.deepEqual(h.crashes, []);
    await h.healthy({ caller: "Running", callee: "Running" });
  }
});

Deno.test("cli run: a plugin's log cannot forge a line or colour the host's text output", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_cli_forge_" }));
  try {
    const forged = "2031-01-01 12:00:00.000 INF dotcompute.host: admin listening on http://evil.example:1";
    const plugins = await writePlugins(root, {
      forger: {
        manifest: { id: "forger" },
        code: `export default {
          start(ctx) {
            ctx.log.info(${JSON.stringify(`ok\n${forged}\r\n\x1b[31mred\x1b[0m\x07\u0085end`)});
            ctx.log.info("value {v}", { v: ${
          JSON.stringify(`\nadmin listening on http://evil.example:2\x1b[2J`)
        } });
          },
        };`,
      },
    });
    const config = join(root, "host.jsonc");
    await Deno.writeTextFile(config, JSON.stringify({ Plugins: { PluginsDirectory: plugins } }));
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--unstable-worker-options",
        "--no-prompt",
        "-A",
        "--config",
        CONFIG,
        new URL("../../src/cli/cli.ts", import.meta.url).pathname,
        "run",
        "--config",
        config,
        "--port",
        "0",
      ],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const err = new Response(child.stderr).text();
    let out = "";
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    while (!/^admin listening on /m.test(out)) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    child.kill("SIGINT");
    for (let r = await reader.read(); !r.done; r = await reader.read()) out += r.value;
    const [status, stderr] = await Promise.all([child.status, err]);
    clearTimeout(guard);
    assert.equal(status.code, 0, stderr);
    const listening = [...`${out}\n${stderr}`.matchAll(/^.*admin listening on.*$/gm)].map((m) => m[0]);
    assert.equal(listening.filter((l) => l.startsWith("admin listening on http://127.0.0.1:")).length, 1);
    assert.ok(!`${out}${stderr}`.includes("\x1b"), "no escape code reaches the output");
    // deno-lint-ignore no-control-regex
    assert.ok(!/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(stderr), "no control character but newlines");
    assert.ok(!stderr.split("\n").some((l) => l.startsWith("2031-01-01")), `no forged line:\n${stderr}`);
    // Every line at column 0 is a record of the host's; a message's further lines are indented.
    for (const l of stderr.split("\n").filter((l) => l !== "" && !l.startsWith("    "))) {
      assert.match(l, /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [A-Z]{3} |dotcompute: )/, l);
    }
    const at = stderr.indexOf("[forger]: ok\n");
    assert.ok(at >= 0, stderr);
    assert.ok(
      stderr.startsWith(`[forger]: ok\n    ${forged}\n    \\x1b[31mred\\x1b[0m\\x07\\x85end`, at),
      stderr,
    );
    assert.match(
      stderr,
      /\[forger\]: value \n {4}admin listening on http:\/\/evil\.example:2\\x1b\[2J( v=\\nadmin listening on http:\/\/evil\.example:2\\x1b\[2J)?$/m,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
