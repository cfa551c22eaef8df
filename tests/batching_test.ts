// Batching on the call path: calls issued in the same tick travel as one message and their answers come back
// as one; every element of a batch from a worker is checked on its own; one timer bounds all pending calls.
import assert from "node:assert/strict";
import { CallTimeoutError, parseWorkerMessage, type ResultMessage, RpcEndpoint } from "../mod.ts";
import { captureLogs, hostWith } from "./_helpers.ts";
import { BATCH_FLUSH_AT } from "../src/rpc/protocol.ts";

const DOUBLER = {
  manifest: { id: "calc" },
  code: "export default { methods: { double: (x) => x * 2, later: async (x) => x + 1 } };",
};

Deno.test("a burst of 200 calls is answered correctly in a few messages each way", async () => {
  await using t = await hostWith({ calc: DOUBLER });
  await t.host.start();
  const calc = t.host.getPlugin("calc")!;
  const before = calc.getMetrics().wire!;
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) => calc.call(i % 2 ? "double" : "later", i)),
  );
  // The host's usage ticks to the worker (one a second) are messages too: a slow, loaded run may send some.
  const ticks = Math.ceil((performance.now() - t0) / 1000);
  assert.deepEqual(results, Array.from({ length: 200 }, (_, i) => i % 2 ? i * 2 : i + 1));
  const after = calc.getMetrics().wire!;
  // Batches of at most BATCH_FLUSH_AT out; the sync answers come back in batches as large, the async ones in
  // others. A usage report (once a second) may slip in between: a handful more, never one per call.
  const sent = after.messagesSent - before.messagesSent;
  const received = after.messagesReceived - before.messagesReceived;
  const batches = Math.ceil(200 / BATCH_FLUSH_AT);
  assert.ok(sent >= batches && sent <= batches + 3 + ticks, `sent ${sent} messages for 200 calls`);
  assert.ok(
    received >= batches && received <= 2 * batches + 3 + ticks,
    `received ${received} messages for 200 answers`,
  );
  assert.equal(calc.getMetrics().calls, 200);
});

Deno.test("lone small calls go through the shared-memory slot, not a message", async () => {
  await using t = await hostWith({ calc: DOUBLER });
  await t.host.start();
  const calc = t.host.getPlugin("calc")!;
  const before = calc.getMetrics().wire!;
  for (let i = 0; i < 5; i++) assert.equal(await calc.call("double", i), i * 2);
  assert.deepEqual(await calc.call("later", { a: [1, "x", null] }), "[object Object]1");
  const after = calc.getMetrics().wire!;
  assert.equal(after.sharedCalls - before.sharedCalls, 6);
  assert.equal(after.messagesSent - before.messagesSent, 0);
  // What JSON cannot carry exactly takes a message: a Map, -0, a typed array (transferred), undefined inside.
  for (const arg of [new Map([[1, 2]]), -0, new Uint8Array(2), [undefined]]) await calc.call("double", arg);
  assert.equal(calc.getMetrics().wire!.sharedCalls - before.sharedCalls, 6);
  assert.equal(calc.getMetrics().wire!.messagesSent - before.messagesSent, 4);
});

Deno.test("a result JSON cannot carry exactly comes back by message, intact", async () => {
  await using t = await hostWith({
    odd: {
      manifest: { id: "odd" },
      code: `export default { methods: {
        map: () => new Map([["k", 1]]),
        nothing: () => undefined,
        date: () => new Date(0),
        bad: () => () => 1,
        throws: () => { throw new RangeError("nope"); },
      } };`,
    },
  });
  await t.host.start();
  const odd = t.host.getPlugin("odd")!;
  assert.deepEqual(await odd.call("map"), new Map([["k", 1]]));
  assert.equal(await odd.call("nothing"), undefined);
  assert.deepEqual(await odd.call("date"), new Date(0));
  await assert.rejects(odd.call("bad"), (e: Error) => e.name === "DataCloneError");
  await assert.rejects(odd.call("throws"), RangeError);
  assert.equal(odd.getMetrics().wire!.sharedCalls, 5);
  assert.equal(odd.state, "Running");
});

Deno.test("an argument that cannot be cloned fails its own call only, not the rest of its batch", async () => {
  await using t = await hostWith({ calc: DOUBLER });
  await t.host.start();
  const calc = t.host.getPlugin("calc")!;
  const [a, b, c] = await Promise.allSettled([
    calc.call("double", 1),
    calc.call("double", () => 1),
    calc.call("double", 3),
  ]);
  assert.deepEqual([a, c], [{ status: "fulfilled", value: 2 }, { status: "fulfilled", value: 6 }]);
  assert.equal(b.status, "rejected");
  assert.equal((b as PromiseRejectedResult).reason.name, "DataCloneError");
  assert.equal(calc.state, "Running");
});

