// Shared memory never crosses between a plugin and anyone else. postMessage shares a SharedArrayBuffer (and a
// view over one, and a shared WebAssembly.Memory) instead of copying it: a plugin that put one in a result, an
// argument or a log would then read and write the host's or another plugin's memory, racing its checks. The
// host replaces each one by a plain copy on receipt from a plugin and before it sends anything to one.
//
// Hot path: primitives return at once; a small value is walked once, recursively, with no allocation; only a
// big, deep or exotic value gets the full walk (iterative, so 100,000 levels cannot overflow the stack).

const SAB = SharedArrayBuffer;
const WasmMemory: (abstract new (...args: never[]) => { readonly buffer: ArrayBufferLike }) | undefined =
  (globalThis as {
    WebAssembly?: { Memory?: abstract new (...args: never[]) => { buffer: ArrayBufferLike } };
  })
    .WebAssembly?.Memory;
const hasOwn = Object.hasOwn;
const isView = ArrayBuffer.isView;
const defineProperty = Object.defineProperty;

const NONE = 0, FOUND = 1, UNSURE = 2;
/** The quick walk's bounds: past them the full walk decides. */
const QUICK_NODES = 256, QUICK_DEPTH = 16, QUICK_LENGTH = 4096;
/** Longer arrays are walked by their keys: a sparse one may claim a length of billions. */
const DENSE_LENGTH = 1 << 22;
let nodes = 0;

function isMemory(v: object): v is { readonly buffer: ArrayBufferLike } {
  return WasmMemory !== undefined && v instanceof WasmMemory;
}

/** Bounded, allocation-free: NONE, FOUND, or UNSURE (too big, too deep, or a Map, Set, Error...). */
function quick(v: unknown, depth: number): number {
  if (typeof v !== "object" || v === null) return NONE;
  if (++nodes > QUICK_NODES || depth > QUICK_DEPTH) return UNSURE;
  if (Array.isArray(v)) {
    if (v.length > QUICK_LENGTH) return UNSURE; // maybe sparse: the full walk visits only what is there
    for (let i = 0; i < v.length; i++) {
      const r = quick(v[i], depth + 1);
      if (r !== NONE) return r;
    }
    return NONE;
  }
  if (isView(v)) return v.buffer instanceof SAB ? FOUND : NONE;
  if (v instanceof ArrayBuffer || v instanceof Date || v instanceof RegExp) return NONE;
  if (v instanceof SAB) return FOUND;
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return UNSURE;
  for (const k in v) {
    if (!hasOwn(v, k)) continue;
    const r = quick((v as Record<string, unknown>)[k], depth + 1);
    if (r !== NONE) return r;
  }
  return NONE;
}

/** The children of `v` a structured clone carries, pushed on `stack`. */
function children(v: object, stack: unknown[]): void {
  if (Array.isArray(v) && v.length <= DENSE_LENGTH) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === "object" && x !== null) stack.push(x);
    }
  } else if (v instanceof Map) {
    for (const [k, x] of v) stack.push(k, x);
  } else if (v instanceof Set) {
    for (const x of v) stack.push(x);
  } else {
    if (v instanceof Error && hasOwn(v, "cause")) stack.push((v as { cause?: unknown }).cause);
    for (const k in v) {
      if (!hasOwn(v, k)) continue;
      const x = (v as Record<string, unknown>)[k];
      if (typeof x === "object" && x !== null) stack.push(x);
    }
  }
}

const sharedLeaf = (v: object): boolean =>
  v instanceof SAB || (isView(v) && v.buffer instanceof SAB) || isMemory(v);

/** Whether `value` holds shared memory anywhere in it. */
export function holdsShared(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  nodes = 0;
  const r = quick(value, 0);
  if (r !== UNSURE) return r === FOUND;
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== "object" || v === null || seen.has(v)) continue;
    seen.add(v);
    if (sharedLeaf(v)) return true;
    if (!isView(v) && !(v instanceof ArrayBuffer)) children(v, stack);
  }
  return false;
}

/** A plain copy of shared memory (a view keeps its type, offset and length, over a copy of its buffer). */
function copyOf(v: object, copies: Map<object, ArrayBuffer>): unknown {
  const buffer = v instanceof SAB ? v : isView(v) ? v.buffer : (v as { buffer: ArrayBufferLike }).buffer;
  let copy = copies.get(buffer);
  if (!copy) {
    copy = new ArrayBuffer(buffer.byteLength);
    new Uint8Array(copy).set(new Uint8Array(buffer));
    copies.set(buffer, copy);
  }
  if (!isView(v)) return copy; // a SharedArrayBuffer, or a shared WebAssembly.Memory: its bytes
  if (v instanceof DataView) return new DataView(copy, v.byteOffset, v.byteLength);
  const View = v.constructor as new (b: ArrayBuffer, offset: number, length: number) => unknown;
  return new View(copy, v.byteOffset, (v as unknown as { length: number }).length);
}

/**
 * Replaces, in place, every SharedArrayBuffer, view over one and shared WebAssembly.Memory in `value` by a plain
 * copy; returns `value` (or its copy, when `value` itself is shared). Only for a value nobody else holds: one
 * just received (a fresh structured clone).
 */
export function unshareOwned<T>(value: T): T {
  if (!holdsShared(value)) return value;
  const copies = new Map<object, ArrayBuffer>();
  const fix = (x: unknown): unknown =>
    typeof x === "object" && x !== null && sharedLeaf(x) ? copyOf(x, copies) : undefined;
  const top = fix(value);
  if (top !== undefined) return top as T;
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== "object" || v === null || seen.has(v) || isView(v) || v instanceof ArrayBuffer) continue;
    seen.add(v);
    if (v instanceof Map || v instanceof Set) {
      const entries = [...(v as Map<unknown, unknown>).entries()];
      if (entries.some(([k, x]) => fix(k) !== undefined || fix(x) !== undefined)) {
        v.clear();
        for (const [k, x] of entries) {
          if (v instanceof Map) v.set(fix(k) ?? k, fix(x) ?? x);
          else v.add(fix(k) ?? k);
        }
      }
      for (const x of v instanceof Map ? [...v.keys(), ...v.values()] : v) stack.push(x);
      continue;
    }
    const keys: string[] = [];
    for (const k in v) if (hasOwn(v, k)) keys.push(k);
    const enumerable = keys.length;
    if (v instanceof Error && hasOwn(v, "cause") && !keys.includes("cause")) keys.push("cause");
    for (let i = 0; i < keys.length; i++) {
      const x = (v as Record<string, unknown>)[keys[i]];
      const copy = fix(x);
      // defineProperty, not assignment: an own "__proto__" key stays a key.
      if (copy !== undefined) {
        defineProperty(v, keys[i], {
          value: copy,
          writable: true,
          enumerable: i < enumerable,
          configurable: true,
        });
      } else if (typeof x === "object" && x !== null) stack.push(x);
    }
  }
  return value;
}

/** `value` without shared memory, leaving the caller's own value untouched (copied only when it holds some). */
export function unshareCopy<T>(value: T): T {
  return holdsShared(value) ? unshareOwned(structuredClone(value)) : value;
}
