// RpcEndpoint over a real MessageChannel: id matching, timeouts, aborts, close, transfers, and remote errors
// rebuilt (and not forged) on this side.
import assert from "node:assert/strict";
import {
  type CallMessage,
  CallTimeoutError,
  collectTransferables,
  type ErrorMessage,
  PluginHostError,
  type ResultMessage,
  RpcEndpoint,
  type SerializedError,
} from "../mod.ts";

type Incoming = CallMessage | { v: 1; t: "cancel"; id: number; reason: string };

/** The other side of the channel: records what arrives, answers when told to. */
class Peer implements Disposable {
  readonly endpoint: RpcEndpoint;
  readonly received: Incoming[] = [];
  readonly #local: MessagePort;
  readonly #remote: MessagePort;
  #waiters: { pred: (m: Incoming) => boolean; resolve: (m: Incoming) => void }[] = [];

  constructor(options: { echo?: boolean; timeoutMs?: number } = {}) {
    const { port1, port2 } = new MessageChannel();
    this.#local = port1;
    this.#remote = port2;
    this.endpoint = new RpcEndpoint({
      peer: "peer.echo",
      defaultTimeoutMs: options.timeoutMs ?? 5_000,
      send: (m, t) => port1.postMessage(m, t),
    });
    port1.onmessage = (e: MessageEvent<ResultMessage | ErrorMessage>) => this.endpoint.settle(e.data);
    port2.onmessage = (e: MessageEvent<Incoming>) => {
      const m = e.data;
      this.received.push(m);
      this.#waiters = this.#waiters.filter((w) => !(w.pred(m) && (w.resolve(m), true)));
      if (options.echo && m.t === "call") this.answer(m.id, m.args[0]);
    };
  }

  /** The first message (already received or still to come) for which `pred` holds. */
  next(pred: (m: Incoming) => boolean): Promise<Incoming> {
    const seen = this.received.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ pred, resolve }));
  }

  call(method: string): Promise<CallMessage> {
    return this.next((m) => m.t === "call" && m.method === method) as Promise<CallMessage>;
  }

  cancel(id: number): Promise<Incoming> {
    return this.next((m) => m.t === "cancel" && m.id === id);
  }

  answer(id: number, value: unknown, transfer: Transferable[] = []): void {
    this.#remote.postMessage({ v: 1, t: "result", id, value }, transfer);
  }

  fail(id: number, error: SerializedError): void {
    this.#remote.postMessage({ v: 1, t: "error", id, error });
  }

  [Symbol.dispose](): void {
    this.endpoint.close(new Error("test over"));
    this.#local.close();
    this.#remote.close();
  }
}

Deno.test("an echo peer answers a call", async () => {
  using peer = new Peer({ echo: true });
  assert.equal(await peer.endpoint.call("method", "echo", ["hi"]), "hi");
  assert.deepEqual(await peer.endpoint.call("method", "echo", [{ a: [1, 2] }]), { a: [1, 2] });
  assert.equal(peer.endpoint.pending, 0);
  const sent = peer.received[0] as CallMessage;
  assert.deepEqual(sent, { v: 1, t: "call", id: sent.id, kind: "method", method: "echo", args: ["hi"] });
});

Deno.test("a target is sent with plugin calls; ids are unique", async () => {
  using peer = new Peer({ echo: true });
  await Promise.all([
    peer.endpoint.call("plugin", "m", [1], { target: "dep.a" }),
    peer.endpoint.call("hook", "start", []),
  ]);
  const [a, b] = peer.received as CallMessage[];
  assert.equal(a.target, "dep.a");
  assert.equal(a.kind, "plugin");
  assert.equal("target" in b, false);
  assert.equal(b.kind, "hook");
  assert.notEqual(a.id, b.id);
});

Deno.test("answers are matched to calls by id, in whatever order they come", async () => {
  using peer = new Peer();
  const calls = ["a", "b", "c", "d"].map((name) => peer.endpoint.call("method", name, [name]));
  assert.equal(peer.endpoint.pending, 4);
  const messages = await Promise.all(["a", "b", "c", "d"].map((n) => peer.call(n)));
  for (const m of [...messages].reverse()) peer.answer(m.id, `answer to ${m.method}`);
  assert.deepEqual(await Promise.all(calls), ["answer to a", "answer to b", "answer to c", "answer to d"]);
  assert.equal(peer.endpoint.pending, 0);
});

