// parseWorkerMessage: every valid worker message accepted as is, every malformed one rejected with a reason,
// and (fuzzed) never a throw whatever a worker sends.
import assert from "node:assert/strict";
// A test-only dependency, imported inline on purpose so deno.json stays as it is.
// deno-lint-ignore no-import-prefix
import fc from "npm:fast-check@^4.10.2";
import { parseWorkerMessage, PROTOCOL_VERSION, SERVICE_TARGET } from "../mod.ts";
import { fuzz } from "./security/_fuzz.ts";

// The limits in src/rpc/protocol.ts.
const MAX_NAME = 256;
const MAX_TEXT = 16 * 1024;

const VALID: Readonly<Record<string, Record<string, unknown>>> = {
  call: { v: 1, t: "call", id: 0, kind: "plugin", method: "greet", args: ["x", 1], target: "dep.a" },
  // A service lookup is a plugin call to the reserved target, which no plugin id can be.
  serviceLookup: {
    v: 1,
    t: "call",
    id: 1,
    kind: "plugin",
    method: "lookup",
    args: ["storage.kv", null],
    target: SERVICE_TARGET,
  },
  result: { v: 1, t: "result", id: 7, value: { any: ["thing"] } },
  resultUndefined: { v: 1, t: "result", id: 7, value: undefined },
  error: {
    v: 1,
    t: "error",
    id: 3,
    error: { name: "TypeError", message: "bad", code: "E_X", stack: "at x" },
  },
  errorMinimal: { v: 1, t: "error", id: 3, error: { name: "Error", message: "" } },
  cancel: { v: 1, t: "cancel", id: 9, reason: "timed out" },
  ready: { v: 1, t: "ready", methods: ["a", "b"] },
  readyNone: { v: 1, t: "ready", methods: [] },
  log: { v: 1, t: "log", level: "info", category: ["p", "sub"], message: "hi", properties: { a: 1 } },
  exit: { v: 1, t: "exit", how: "Deno.exit", code: 7 },
  exitNegative: { v: 1, t: "exit", how: "process.exit", code: -1 },
  fatalLoad: { v: 1, t: "fatal", phase: "load", error: { name: "SyntaxError", message: "oops" } },
  fatalRuntime: { v: 1, t: "fatal", phase: "runtime", error: { name: "Error", message: "oops" } },
  metrics: {
    v: 1,
    t: "metrics",
    counters: { calls: 3, bytes: 1.5 },
    histograms: { lat: { count: 2, sum: 3, min: 1, max: 2 } },
  },
  metricsEmpty: { v: 1, t: "metrics", counters: {}, histograms: {} },
};