// The plugin wraps the runtime's message handler, sees the batch of calls, and answers two of them itself
// with a forged batch mixing valid answers and malformed elements.
const FORGER = {
  manifest: { id: "forger" },
  code: `
const scope = globalThis;
export default {
  initialize() {
    const real = scope.onmessage;
    scope.onmessage = (e) => {
      const m = e.data;
      const calls = m.t === "batch" ? m.messages : [m];
      const forged = calls.filter((c) => c.t === "call" && c.method === "forged");
      if (forged.length < 2) return real(e);
      scope.postMessage({ v: 1, t: "batch", messages: [
        { v: 1, t: "result", id: forged[0].id, value: "forged-ok" },
        { v: 1, t: "result" },
        { v: 1, t: "batch", messages: [{ v: 1, t: "result", id: forged[1].id, value: "nested" }] },
        "garbage",
        { v: 2, t: "result", id: forged[1].id, value: "wrong version" },
        { v: 1, t: "result", id: 987654, value: "no such call" },
        { v: 1, t: "error", id: forged[1].id, error: { name: "TypeError", message: "forged error" } },
      ] });
      real({ data: { v: 1, t: "batch", messages: calls.filter((c) => c.method !== "forged") } });
    };
  },
  methods: { forged: () => "runtime", plain: (x) => x * 2 },
};`,
};

Deno.test("malformed elements of a worker's batch are dropped one by one; the valid ones still settle", async () => {
  await using t = await hostWith({ forger: FORGER });
  const reasons: string[] = [];
  t.host.on("protocolError", (e) => void reasons.push(e.reason));
  await t.host.start();
  const p = t.host.getPlugin("forger")!;
  // The first call of the tick is lone: it takes the shared-memory slot; the other three travel as a batch.
  const [lone, first, second, plain] = await Promise.allSettled([
    p.call("plain", 1),
    p.call("forged"),
    p.call("forged"),
    p.call("plain", 21),
  ]);
  assert.deepEqual(lone, { status: "fulfilled", value: 2 });
  assert.deepEqual(first, { status: "fulfilled", value: "forged-ok" });
  assert.equal(second.status, "rejected");
  assert.equal((second as PromiseRejectedResult).reason.name, "TypeError");
  assert.equal((second as PromiseRejectedResult).reason.message, "forged error");
  assert.deepEqual(plain, { status: "fulfilled", value: 42 });
  assert.deepEqual(reasons, [
    "in a batch: malformed result",
    "in a batch: a nested batch",
    "in a batch: not an object",
    "in a batch: unsupported protocol version 2",
    "answer to unknown call id 987654",
  ]);
  assert.equal(p.getMetrics().protocolErrors, 5);
  assert.equal(p.state, "Running");
  assert.equal(await p.call("plain", 2), 4);
});

Deno.test("a batch envelope must hold an array of at most 10,000 messages", () => {
  assert.equal(parseWorkerMessage({ v: 1, t: "batch", messages: "x" }), "malformed batch");
  assert.equal(parseWorkerMessage({ v: 1, t: "batch" }), "malformed batch");
  assert.equal(
    parseWorkerMessage({ v: 1, t: "batch", messages: new Array(10_001).fill(0) }),
    "malformed batch",
  );
  const ok = parseWorkerMessage({ v: 1, t: "batch", messages: [1, "x"] });
  assert.equal(typeof ok, "object");
});

Deno.test("one timer for all calls: a short timeout fires while a longer call stays pending and settles", async () => {
  const { port1, port2 } = new MessageChannel();
  const calls: number[] = [];
  port2.onmessage = (e) => {
    // Both calls were issued in the same tick: they arrive as one batch.
    for (const m of e.data.t === "batch" ? e.data.messages : [e.data]) if (m.t === "call") calls.push(m.id);
  };
  const endpoint = new RpcEndpoint({
    peer: "peer",
    defaultTimeoutMs: 60_000,
    send: (m, tr) => port1.postMessage(m, tr),
    batch: true,
  });
  port1.onmessage = (e: MessageEvent<ResultMessage>) => endpoint.settle(e.data);
  try {
    const long = endpoint.call("method", "long", [], { timeoutMs: 30_000 });
    const short = endpoint.call("method", "short", [], { timeoutMs: 30 });
    await assert.rejects(short, CallTimeoutError);
    assert.equal(endpoint.pending, 1);
    assert.equal(calls.length, 2);
    const longId = calls[0];
    port2.postMessage({ v: 1, t: "result", id: longId, value: "late but fine" });
    assert.equal(await long, "late but fine");
    assert.equal(endpoint.pending, 0);
    await endpoint.idle();
  } finally {
    endpoint.close(new Error("test over"));
    port1.close();
    port2.close();
  }
});