Deno.test("a call past its timeout rejects with CallTimeoutError and sends a cancel", async () => {
  using peer = new Peer({ timeoutMs: 60_000 });
  const t0 = performance.now();
  const call = peer.endpoint.call("method", "slow", [], { timeoutMs: 50 });
  await assert.rejects(call, (e: unknown) => {
    assert.ok(e instanceof CallTimeoutError);
    assert.ok(e instanceof PluginHostError);
    assert.equal(e.code, "CALL_TIMEOUT");
    assert.equal(e.pluginId, "peer.echo");
    assert.match(e.message, /slow/);
    return true;
  });
  assert.ok(performance.now() - t0 >= 45, "not before its time");
  const { id } = await peer.call("slow");
  const cancel = await peer.cancel(id);
  assert.match((cancel as { reason: string }).reason, /timed out/);
  assert.equal(peer.endpoint.pending, 0);
  // A late answer is stale: nothing is waiting for it.
  assert.equal(peer.endpoint.settle({ v: 1, t: "result", id, value: "late" }), false);
});

Deno.test("the endpoint's default timeout bounds calls that set none", async () => {
  using peer = new Peer({ timeoutMs: 30 });
  await assert.rejects(peer.endpoint.call("method", "slow", []), CallTimeoutError);
  const { id } = await peer.call("slow");
  await peer.cancel(id);
});

Deno.test("a pre-aborted signal rejects with CALL_ABORTED and sends nothing", async () => {
  using peer = new Peer({ echo: true });
  const signal = AbortSignal.abort(new Error("not wanted"));
  await assert.rejects(peer.endpoint.call("method", "never", [], { signal }), (e: unknown) => {
    assert.ok(e instanceof PluginHostError);
    assert.equal(e.code, "CALL_ABORTED");
    assert.match(e.message, /not wanted/);
    return true;
  });
  assert.equal(peer.endpoint.pending, 0);
  // The next message the peer sees is the next call: the aborted one was never sent.
  assert.equal(await peer.endpoint.call("method", "after", ["x"]), "x");
  assert.deepEqual(peer.received.map((m) => m.t === "call" ? m.method : m.t), ["after"]);
});

Deno.test("aborting mid-call rejects with CALL_ABORTED and sends a cancel with the reason", async () => {
  using peer = new Peer();
  const controller = new AbortController();
  const call = peer.endpoint.call("method", "wait", [], { signal: controller.signal });
  const { id } = await peer.call("wait");
  controller.abort(new Error("user gave up"));
  await assert.rejects(call, (e: unknown) => {
    assert.ok(e instanceof PluginHostError);
    assert.equal(e.code, "CALL_ABORTED");
    assert.equal((e.cause as Error).message, "user gave up");
    return true;
  });
  const cancel = await peer.cancel(id);
  assert.equal((cancel as { reason: string }).reason, (await call.catch((e: Error) => e) as Error).message);
  assert.equal(peer.endpoint.pending, 0);
  // A late answer to the cancelled call is dropped; the next call gets its own answer.
  peer.answer(id, "too late");
  const more = peer.endpoint.call("method", "more", []);
  peer.answer((await peer.call("more")).id, "fresh");
  assert.equal(await more, "fresh");
});

Deno.test("a signal aborted after the answer changes nothing", async () => {
  using peer = new Peer({ echo: true });
  const controller = new AbortController();
  assert.equal(await peer.endpoint.call("method", "echo", [5], { signal: controller.signal }), 5);
  controller.abort();
  // No cancel for a finished call.
  assert.equal(await peer.endpoint.call("method", "echo", [6]), 6);
  assert.equal(peer.received.filter((m) => m.t === "cancel").length, 0);
});

