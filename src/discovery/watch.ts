/**
 * Hot reload of plugins: watch the plugins folder recursively and report, per plugin folder, when its files
 * have settled. What a change means (swap, restart, add, remove) is the host's business.
 *
 * @module
 */

import { basename, extname, isAbsolute, join, relative, sep } from "node:path";
import { type DebouncedWatcher, watchDebounced } from "../_common/watch.ts";

/** Files whose change reloads a plugin: modules and manifests. Data files a plugin writes do not. */
const WATCHED = new Set([".ts", ".tsx", ".mts", ".js", ".jsx", ".mjs", ".json", ".jsonc"]);
/** Folders inside a plugin that never trigger a reload. */
const IGNORED = new Set([".git", "node_modules", "data"]);

/**
 * The plugin folder a changed path belongs to, or undefined when the change cannot matter: hidden files
 * (editor swap files), backups (`~`), `data/`, `node_modules/`, `.git/`, and files that are neither modules
 * nor manifests.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { pluginFolderOf } from "@dotcompute/plugins";
 * const dir = join("/srv", "plugins");
 * assert.equal(pluginFolderOf(dir, join(dir, "hello", "mod.ts")), join(dir, "hello"));
 * assert.equal(pluginFolderOf(dir, join(dir, "hello", ".mod.ts.swp")), undefined);
 * assert.equal(pluginFolderOf(dir, join(dir, "hello", "data", "db.json")), undefined);
 * ```
 */
export function pluginFolderOf(dir: string, path: string): string | undefined {
  const rel = relative(dir, path);
  if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) return undefined;
  const parts = rel.split(sep);
  if (parts.some((p) => p.startsWith(".") || IGNORED.has(p))) return undefined;
  const name = basename(path);
  if (name.endsWith("~")) return undefined;
  // A change to the folder itself (created, removed, renamed) always counts.
  if (parts.length > 1 && !WATCHED.has(extname(name))) return undefined;
  return join(dir, parts[0]);
}

/**
 * Watches `dir` recursively and calls `onFolder` once per plugin folder whose files have been quiet for
 * `delayMs` (debounced per folder by collecting events, never dropping them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { watchPluginFolders } from "./watch.ts";
 * const dir = await Deno.realPath(await Deno.makeTempDir());
 * const changed = Promise.withResolvers<string>();
 * const w = watchPluginFolders(dir, { delayMs: () => 50, onFolder: async (f) => changed.resolve(f) });
 * await Deno.mkdir(join(dir, "hello"));
 * await Deno.writeTextFile(join(dir, "hello", "mod.ts"), "export default {};");
 * assert.equal(await changed.promise, join(dir, "hello"));
 * await w.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function watchPluginFolders(
  dir: string,
  options: { readonly delayMs: () => number; readonly onFolder: (folder: string) => Promise<void> },
): DebouncedWatcher {
  return watchDebounced([dir], {
    recursive: true,
    delayMs: options.delayMs,
    keyOf: (path) => pluginFolderOf(dir, path),
    onBatch: (batch) => options.onFolder(batch.key),
  });
}