const with_ = (base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> => ({
  ...base,
  ...patch,
});
const without = (base: Record<string, unknown>, key: string): Record<string, unknown> => {
  const copy = { ...base };
  delete copy[key];
  return copy;
};

function accepts(message: unknown): void {
  const parsed = parseWorkerMessage(message);
  assert.notEqual(typeof parsed, "string", `should accept ${Deno.inspect(message)}: ${parsed}`);
  assert.equal(parsed, message, "the message itself is returned");
}

function rejects(message: unknown, why?: RegExp): void {
  const parsed = parseWorkerMessage(message);
  assert.equal(typeof parsed, "string", `should reject ${Deno.inspect(message, { depth: 2 })}`);
  assert.ok((parsed as string).length > 0);
  if (why) assert.match(parsed as string, why);
}

Deno.test("every valid message type is accepted and returned unchanged", () => {
  assert.equal(PROTOCOL_VERSION, 1);
  for (const [name, m] of Object.entries(VALID)) {
    const parsed = parseWorkerMessage(m);
    assert.equal(parsed, m, name);
  }
  // Survives a structured clone (what really crosses the worker boundary).
  for (const m of Object.values(VALID)) accepts(structuredClone(m));
});

Deno.test("non-objects are rejected", () => {
  for (const x of [null, undefined, 0, 1, "call", true, Symbol("x"), 10n, [], [1, "call"], () => {}]) {
    rejects(x, /not an object/);
  }
});

Deno.test("a wrong or missing protocol version is rejected", () => {
  for (const v of [0, 2, "1", 1.0000001, -1, null, undefined, true, [1], { v: 1 }]) {
    rejects(with_(VALID.result, { v }), /unsupported protocol version/);
  }
  rejects(without(VALID.result, "v"), /unsupported protocol version/);
  // The reason does not echo an unbounded string back.
  const reason = parseWorkerMessage(with_(VALID.result, { v: "x".repeat(100_000) })) as string;
  assert.ok(reason.length < 100, reason.slice(0, 200));
});

Deno.test("an unknown or missing type is rejected", () => {
  for (const t of ["load", "bogus", "", "CALL", 1, null, undefined]) {
    rejects(with_(VALID.result, { t }), /unknown message type/);
  }
  rejects(without(VALID.result, "t"), /unknown message type/);
  const reason = parseWorkerMessage({ v: 1, t: "y".repeat(100_000) }) as string;
  assert.ok(reason.length < 100, reason.slice(0, 200));
});

Deno.test("ids must be non-negative safe integers", () => {
  const badIds = [-1, 1.5, NaN, Infinity, -Infinity, 2 ** 53, "1", null, undefined, 1n, [1], {}];
  for (const kind of ["call", "result", "error", "cancel"]) {
    for (const id of badIds) rejects(with_(VALID[kind], { id }), new RegExp(`malformed ${kind}`));
    rejects(without(VALID[kind], "id"), new RegExp(`malformed ${kind}`));
    accepts(with_(VALID[kind], { id: 0 }));
    accepts(with_(VALID[kind], { id: Number.MAX_SAFE_INTEGER }));
  }
});

Deno.test("a call from a worker must be of kind plugin, with a method, a target and args", () => {
  for (const kind of ["hook", "method", "PLUGIN", "", undefined, 1]) {
    rejects(with_(VALID.call, { kind }), /malformed call/);
  }
  for (const key of ["kind", "method", "target", "args"]) rejects(without(VALID.call, key), /malformed call/);
  for (const method of ["", 1, null, ["greet"], "m".repeat(MAX_NAME + 1)]) {
    rejects(with_(VALID.call, { method }), /malformed call/);
  }
  for (const target of ["", 1, null, "t".repeat(MAX_NAME + 1)]) {
    rejects(with_(VALID.call, { target }), /malformed call/);
  }
  for (const args of ["a", { 0: "a", length: 1 }, null, 1]) {
    rejects(with_(VALID.call, { args }), /malformed call/);
  }
  accepts(with_(VALID.call, { method: "m".repeat(MAX_NAME), target: "t".repeat(MAX_NAME), args: [] }));
});

Deno.test("a result needs a value key; an error needs a well-formed error", () => {
  rejects(without(VALID.result, "value"), /malformed result/);
  rejects(without(VALID.error, "error"), /malformed error/);
  const e = VALID.error.error as Record<string, unknown>;
  const badErrors: unknown[] = [
    "boom",
    null,
    [],
    { message: "no name" },
    { name: "", message: "empty name" },
    { name: 1, message: "x" },
    { name: "E" },
    { name: "E", message: 1 },
    { ...e, name: "n".repeat(MAX_NAME + 1) },
    { ...e, message: "m".repeat(MAX_TEXT + 1) },
    { ...e, code: 42 },
    { ...e, code: "" },
    { ...e, code: "c".repeat(MAX_NAME + 1) },
    { ...e, stack: 42 },
    { ...e, stack: "s".repeat(MAX_TEXT + 1) },
  ];
  for (const error of badErrors) {
    rejects(with_(VALID.error, { error }), /malformed error/);
    rejects(with_(VALID.fatalRuntime, { error }), /malformed fatal/);
  }
  accepts(
    with_(VALID.error, { error: { ...e, message: "m".repeat(MAX_TEXT), stack: "s".repeat(MAX_TEXT) } }),
  );
});

Deno.test("cancel needs a bounded text reason", () => {
  for (const reason of [undefined, 1, null, {}, "r".repeat(MAX_TEXT + 1)]) {
    rejects(with_(VALID.cancel, { reason }), /malformed cancel/);
  }
  accepts(with_(VALID.cancel, { reason: "" }));
  accepts(with_(VALID.cancel, { reason: "r".repeat(MAX_TEXT) }));
});

Deno.test("ready needs a bounded list of method names", () => {
  const badMethods: unknown[] = [
    undefined,
    "a",
    { 0: "a" },
    [1],
    [""],
    ["ok", null],
    ["m".repeat(MAX_NAME + 1)],
    Array.from({ length: 10_001 }, (_, i) => `m${i}`),
  ];
  for (const methods of badMethods) rejects(with_(VALID.ready, { methods }), /malformed ready/);
  accepts(with_(VALID.ready, { methods: Array.from({ length: 10_000 }, (_, i) => `m${i}`) }));
});

Deno.test("log needs a known level, a short category, a bounded message and properties", () => {
  for (const level of ["warn", "INFO", "critical", "", 3, null, undefined]) {
    rejects(with_(VALID.log, { level }), /malformed log/);
  }
  for (const level of ["trace", "debug", "info", "warning", "error", "fatal"]) {
    accepts(with_(VALID.log, { level }));
  }
  for (const category of [undefined, "p", [1], [""], Array.from({ length: 17 }, () => "c")]) {
    rejects(with_(VALID.log, { category }), /malformed log/);
  }
  accepts(with_(VALID.log, { category: Array.from({ length: 16 }, () => "c") }));
  accepts(with_(VALID.log, { category: [] }));
  for (const message of [undefined, 1, ["hi"], "x".repeat(MAX_TEXT + 1)]) {
    rejects(with_(VALID.log, { message }), /malformed log/);
  }
  accepts(with_(VALID.log, { message: "x".repeat(MAX_TEXT) }));
  for (const properties of [undefined, null, [], "p", 1]) {
    rejects(with_(VALID.log, { properties }), /malformed log/);
  }
});

Deno.test("exit needs a how and an integer code; fatal a known phase", () => {
  for (const how of [undefined, "", 1, "h".repeat(MAX_NAME + 1)]) {
    rejects(with_(VALID.exit, { how }), /malformed exit/);
  }
  for (const code of [undefined, 1.5, "0", NaN, Infinity, null]) {
    rejects(with_(VALID.exit, { code }), /malformed exit/);
  }
  for (const phase of [undefined, "start", "LOAD", 1]) {
    rejects(with_(VALID.fatalLoad, { phase }), /malformed fatal/);
  }
});

Deno.test("metrics need number values, bounded in count and key length", () => {
  const badCounters: unknown[] = [
    undefined,
    null,
    [],
    { a: "1" },
    { a: null },
    { a: 1n },
    { a: [1] },
    { a: 1, b: { nested: 2 } },
    { ["k".repeat(MAX_NAME + 1)]: 1 },
    Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`c${i}`, i])),
  ];
  for (const counters of badCounters) rejects(with_(VALID.metrics, { counters }), /malformed metrics/);
  const badHistograms: unknown[] = [
    undefined,
    null,
    [],
    { lat: 1 },
    { lat: null },
    { lat: { count: "2" } },
    { lat: { count: 2, sum: undefined } },
    { ok: { count: 1 }, bad: { count: "x" } },
    Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`h${i}`, { count: 1 }])),
  ];
  for (const histograms of badHistograms) rejects(with_(VALID.metrics, { histograms }), /malformed metrics/);
  accepts(
    with_(VALID.metrics, {
      counters: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`c${i}`, i])),
      histograms: { ["k".repeat(MAX_NAME)]: { count: 1, sum: 2, min: 2, max: 2 } },
    }),
  );
});

