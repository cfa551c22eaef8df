// The fleet's message codec (src/cluster/_codec.ts): every kind it carries comes back as itself, plain JSON
// takes the fast path, "__proto__" stays a plain key on both paths, and malformed frames are refused.
import assert from "node:assert/strict";
import { decodeFrame, encodeFrame } from "../src/cluster/_codec.ts";

Deno.test("codec: values round-trip; plain JSON is marked plain; __proto__ stays data", () => {
  const plain = { a: [1, "x", true, null], b: { c: 2 }, skipped: undefined };
  const frame = encodeFrame(plain);
  assert.equal(frame[2], 0x02);
  assert.deepEqual(decodeFrame(frame), { a: [1, "x", true, null], b: { c: 2 } });
  const rich = {
    f: new Float32Array([1.5, 2]),
    d: new Date(5),
    n: 10n,
    u: [undefined],
    deep: { buf: new Uint8Array([7]) },
  };
  const back = decodeFrame(encodeFrame(rich)) as typeof rich;
  assert.equal(encodeFrame(rich)[2], 0x01);
  assert.ok(back.f instanceof Float32Array && back.f[0] === 1.5);
  assert.deepEqual([back.d.getTime(), back.n, back.u, [...back.deep.buf]], [5, 10n, [undefined], [7]]);
  for (const kind of [0x01, 0x02]) {
    const json = new TextEncoder().encode('{"__proto__":{"polluted":true},"x":[{"\\u0000":"undef"}]}');
    const f = new Uint8Array(7 + json.length);
    f.set([0x44, 0x43, kind]);
    new DataView(f.buffer).setUint32(3, json.length);
    f.set(json, 7);
    const v = decodeFrame(f) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.ok(Object.hasOwn(v, "__proto__"));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    // Tagged only in a tagged frame; in a plain one the object is data.
    assert.deepEqual((v.x as unknown[])[0], kind === 0x01 ? undefined : { "\u0000": "undef" });
  }
});

Deno.test("codec: malformed frames are refused with what is wrong", () => {
  assert.throws(() => decodeFrame(new Uint8Array([1, 2, 3])), /bad magic/);
  assert.throws(() => decodeFrame(new Uint8Array([0x44, 0x43, 0x09, 0, 0, 0, 0])), /bad magic/);
  const f = encodeFrame({ a: 1 });
  new DataView(f.buffer).setUint32(3, 1000);
  assert.throws(() => decodeFrame(f), /claims 1000 bytes/);
  let deep: unknown = { "\u0000": "undef" };
  for (let i = 0; i < 100; i++) deep = [deep];
  const json = new TextEncoder().encode(JSON.stringify(deep));
  const d = new Uint8Array(7 + json.length);
  d.set([0x44, 0x43, 0x01]);
  new DataView(d.buffer).setUint32(3, json.length);
  d.set(json, 7);
  assert.throws(() => decodeFrame(d), /nests deeper than 64/);
  assert.throws(() => encodeFrame({ m: new Map() }), /m is a Map/);
});
