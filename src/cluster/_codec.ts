// The bytes of one fleet message: a JSON header, then the bytes of every buffer it carries, so that a
// Float32Array crosses hosts as its bytes (no base64, no per-element JSON). Layout: "DC" 0x01, the header's
// length (u32, big-endian), the header (UTF-8 JSON), the buffers back to back. node:v8's serializer would carry
// more kinds of values but is a JS polyfill in Deno: 45 ms for 1 MB here, against one copy.
//
// In the header a buffer is `{ "\u0000": "buf", "t": kind, "o": offset, "n": bytes }`, undefined is
// `{ "\u0000": "undef" }`, a Date `{ "\u0000": "date", "v": ms }`, a BigInt `{ "\u0000": "big", "v": text }`.
// A value whose key is "\u0000" is refused rather than mistaken for one of those.
import { PluginHostError } from "../errors.ts";

const MAGIC = [0x44, 0x43, 0x01] as const;
// One of each, made once: constructing them is a good part of a small message's cost.
const UTF8 = new TextEncoder();
const UTF8_STRICT = new TextDecoder("utf-8", { fatal: true });
/** The third byte of a frame whose header is plain JSON (no tags, no buffers): decoded without a walk. */
const PLAIN = 0x02;
const TAG = "\u0000";
const VIEWS = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
} as const;
type ViewKind = keyof typeof VIEWS;
/** Deeper values are refused on both sides: a hostile header cannot make the decoder recurse without end. */
const MAX_DEPTH = 64;

const refuse = (why: string): never => {
  throw new PluginHostError("PROTOCOL_ERROR", why);
};
const cannot = (path: string, what: string): never => {
  const at = path === "" ? "the value" : path;
  throw new PluginHostError(
    "REMOTE_ERROR",
    `${at} is ${what}, which a call across hosts cannot carry (JSON values, Date, BigInt, undefined and ` +
      "buffers can)",
  );
};

/** Whether `v` is JSON as it stands: JSON.stringify gives what the walk below would, with nothing tagged. */
function plain(v: unknown, depth: number): boolean {
  if (v === null || typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v);
  if (typeof v !== "object" || depth > MAX_DEPTH) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (v[i] === undefined || !plain(v[i], depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k in v) {
    if (k === TAG || !Object.hasOwn(v, k)) return false;
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined && !plain(x, depth + 1)) return false;
  }
  return true;
}

