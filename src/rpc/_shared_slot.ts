// The layout both sides use for the shared-memory call slot: one call at a time, its request and its answer
// as JSON in a SharedArrayBuffer, and Atomics.waitAsync/notify instead of postMessage (which costs Deno about
// 18 µs of CPU per message, measured). Only values JSON carries exactly take this path.

/** Size of the shared buffer. */
export const SLOT_BYTES = 64 * 1024;
/**
 * Int32 indexes of the header. POSTED: how many messages the worker had posted when it answered; the host
 * holds the answer back until it has received that many, so an answer never overtakes what was posted before.
 */
export const REQ_SEQ = 0, RES_SEQ = 1, REQ_LEN = 2, RES_LEN = 3, RES_KIND = 4, POSTED = 5;
/** What the answer area holds: a result, an error, or nothing (the answer went by postMessage). */
export const RES_RESULT = 0, RES_ERROR = 1, RES_POSTED = 2;
/** Byte offset of the request area; the answer area follows it. */
export const DATA = 64;
/** Bytes of each area. */
export const AREA = (SLOT_BYTES - DATA) / 2;

/** The host's own values hold no Proxy a plugin made (what crosses from a plugin arrives structured-cloned). */
const notProxy = (): boolean => false;

/**
 * Whether JSON carries `value` exactly as structured clone would: finite numbers (not -0), strings, booleans,
 * null, dense arrays and plain objects of those, a few levels deep and a bounded count. `isProxy` tells a
 * Proxy (the runtime's is Deno's core one: a plugin's result may be one).
 */
export function jsonExact(
  value: unknown,
  isProxy: (v: object) => boolean = notProxy,
  depth = 0,
  budget = { nodes: 0 },
): boolean {
  if (++budget.nodes > 500 || depth > 8) return false;
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0);
    case "object": {
      if (value === null) return true;
      // JSON reads a Proxy through its traps, where a structured clone refuses it: never the same answer.
      if (isProxy(value)) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!(i in value) || !jsonExact(value[i], isProxy, depth + 1, budget)) return false;
        }
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in value) {
        if (
          key === "__proto__" ||
          !jsonExact((value as Record<string, unknown>)[key], isProxy, depth + 1, budget)
        ) {
          return false;
        }
      }
      // Symbol keys and non-enumerable properties are dropped by both, so they need no check.
      return true;
    }
    default:
      return false;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Writes `text` at `offset` (within one area); the byte count, or -1 when it does not fit. */
export function writeText(bytes: Uint8Array, offset: number, text: string): number {
  // A UTF-16 unit takes at most 3 UTF-8 bytes: a text that may not fit is not tried.
  if (text.length * 3 > AREA) return -1;
  return encoder.encodeInto(text, bytes.subarray(offset, offset + AREA)).written;
}

/** Reads `length` bytes at `offset` as text, copied out of the shared memory first. */
export function readText(bytes: Uint8Array, offset: number, length: number): string {
  return decoder.decode(bytes.slice(offset, offset + length));
}
