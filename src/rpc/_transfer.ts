// Which buffers of a value move instead of being copied: every ArrayBuffer a few levels deep.

/**
 * Finds the ArrayBuffers in a value (a few levels deep) so they move instead of being copied.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { collectTransferables } from "@dotcompute/plugins";
 * const data = new Float32Array(4);
 * assert.deepEqual(collectTransferables([{ data }]), [data.buffer]);
 * assert.deepEqual(collectTransferables(["no", "buffers"]), []);
 * ```
 */
export function collectTransferables(
  value: unknown,
  depth = 3,
  found: Set<Transferable> = new Set(),
): Transferable[] {
  collect(value, depth, found);
  return found.size === 0 ? [] : [...found];
}

/** Hot path: small arguments hold no buffer, so nothing is allocated for them. */
function collect(value: unknown, depth: number, found: Set<Transferable>): void {
  if (typeof value !== "object" || value === null) return;
  if (value instanceof ArrayBuffer) {
    if (value.byteLength > 0) found.add(value);
  } else if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer && value.buffer.byteLength > 0) found.add(value.buffer);
  } else if (depth > 0 && found.size < 1000) {
    if (Array.isArray(value)) {
      const n = Math.min(value.length, 1000);
      for (let i = 0; i < n; i++) collect(value[i], depth - 1, found);
    } else if (value.constructor === Object) {
      let n = 0;
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        if (++n > 1000) break;
        collect((value as Record<string, unknown>)[key], depth - 1, found);
      }
    }
  }
}