Deno.test("close() rejects every pending call and every later call with its error", async () => {
  using peer = new Peer();
  const a = peer.endpoint.call("method", "a", []);
  const b = peer.endpoint.call("method", "b", []);
  await peer.call("b");
  const gone = new PluginHostError("PLUGIN_CRASHED", "the peer died");
  peer.endpoint.close(gone);
  assert.equal(peer.endpoint.pending, 0);
  await assert.rejects(a, (e) => e === gone);
  await assert.rejects(b, (e) => e === gone);
  await assert.rejects(peer.endpoint.call("method", "c", []), (e) => e === gone);
  // A second close keeps the first error.
  peer.endpoint.close(new Error("second"));
  await assert.rejects(peer.endpoint.call("method", "d", []), (e) => e === gone);
});

Deno.test("settle() of an unknown id returns false and settles nothing", async () => {
  using peer = new Peer();
  assert.equal(peer.endpoint.settle({ v: 1, t: "result", id: 424242, value: 1 }), false);
  assert.equal(
    peer.endpoint.settle({ v: 1, t: "error", id: 424242, error: { name: "Error", message: "x" } }),
    false,
  );
  const call = peer.endpoint.call("method", "m", []);
  const { id } = await peer.call("m");
  assert.equal(peer.endpoint.settle({ v: 1, t: "result", id: id + 1, value: "wrong" }), false);
  assert.equal(peer.endpoint.pending, 1);
  assert.equal(peer.endpoint.settle({ v: 1, t: "result", id, value: "right" }), true);
  assert.equal(peer.endpoint.settle({ v: 1, t: "result", id, value: "twice" }), false);
  assert.equal(await call, "right");
});

Deno.test('transfer "auto" (the default) moves an ArrayBuffer and nested typed arrays', async () => {
  using peer = new Peer({ echo: true });
  const buffer = new ArrayBuffer(64);
  const result = await peer.endpoint.call("method", "echo", [buffer]) as ArrayBuffer;
  assert.equal(buffer.byteLength, 0, "detached on this side");
  assert.equal(result.byteLength, 64, "arrived whole");

  const nested = { data: { samples: new Float32Array([1, 2, 3]) }, list: [new Uint8Array(8)] };
  const back = await peer.endpoint.call("method", "echo", [nested], { transfer: "auto" }) as typeof nested;
  assert.equal(nested.data.samples.buffer.byteLength, 0);
  assert.equal(nested.list[0].buffer.byteLength, 0);
  assert.deepEqual([...back.data.samples], [1, 2, 3]);
});

Deno.test('transfer "none" copies; an explicit list moves only what it names', async () => {
  using peer = new Peer({ echo: true });
  const kept = new Float64Array([1.5, 2.5]);
  const copy = await peer.endpoint.call("method", "echo", [kept], { transfer: "none" }) as Float64Array;
  assert.equal(kept.buffer.byteLength, 16, "still usable here");
  assert.deepEqual([...copy], [1.5, 2.5]);

  const moved = new ArrayBuffer(8);
  const stays = new ArrayBuffer(8);
  await peer.endpoint.call("method", "echo", [[moved, stays]], { transfer: [moved] });
  assert.equal(moved.byteLength, 0);
  assert.equal(stays.byteLength, 8);
});

Deno.test("collectTransferables: buffers of views, depth, dedupe, plain objects only", () => {
  const buf = new ArrayBuffer(16);
  const a = new Uint8Array(buf, 0, 4);
  const b = new Float32Array(buf, 4, 2);
  assert.deepEqual(collectTransferables([buf, a, b, { again: a }]), [buf], "one buffer, once");

  assert.deepEqual(collectTransferables(new ArrayBuffer(0)), [], "empty buffers are skipped");
  assert.deepEqual(collectTransferables([1, "x", null, undefined]), []);

  // Depth: the top value is depth 3, so a buffer three containers down is found, four down is not.
  const deep3 = new ArrayBuffer(1);
  const deep4 = new ArrayBuffer(1);
  assert.deepEqual(collectTransferables([[[deep3]]]), [deep3]);
  assert.deepEqual(collectTransferables([[[[deep4]]]]), []);
  assert.deepEqual(collectTransferables([[[[deep4]]]], 4), [deep4]);
  assert.deepEqual(collectTransferables({ a: deep3 }, 0), [], "depth 0 looks at the value only");
  assert.deepEqual(collectTransferables(deep3, 0), [deep3]);

  // Class instances and maps are not searched (only arrays and plain objects are).
  class Box {
    constructor(readonly inside: ArrayBuffer) {}
  }
  assert.deepEqual(
    collectTransferables([new Box(new ArrayBuffer(4)), new Map([[1, new ArrayBuffer(4)]])]),
    [],
  );

  // Bounded: at most 1000 items of one container are looked at.
  const many = Array.from({ length: 1500 }, () => new ArrayBuffer(1));
  const found = collectTransferables(many);
  assert.equal(found.length, 1000);
  assert.equal(found[999], many[999]);
});

