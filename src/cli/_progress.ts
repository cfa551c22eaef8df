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
 * import { progressLine } from "./_progress.ts";
 * const progress = progressLine("checked");
 * progress.update(1, 2);
 * progress.clear();
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
 * ```ts ignore
 * import { discoverWithProgress } from "./_progress.ts";
 * const results = await discoverWithProgress("plugins");
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