// A value whose string conversion throws: what `structuredClone` keeps of `{ toString: 1 }` from a worker.
const poisoned = [{ toString: 1 }, { toString: 1, valueOf: 1 }, Object.create(null)];

Deno.test({
  name: "a version or type whose string conversion throws is rejected, not thrown",
  fn() {
    for (const bad of poisoned) {
      rejects({ v: bad, t: "result", id: 1, value: 1 }, /unsupported protocol version/);
      rejects({ v: 1, t: bad, id: 1 }, /unknown message type/);
    }
    rejects(structuredClone({ v: { toString: 1 } }));
  },
});

const TYPES = ["call", "result", "error", "cancel", "ready", "log", "exit", "fatal", "metrics", "load", "x"];

function checkOutcome(input: unknown): void {
  const parsed = parseWorkerMessage(input);
  if (typeof parsed === "string") {
    assert.ok(parsed.length > 0 && parsed.length < 200, parsed);
    return;
  }
  // Accepted: it is the very object given, of the current version and of a type a worker may send.
  assert.equal(parsed, input);
  assert.equal(parsed.v, 1);
  assert.ok(TYPES.slice(0, 9).includes(parsed.t), String(parsed.t));
  if (parsed.t === "call" || parsed.t === "result" || parsed.t === "error" || parsed.t === "cancel") {
    assert.ok(Number.isSafeInteger(parsed.id) && parsed.id >= 0);
  }
  if (parsed.t === "call") assert.equal(parsed.kind, "plugin");
}