// The plugin captures the shared buffer (by replacing Int32Array before the runtime wraps the buffer) and
// scribbles a malformed answer into it.
const SCRIBBLER = {
  manifest: { id: "scribbler" },
  code: `
const buffers = [];
const Real = globalThis.Int32Array;
globalThis.Int32Array = class extends Real {
  constructor(...a) { super(...a); if (a[0] instanceof SharedArrayBuffer) buffers.push(a[0]); }
};
export default { methods: {
  scribble() {
    const i32 = new Real(buffers[0]);
    i32[4] = 7; i32[3] = 1e9; // an answer kind and a length that do not exist
    Atomics.store(i32, 1, Atomics.load(i32, 0));
    Atomics.notify(i32, 1);
    return new Promise(() => {}); // and never answers for real
  },
  plain: (x) => x * 2,
} };`,
};

Deno.test("a plugin that scribbles on the shared slot loses it; its later calls still work by message", async () => {
  await using t = await hostWith({ scribbler: SCRIBBLER });
  const reasons: string[] = [];
  t.host.on("protocolError", (e) => void reasons.push(e.reason));
  await t.host.start();
  const p = t.host.getPlugin("scribbler")!;
  await assert.rejects(p.request("scribble", [], { timeoutMs: 300 }), CallTimeoutError);
  assert.deepEqual(reasons, ["a malformed answer in the shared slot"]);
  const shared = p.getMetrics().wire!.sharedCalls;
  assert.equal(await p.call("plain", 4), 8);
  assert.equal(p.getMetrics().wire!.sharedCalls, shared);
  assert.equal(p.state, "Running");
});

Deno.test("what a call posts (a log) reaches the host before the call resolves, slot or not", async () => {
  await using logs = await captureLogs();
  await using t = await hostWith({
    talker: {
      manifest: { id: "talker" },
      code: `let ctx;
export default { initialize(c) { ctx = c; }, methods: {
  talk(n) { ctx.log.info("said {n}", { n }); return n; },
  quiet(n) { return n; },
} };`,
    },
  });
  await t.host.start();
  const p = t.host.getPlugin("talker")!;
  const before = p.getMetrics().wire!.sharedCalls;
  for (let n = 0; n < 5; n++) {
    assert.equal(await p.call("talk", n), n);
    assert.ok(logs.records.some((r) => r.properties.n === n), `the record of call ${n} arrived first`);
    assert.equal(await p.call("quiet", n), n);
  }
  // Every call went through the slot; the host held each answer until the messages posted before it arrived.
  assert.equal(p.getMetrics().wire!.sharedCalls - before, 10);
});

Deno.test("answers of CPU-bound calls served in one long tick go back as they are ready, not all at its end", async () => {
  const busy = {
    manifest: { id: "busy" },
    code: `export default { methods: {
      burn(ms) { const end = performance.now() + ms; while (performance.now() < end); return 1; },
    } };`,
  };
  await using t = await hostWith({ busy });
  await t.host.start();
  const p = t.host.getPlugin("busy")!;
  await p.call("burn", 1);
  const before = p.getMetrics().wire!.messagesReceived;
  const t0 = performance.now();
  const at: number[] = [];
  // 32 calls sent in one tick arrive as one batch and are served one after the other in one task (~160 ms).
  await Promise.all(
    Array.from({ length: 32 }, () => p.call("burn", 5).then(() => at.push(performance.now() - t0))),
  );
  const messages = p.getMetrics().wire!.messagesReceived - before;
  // Held to the end of the task they would come back in 3 messages (BATCH_FLUSH_AT, then the rest).
  assert.ok(messages >= 8, `${messages} messages for 32 answers`);
  assert.ok(
    at[1] < at[31] / 2,
    `the second answer came at ${at[1].toFixed(0)} ms of ${at[31].toFixed(0)} ms`,
  );
});
