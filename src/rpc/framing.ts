/**
 * The process tier's wire format: each message is a 4-byte big-endian length followed by that many bytes of
 * V8 serialization (`node:v8`'s base `Serializer`, the format `structuredClone` uses: typed arrays, Maps, Sets,
 * Dates, BigInts, Errors, shared and cyclic references). Buffers cross as copies, never transferred: the sender
 * keeps its own, the receiver gets a fresh one (a typed array keeps its offset within a copy of its whole
 * buffer, as with `structuredClone`).
 *
 * Both ends use it: the host in `src/isolation/process_tier.ts`, the plugin's process in
 * `src/runtime/process_main.ts`.
 *
 * @module
 */

import { Deserializer, Serializer } from "node:v8";

/**
 * The largest frame either side accepts (512 MiB); a longer length prefix is a protocol error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_FRAME_BYTES } from "./framing.ts";
 * assert.equal(MAX_FRAME_BYTES, 512 * 2 ** 20); // 512 MiB
 * ```
 */
export const MAX_FRAME_BYTES: number = 512 * 1024 * 1024;

/**
 * A stream that cannot be read any further: a bad length prefix or bytes that do not deserialize.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FrameDecoder, FramingError } from "./framing.ts";
 * const decoder = new FrameDecoder();
 * decoder.push(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
 * assert.ok(decoder.error instanceof FramingError);
 * ```
 */
export class FramingError extends Error {
  /** Says what was wrong with the stream. */
  constructor(message: string) {
    super(message);
    this.name = "FramingError";
  }
}

/**
 * Serializes `message` into one frame. Throws a `DataCloneError` `DOMException` for a value that cannot be
 * cloned (a function, a symbol...), as `postMessage` would.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeFrame } from "./framing.ts";
 * const frame = encodeFrame({ v: 1, t: "ready", methods: [] });
 * assert.equal(new DataView(frame.buffer).getUint32(0), frame.length - 4); // a 4-byte length, then the body
 * ```
 */
export function encodeFrame(message: unknown): Uint8Array<ArrayBuffer> {
  let body: Uint8Array;
  try {
    const serializer = new Serializer();
    serializer.writeHeader();
    serializer.writeValue(message);
    body = serializer.releaseBuffer();
  } catch (e) {
    throw new DOMException(e instanceof Error ? e.message : String(e), "DataCloneError");
  }
  if (body.length > MAX_FRAME_BYTES) {
    throw new DOMException(
      `the message is ${body.length} bytes; at most ${MAX_FRAME_BYTES} cross a process boundary`,
      "DataCloneError",
    );
  }
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, 4);
  return frame;
}

/** Deserializes one frame body. */
function decodeBody(body: Uint8Array): unknown {
  try {
    const deserializer = new Deserializer(body);
    deserializer.readHeader();
    return deserializer.readValue();
  } catch (e) {
    throw new FramingError(`a frame did not deserialize: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Reassembles frames from the chunks of a byte stream, whatever their boundaries.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeFrame, FrameDecoder } from "./framing.ts";
 * const frame = encodeFrame({ hello: new Float32Array([1, 2]) });
 * const decoder = new FrameDecoder();
 * assert.deepEqual(decoder.push(frame.subarray(0, 3)), []); // not a whole frame yet
 * assert.deepEqual(decoder.push(frame.subarray(3)), [{ hello: new Float32Array([1, 2]) }]);
 * decoder.push(new Uint8Array([0, 0, 0, 0]));
 * assert.equal(decoder.error?.message, "bad frame length 0 (1 to 536870912 bytes)");
 * ```
 */
export class FrameDecoder {
  readonly #header = new Uint8Array(4);
  #headerFill = 0;
  #body: Uint8Array | undefined;
  #bodyFill = 0;
  #broken: FramingError | undefined;

  /**
   * Takes the next chunk; returns the messages it completed. When the stream turns out unreadable, returns the
   * messages completed before that point and sets {@linkcode FrameDecoder.error}; later chunks yield nothing.
   */
  push(chunk: Uint8Array): unknown[] {
    const out: unknown[] = [];
    if (this.#broken) return out;
    let at = 0;
    try {
      while (at < chunk.length) {
        if (!this.#body) {
          const take = Math.min(4 - this.#headerFill, chunk.length - at);
          this.#header.set(chunk.subarray(at, at + take), this.#headerFill);
          this.#headerFill += take;
          at += take;
          if (this.#headerFill < 4) break;
          const length = new DataView(this.#header.buffer).getUint32(0);
          if (length === 0 || length > MAX_FRAME_BYTES) {
            throw new FramingError(`bad frame length ${length} (1 to ${MAX_FRAME_BYTES} bytes)`);
          }
          this.#body = new Uint8Array(length);
          this.#bodyFill = 0;
          this.#headerFill = 0;
        }
        const take = Math.min(this.#body.length - this.#bodyFill, chunk.length - at);
        this.#body.set(chunk.subarray(at, at + take), this.#bodyFill);
        this.#bodyFill += take;
        at += take;
        if (this.#bodyFill === this.#body.length) {
          const body = this.#body;
          this.#body = undefined;
          out.push(decodeBody(body));
        }
      }
    } catch (e) {
      this.#broken = e instanceof FramingError ? e : new FramingError(String(e));
    }
    return out;
  }

  /** Why the stream cannot be read any further, once it cannot. */
  get error(): FramingError | undefined {
    return this.#broken;
  }

  /** Whether the stream stopped in the middle of a frame. */
  get partial(): boolean {
    return this.#headerFill > 0 || this.#body !== undefined;
  }
}