/** Encodes `header` (JSON plus the kinds above) as one message's bytes. */
export function encodeFrame(header: unknown): Uint8Array {
  if (plain(header, 0)) { // the common case, a third of the walk's cost
    const text = JSON.stringify(header);
    const frame = new Uint8Array(7 + text.length * 3); // UTF-8 takes at most 3 bytes per UTF-16 unit
    const { written } = UTF8.encodeInto(text, frame.subarray(7));
    frame.set(MAGIC);
    frame[2] = PLAIN;
    new DataView(frame.buffer).setUint32(3, written);
    return frame.subarray(0, 7 + written);
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const walk = (v: unknown, path: string, depth: number): unknown => {
    if (depth > MAX_DEPTH) cannot(path, `nested deeper than ${MAX_DEPTH}`);
    if (v === null || typeof v === "string" || typeof v === "boolean") return v;
    if (typeof v === "number") return Number.isFinite(v) ? v : cannot(path, String(v));
    if (v === undefined) return { [TAG]: "undef" };
    if (typeof v === "bigint") return { [TAG]: "big", v: v.toString() };
    if (typeof v !== "object") return cannot(path, `a ${typeof v}`);
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
      const bytes = v instanceof ArrayBuffer
        ? new Uint8Array(v)
        : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      const kind = v instanceof ArrayBuffer ? "ArrayBuffer" : v.constructor.name;
      if (kind !== "ArrayBuffer" && !Object.hasOwn(VIEWS, kind)) cannot(path, `a ${kind}`);
      chunks.push(bytes);
      const ref = { [TAG]: "buf", t: kind, o: offset, n: bytes.byteLength };
      offset += bytes.byteLength;
      return ref;
    }
    if (v instanceof Date) return { [TAG]: "date", v: v.getTime() };
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}[${i}]`, depth + 1));
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      cannot(path, `a ${proto?.constructor?.name ?? "object"}`);
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === TAG) cannot(`${path}.${k}`, "a reserved key");
      if (x !== undefined) out[k] = walk(x, path === "" ? k : `${path}.${k}`, depth + 1); // as JSON drops it
    }
    return out;
  };
  const json = UTF8.encode(JSON.stringify(walk(header, "", 0)));
  const frame = new Uint8Array(7 + json.byteLength + offset);
  frame.set(MAGIC);
  new DataView(frame.buffer).setUint32(3, json.byteLength);
  frame.set(json, 7);
  let at = 7 + json.byteLength;
  for (const c of chunks) {
    frame.set(c, at);
    at += c.byteLength;
  }
  return frame;
}

/** Decodes a message's bytes; anything malformed is a PROTOCOL_ERROR saying what. */
export function decodeFrame(frame: Uint8Array): unknown {
  const kind = frame[2];
  if (
    frame.byteLength < 7 || frame[0] !== MAGIC[0] || frame[1] !== MAGIC[1] ||
    (kind !== MAGIC[2] && kind !== PLAIN)
  ) {
    refuse("not a fleet message (bad magic)");
  }
  const length = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(3);
  if (7 + length > frame.byteLength) refuse(`its header claims ${length} bytes; the message has fewer`);
  let header: unknown;
  try {
    header = JSON.parse(UTF8_STRICT.decode(frame.subarray(7, 7 + length)));
  } catch (e) {
    refuse(`its header is not JSON: ${e instanceof Error ? e.message : e}`);
  }
  // Plain JSON: JSON.parse's objects are the values ("__proto__" stays an own key, never a prototype). What a
  // sender marks plain but tags anyway stays data: an object with a "\u0000" key.
  if (kind === PLAIN) return header;
  const data = frame.subarray(7 + length);
  // In place: only a tagged object is replaced, through defineProperty (so "__proto__" too stays a plain key).
  const walk = (v: unknown, depth: number): unknown => {
    if (depth > MAX_DEPTH) refuse(`its header nests deeper than ${MAX_DEPTH}`);
    if (v === null || typeof v !== "object") return v;
    const o = v as Record<string, unknown>;
    if (!Array.isArray(o) && Object.hasOwn(o, TAG)) return tagged(o, data);
    for (const k of Object.keys(o)) {
      const x = o[k], y = walk(x, depth + 1);
      if (y !== x) {
        Object.defineProperty(o, k, { value: y, enumerable: true, writable: true, configurable: true });
      }
    }
    return o;
  };
  return walk(header, 0);
}

function tagged(o: Record<string, unknown>, data: Uint8Array): unknown {
  switch (o[TAG]) {
    case "undef":
      return undefined;
    case "date":
      return typeof o.v === "number" ? new Date(o.v) : refuse("a date without a number");
    case "big":
      return typeof o.v === "string" && /^-?\d{1,4096}$/.test(o.v)
        ? BigInt(o.v)
        : refuse("a malformed BigInt");
    case "buf": {
      const { t, o: at, n } = o;
      if (
        typeof at !== "number" || typeof n !== "number" || !Number.isSafeInteger(at) ||
        !Number.isSafeInteger(n)
      ) {
        return refuse("a buffer without a whole offset and length");
      }
      if (at < 0 || n < 0 || at + n > data.byteLength) {
        refuse(`a buffer at ${at}+${n} past the message's end`);
      }
      // A copy: the message's bytes are the client's (a Node Buffer, whose slice() would be a view of its pool).
      const copy = new Uint8Array(n);
      copy.set(data.subarray(at, at + n));
      const bytes = copy.buffer;
      if (t === "ArrayBuffer") return bytes;
      if (typeof t !== "string" || !Object.hasOwn(VIEWS, t)) {
        return refuse(`an unknown buffer kind ${JSON.stringify(t)}`);
      }
      const View = VIEWS[t as ViewKind] as unknown as new (b: ArrayBuffer) => unknown;
      const size = (VIEWS[t as ViewKind] as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
      if (n % size !== 0) refuse(`a ${t} of ${n} bytes, not a whole number of elements`);
      return new View(bytes);
    }
    default:
      return refuse(`an unknown tag ${JSON.stringify(o[TAG])}`);
  }
}
