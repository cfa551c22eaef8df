/**
 * Progress of long command-line work: a count rewritten in place on one line, only when stdout is a terminal
 * (piped output stays exactly the same), and erased before the results print.
 *
 * @module
 */

import { discoverPlugins, type DiscoveryResult } from "../discovery/discovery.ts";

/** A progress line. */
export interface Progress {
  /** Shows `label done/total`. */
  update(done: number, total: number): void;
  /** Erases the line, if it was shown. */
  clear(): void;
}

/**
 * A progress line on `out` (default stdout) when it is a terminal; a no-op otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { progressLine } from "./_progress.ts";
 * const written: string[] = [];
 * const terminal = {
 *   isTerminal: () => true,
 *   writeSync(p: Uint8Array) {
 *     written.push(new TextDecoder().decode(p));
 *     return p.length;
 *   },
 * };
 * const progress = progressLine("checked", terminal);
 * progress.update(1, 2);
 * progress.clear();
 * assert.deepEqual(written, ["\r\x1b[2Kchecked 1/2", "\r\x1b[2K"]);
 * // Not a terminal (piped stdout): nothing is written.
 * progressLine("checked", { ...terminal, isTerminal: () => false }).update(2, 2);
 * assert.equal(written.length, 2);
 * ```
 */
export function progressLine(
  label: string,
  out: { isTerminal(): boolean; writeSync(p: Uint8Array): number } = Deno.stdout,
): Progress {
  if (!out.isTerminal()) return { update: () => {}, clear: () => {} };
  const encoder = new TextEncoder();
  let shown = false;
  return {
    update(done, total) {
      out.writeSync(encoder.encode(`\r\x1b[2K${label} ${done}/${total}`));
      shown = true;
    },
    clear() {
      if (shown) out.writeSync(encoder.encode("\r\x1b[2K"));
      shown = false;
    },
  };
}

/**
 * `discoverPlugins(dir)` with a progress line counting the folders checked.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { discoverWithProgress } from "./_progress.ts";
 * const results = await discoverWithProgress("plugins");
 * assert.ok(results.some((r) => r.ok && r.plugin.manifest.id === "hello.world"));
 * ```
 */
export async function discoverWithProgress(dir: string): Promise<DiscoveryResult[]> {
  const progress = progressLine(`checking ${dir}:`);
  try {
    return await discoverPlugins(dir, { onProgress: (done, total) => progress.update(done, total) });
  } finally {
    progress.clear();
  }
}
