// A log record's properties, bounded. Both sides use it: the runtime before it sends a record, and the host
// again on receipt (it trusts no plugin to have done so): a plugin can send any cloneable value (deep, huge,
// sparse, shared memory). Builtins are taken at load: in a plugin's thread the plugin may replace them later.

/** Bounds of a record's properties: past them values are cut, never the whole record refused. */
const MAX_KEYS = 64;
const MAX_KEY = 128;
const MAX_DEPTH = 4;
const MAX_STRING = 4096;
const MAX_NODES = 512;
/** Characters of text, and bytes of binary, over all of a record's properties. */
const MAX_TOTAL = 32 * 1024;
const MAX_BINARY = 1024;

const defineProperty = Object.defineProperty;
const getPrototypeOf = Object.getPrototypeOf;
const hasOwn = Object.hasOwn;
const isArray = Array.isArray;
const isView = ArrayBuffer.isView;
const mathMin = Math.min, mathMax = Math.max, floor = Math.floor;
const ObjectProto = Object.prototype;
const Str = String;

/** How a value that has no bounded copy (a function, a class instance...) is described. */
export type Describe = (value: unknown) => string;

interface Budget {
  nodes: number;
  total: number;
  readonly describe: Describe;
}

const cut = (text: string, max: number, b: Budget): string => {
  const room = mathMax(0, mathMin(max, MAX_TOTAL - b.total));
  b.total += mathMin(text.length, room);
  return text.length <= room ? text : `${text.slice(0, room)}…`;
};

/** Sets `key` as an own data property: `__proto__` stays an ordinary key, never a prototype. */
function put(target: object, key: string, value: unknown): void {
  defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

/** At most MAX_BINARY bytes, copied into a plain ArrayBuffer (shared memory never stays shared). */
function binary(v: ArrayBufferLike | ArrayBufferView, b: Budget): unknown {
  const bytes = isView(v)
    ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
    : new Uint8Array(v as ArrayBufferLike);
  const n = mathMin(bytes.byteLength, MAX_BINARY, mathMax(0, MAX_TOTAL - b.total));
  b.total += n;
  const copy = new ArrayBuffer(n);
  new Uint8Array(copy).set(bytes.subarray(0, n));
  if (!isView(v)) return copy;
  if (v instanceof DataView) return new DataView(copy);
  const View = v.constructor as new (b: ArrayBuffer, offset: number, length: number) => unknown;
  const per = (v as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  return new View(copy, 0, floor(n / per));
}

function bound(v: unknown, depth: number, b: Budget): unknown {
  if (typeof v === "string") return cut(v, MAX_STRING, b);
  if (typeof v === "function" || typeof v === "symbol") return cut(b.describe(v), MAX_STRING, b);
  if (typeof v !== "object" || v === null) return v;
  if (++b.nodes > MAX_NODES || depth >= MAX_DEPTH) return "[…]";
  if (v instanceof ArrayBuffer || v instanceof SharedArrayBuffer || isView(v)) {
    return binary(v, b);
  }
  if (v instanceof Date) return new Date(v.getTime());
  if (v instanceof Error) {
    const e = new Error(cut(Str(v.message), MAX_STRING, b));
    e.name = cut(Str(v.name), MAX_KEY, b);
    e.stack = typeof v.stack === "string" ? cut(v.stack, MAX_STRING, b) : undefined;
    return e;
  }
  if (isArray(v)) {
    const out: unknown[] = [];
    // By index up to MAX_KEYS only: a sparse array may claim a length of billions.
    for (let i = 0; i < mathMin(v.length, MAX_KEYS); i++) out.push(bound(v[i], depth + 1, b));
    if (v.length > MAX_KEYS) out.push(`… ${v.length - MAX_KEYS} more`);
    return out;
  }
  if (v instanceof Map) {
    const out = new Map<unknown, unknown>();
    for (const [k, x] of v) {
      if (out.size >= MAX_KEYS) break;
      out.set(bound(k, depth + 1, b), bound(x, depth + 1, b));
    }
    return out;
  }
  if (v instanceof Set) {
    const out = new Set<unknown>();
    for (const x of v) {
      if (out.size >= MAX_KEYS) break;
      out.add(bound(x, depth + 1, b));
    }
    return out;
  }
  const proto = getPrototypeOf(v);
  if (proto !== ObjectProto && proto !== null) return cut(b.describe(v), MAX_STRING, b); // a RegExp, a Memory...
  return record(v as Record<string, unknown>, depth, b);
}

function record(v: Record<string, unknown>, depth: number, b: Budget): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const k in v) {
    if (!hasOwn(v, k)) continue;
    if (++n > MAX_KEYS) break;
    put(out, cut(k, MAX_KEY, b), bound(v[k], depth + 1, b));
  }
  return out;
}

/**
 * A plugin's log properties, bounded: at most 64 keys an object (keys cut to 128 characters), 4 levels deep,
 * 512 objects, strings cut to 4 KiB and 32 KiB of text and binary in all; binary cut to 1 KiB and copied
 * (shared memory never stays shared). Deeper or bigger parts are cut, not the record refused.
 */
export function boundLogProperties(
  properties: Readonly<Record<string, unknown>>,
  describe: Describe = (v) => `[${typeof v}]`,
): Record<string, unknown> {
  return record(properties as Record<string, unknown>, -1, { nodes: 0, total: 0, describe });
}

/** One property value, bounded as {@linkcode boundLogProperties} bounds each. */
export function boundLogValue(value: unknown, describe: Describe): unknown {
  return bound(value, 0, { nodes: 0, total: 0, describe });
}