function remoteError(error: SerializedError): Promise<Error> {
  const peer = new Peer();
  const call = peer.endpoint.call("method", "boom", []);
  return peer.call("boom").then(async ({ id }) => {
    peer.fail(id, error);
    const e = await call.then(() => assert.fail("should reject"), (e: Error) => e);
    peer[Symbol.dispose]();
    return e;
  });
}

Deno.test("remote errors: a TypeError stays a TypeError, with its message and the remote stack", async () => {
  const e = await remoteError({
    name: "TypeError",
    message: "not a function",
    stack: "TypeError: x\n  at plugin",
  });
  assert.ok(e instanceof TypeError);
  assert.equal(e.name, "TypeError");
  assert.equal(e.message, "not a function");
  assert.match(e.stack!, /--- in plugin "peer\.echo" ---\nTypeError: x\n {2}at plugin/);
  for (const name of ["RangeError", "SyntaxError", "ReferenceError", "URIError", "EvalError"]) {
    const other = await remoteError({ name, message: "m" });
    assert.equal(other.constructor.name, name);
    assert.equal(other.name, name);
  }
});

Deno.test("remote errors: a custom name is kept, and so is a code", async () => {
  const e = await remoteError({ name: "ValidationError", message: "bad input", code: "E_INPUT" });
  assert.equal(e.name, "ValidationError");
  assert.equal(e.message, "bad input");
  assert.equal((e as Error & { code?: string }).code, "E_INPUT");
  assert.ok(!(e instanceof PluginHostError));

  const r = await remoteError({ name: "RangeError", message: "out of range", code: "E_RANGE" });
  assert.ok(r instanceof RangeError);
  assert.equal((r as Error & { code?: string }).code, "E_RANGE");
});

Deno.test("remote errors: Deno.errors.NotCapable is rebuilt as that class", async () => {
  const e = await remoteError({ name: "NotCapable", message: "Requires read access" });
  assert.ok(e instanceof Deno.errors.NotCapable);
  assert.equal(e.message, "Requires read access");
  const nf = await remoteError({ name: "NotFound", message: "no such file" });
  assert.ok(nf instanceof Deno.errors.NotFound);
});

Deno.test("remote errors: a forged PluginHostError with a host-only code is not rebuilt as one", async () => {
  for (
    const code of ["PLUGIN_CRASHED", "HOST_STOPPED", "ILLEGAL_TRANSITION", "LOAD_FAILED", "PROTOCOL_ERROR"]
  ) {
    const e = await remoteError({ name: "PluginHostError", message: "forged", code });
    assert.ok(!(e instanceof PluginHostError), `${code} must not become a real PluginHostError`);
  }
  // The codes a plugin may legitimately pass on (e.g. a dependency's "no such method") are rebuilt.
  const ok = await remoteError({ name: "PluginHostError", message: "no method", code: "METHOD_NOT_FOUND" });
  assert.ok(ok instanceof PluginHostError);
  assert.equal(ok.code, "METHOD_NOT_FOUND");
  assert.equal(ok.pluginId, "peer.echo", "the error is pinned on the peer it came from");
});

Deno.test("remote errors: names of Object.prototype members are not looked up as classes", async () => {
  for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
    const e = await remoteError({ name, message: "m" });
    assert.equal(e.name, name);
    assert.equal(e.message, "m");
  }
});
