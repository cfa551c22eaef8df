/**
 * Finds the plugins in a folder: every immediate subfolder with a manifest is checked, concurrently, and
 * reported as found or failed. One bad plugin never hides the others.
 *
 * @module
 */

import { join } from "node:path";
import { formatDiagnostic, ManifestError, PluginHostError } from "../errors.ts";
import { atId, type DiscoveredPlugin, inspectPluginFolder, manifestFilesIn } from "./plugin_folder.ts";

/** Options for {@linkcode discoverPlugins}. */
export interface DiscoverOptions {
  /** How many plugin folders are checked at once (default 16). */
  readonly concurrency?: number;
  /**
   * A further check of each plugin that passed the folder checks (the host verifies signatures here); an error
   * it returns makes that plugin fail discovery with it.
   */
  readonly verify?: (plugin: DiscoveredPlugin) => Promise<PluginHostError | undefined>;
  /** Called each time a folder has been checked, with how many are done and how many there are (for progress). */
  readonly onProgress?: (done: number, total: number) => void;
}

/** What {@linkcode discoverPlugins} found in one plugin folder. */
export type DiscoveryResult =
  | {
    readonly ok: true;
    /** The plugin folder (its real path). */
    readonly dir: string;
    /** The checked plugin. */
    readonly plugin: DiscoveredPlugin;
  }
  | {
    readonly ok: false;
    /** The plugin folder (its real path when it has one). */
    readonly dir: string;
    /** The plugin's id, when its manifest declares a valid one. */
    readonly id?: string;
    /** Why the plugin cannot be used. */
    readonly error: ManifestError | PluginHostError;
  };

/**
 * Lists the plugins in `dir`: one result per immediate subfolder that holds a `plugin.jsonc` or `plugin.json`
 * (hidden folders, whose names start with ".", are skipped), sorted by folder name. When two or more folders
 * that pass their checks (and `verify`) declare the same id, every one of them fails with code `DUPLICATE_ID`,
 * each naming the others: folder order must not decide which gets the id (and its grants). A
 * `PluginSecurity.<id>.Folder` or `Signer` pin, checked by the host's `verify`, is how one of them is chosen.
 *
 * @throws {PluginHostError} with code `DISCOVERY_FAILED` when `dir` is not a readable folder.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { discoverPlugins } from "@dotcompute/plugins";
 * const dir = await Deno.makeTempDir();
 * for (const [name, manifest] of [["a", '{ "id": "a", "name": "A", "version": "1.0.0" }'], ["b", "{}"]]) {
 *   await Deno.mkdir(`${dir}/${name}`);
 *   await Deno.writeTextFile(`${dir}/${name}/plugin.jsonc`, manifest);
 *   await Deno.writeTextFile(`${dir}/${name}/mod.ts`, "export default {};");
 * }
 * const [a, b] = await discoverPlugins(dir);
 * assert.ok(a.ok && a.plugin.manifest.id === "a");
 * assert.ok(!b.ok); // the bad manifest fails alone
 * assert.match(b.error.message, /manifest has no "id"/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function discoverPlugins(
  dir: string,
  options: DiscoverOptions = {},
): Promise<DiscoveryResult[]> {
  let root: string;
  const names: string[] = [];
  try {
    root = await Deno.realPath(dir);
    for await (const entry of Deno.readDir(root)) {
      // Symlinked plugin folders are followed; the folder's own checks then run on its real path.
      if (!entry.name.startsWith(".") && (entry.isDirectory || entry.isSymlink)) names.push(entry.name);
    }
  } catch (e) {
    const reason = e instanceof Deno.errors.NotFound
      ? "does not exist"
      : e instanceof Deno.errors.NotADirectory
      ? "is not a folder"
      : `cannot be read (${e instanceof Error ? e.message : String(e)})`;
    throw new PluginHostError("DISCOVERY_FAILED", `The plugins folder "${dir}" ${reason}`, { cause: e });
  }
  // Code-unit order, not locale order: the same folder gives the same order everywhere.
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  const results = await mapConcurrently(
    names,
    options.concurrency ?? 16,
    async (name): Promise<DiscoveryResult | undefined> => {
      const path = join(root, name);
      try {
        return await inspectOne(dir, name, path, options.verify);
      } catch (e) {
        // The checks are meant never to throw; if one does, only this folder fails.
        const error = new ManifestError(name, [{
          file: path,
          message: `cannot be checked: ${errorText(e)}`,
        }]);
        return { ok: false, dir: path, error };
      }
    },
    options.onProgress,
  );
  return refuseDuplicates(results.filter((r) => r !== undefined));
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The result for one subfolder; undefined when it holds no manifest. */
async function inspectOne(
  dir: string,
  name: string,
  path: string,
  verify: DiscoverOptions["verify"],
): Promise<DiscoveryResult | undefined> {
  if ((await manifestFilesIn(path)).length === 0) return undefined;
  const report = await inspectPluginFolder(join(dir, name));
  if (report.ok) {
    const { dir: folder, manifest: { id } } = report.plugin;
    const error = await verify?.(report.plugin);
    return error ? { ok: false, dir: folder, id, error } : { ok: true, dir: folder, plugin: report.plugin };
  }
  const realDir = await Deno.realPath(path).catch(() => path);
  return {
    ok: false,
    dir: realDir,
    ...(report.id === undefined ? {} : { id: report.id }),
    error: report.error,
  };
}

/**
 * The error of a plugin folder whose id `others` (plugin folders that passed their checks) declare too: located
 * at its manifest's id, naming every folder.
 */
export function duplicateIdError(
  plugin: DiscoveredPlugin,
  others: readonly DiscoveredPlugin[],
  outcome = "so no folder gets the id or its grants",
): PluginHostError {
  const id = plugin.manifest.id;
  const where = (p: DiscoveredPlugin): string => {
    const at = atId(p, "");
    return at.line === undefined ? at.file : `${at.file}:${at.line}:${at.column}`;
  };
  const also = others.map((o) => `"${o.dir}" (${where(o)})`).join(", ");
  const message = formatDiagnostic(atId(
    plugin,
    `plugin id "${id}" of "${plugin.dir}" is declared by ${also} too, ${outcome}; ` +
      `remove one, or pin the id with PluginSecurity."${id}".Folder or .Signer`,
  ));
  return new PluginHostError("DUPLICATE_ID", message, { pluginId: id });
}

/** Every plugin whose id another passing folder declares too fails (all of them, not all but the first). */
function refuseDuplicates(results: readonly DiscoveryResult[]): DiscoveryResult[] {
  const claims = new Map<string, DiscoveredPlugin[]>();
  for (const r of results) {
    if (!r.ok) continue;
    const list = claims.get(r.plugin.manifest.id);
    if (list) list.push(r.plugin);
    else claims.set(r.plugin.manifest.id, [r.plugin]);
  }
  return results.map((r): DiscoveryResult => {
    if (!r.ok) return r;
    const all = claims.get(r.plugin.manifest.id)!;
    if (all.length === 1) return r;
    const error = duplicateIdError(r.plugin, all.filter((p) => p !== r.plugin));
    return { ok: false, dir: r.dir, id: r.plugin.manifest.id, error };
  });
}

/** `Promise.all(items.map(fn))` with at most `limit` calls pending at once; results keep the input order. */
async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
  onDone?: (done: number, total: number) => void,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
      onDone?.(++done, items.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
