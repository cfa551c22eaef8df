// The process tier's frames: V8 serialization behind a 4-byte length, reassembled from any chunking.
import assert from "node:assert/strict";
import { encodeFrame, FrameDecoder, FramingError, MAX_FRAME_BYTES } from "../src/rpc/framing.ts";

Deno.test("frames survive any chunking and keep structured-clone values", () => {
  const shared = new ArrayBuffer(16);
  const value = {
    f: new Float32Array([1.5, 2.5]),
    view: new Uint8Array(shared, 4, 4),
    same: new Uint8Array(shared, 8, 2),
    map: new Map<unknown, unknown>([[1, new Set(["a"])]]),
    error: new RangeError("r"),
    big: 2n ** 70n,
    date: new Date(5),
  };
  const bytes = new Uint8Array([...encodeFrame(value), ...encodeFrame("second")]);
  for (const size of [1, 3, 7, bytes.length]) {
    const decoder = new FrameDecoder();
    const out: unknown[] = [];
    for (let at = 0; at < bytes.length; at += size) out.push(...decoder.push(bytes.subarray(at, at + size)));
    assert.equal(decoder.error, undefined);
    assert.equal(decoder.partial, false);
    assert.equal(out.length, 2);
    const got = out[0] as typeof value;
    assert.deepEqual([...got.f], [1.5, 2.5]);
    // As with structuredClone: each view keeps its offset, two views still share one (copied) buffer.
    assert.equal(got.view.byteOffset, 4);
    assert.equal(got.view.buffer, got.same.buffer);
    assert.equal(got.view.buffer.byteLength, 16);
    assert.deepEqual(got.map, value.map);
    assert.ok(got.error instanceof RangeError);
    assert.equal(got.big, value.big);
    assert.equal(got.date.getTime(), 5);
    assert.equal(out[1], "second");
  }
});

Deno.test("a bad length or an unreadable body breaks the stream for good", () => {
  const zero = new FrameDecoder();
  assert.deepEqual(zero.push(new Uint8Array([0, 0, 0, 0, 1])), []);
  assert.ok(zero.error instanceof FramingError);
  assert.match(zero.error.message, /bad frame length 0/);
  assert.deepEqual(zero.push(encodeFrame("ignored")), []);

  const huge = new FrameDecoder();
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, MAX_FRAME_BYTES + 1);
  huge.push(length);
  assert.match(huge.error!.message, /bad frame length/);

  const garbage = new FrameDecoder();
  const good = encodeFrame({ ok: true });
  const got = garbage.push(new Uint8Array([...good, 0, 0, 0, 3, 1, 2, 3]));
  assert.deepEqual(got, [{ ok: true }], "messages before the bad frame are still delivered");
  assert.match(garbage.error!.message, /did not deserialize/);
});

Deno.test("a value that cannot be cloned throws DataCloneError at encoding", () => {
  assert.throws(
    () => encodeFrame({ f() {} }),
    (e: unknown) => e instanceof DOMException && e.name === "DataCloneError",
  );
});