// Fields from the union of all message shapes, each either a valid-looking value or anything at all.
function nearMiss(tag: fc.Arbitrary<unknown>, version: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const anything = fc.anything({ withNullPrototype: true, withBoxedValues: true, withTypedArray: true });
  const name = fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 300 }), anything);
  const num = fc.oneof(fc.nat(), fc.integer(), fc.double(), anything);
  const errorObj = fc.oneof(
    fc.record({ name, message: name, code: name, stack: name }, { requiredKeys: ["name", "message"] }),
    anything,
  );
  const numRecord = fc.oneof(fc.dictionary(fc.string({ maxLength: 5 }), num, { maxKeys: 4 }), anything);
  return fc.record(
    {
      v: version,
      t: tag,
      id: num,
      kind: fc.oneof(fc.constantFrom("plugin", "hook", "method"), anything),
      method: name,
      target: name,
      args: fc.oneof(fc.array(anything, { maxLength: 3 }), anything),
      value: anything,
      error: errorObj,
      reason: name,
      methods: fc.oneof(fc.array(name, { maxLength: 4 }), anything),
      level: fc.oneof(fc.constantFrom("info", "warn", "warning", "fatal"), anything),
      category: fc.oneof(fc.array(name, { maxLength: 20 }), anything),
      message: name,
      properties: anything,
      how: name,
      code: num,
      phase: fc.oneof(fc.constantFrom("load", "runtime", "start"), anything),
      counters: numRecord,
      histograms: fc.oneof(fc.dictionary(fc.string({ maxLength: 5 }), numRecord, { maxKeys: 3 }), anything),
    },
    { requiredKeys: [] },
  );
}

Deno.test("fuzz: parseWorkerMessage never throws on arbitrary values", () => {
  fc.assert(
    fc.property(
      fc.anything({ withBoxedValues: true, withMap: true, withSet: true, withTypedArray: true }),
      (x) => {
        checkOutcome(x);
        checkOutcome(structuredCloneOrSelf(x));
      },
    ),
    fuzz(3000),
  );
});

Deno.test("fuzz: near-miss messages (version and type primitive) are rejected or accepted, never thrown", () => {
  const primitive = fc.oneof(fc.string({ maxLength: 10 }), fc.double(), fc.boolean(), fc.constant(null));
  fc.assert(
    fc.property(
      nearMiss(
        fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...TYPES) }, primitive),
        fc.oneof({ weight: 5, arbitrary: fc.constant(1) }, primitive, fc.constant(undefined)),
      ),
      checkOutcome,
    ),
    fuzz(4000),
  );
});

Deno.test({
  name: "fuzz: near-miss messages with any value in version and type never throw",
  fn() {
    const anything = fc.anything({ withNullPrototype: true, withBoxedValues: true });
    fc.assert(
      fc.property(
        nearMiss(
          fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...TYPES) }, anything),
          fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, anything),
        ),
        checkOutcome,
      ),
      fuzz(4000),
    );
  },
});

function structuredCloneOrSelf(x: unknown): unknown {
  try {
    return structuredClone(x);
  } catch {
    return x;
  }
}
