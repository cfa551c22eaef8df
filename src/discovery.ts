/**
 * Finds the plugins in a folder: every immediate subfolder with a manifest is checked, concurrently, and
 * reported as found or failed. One bad plugin never hides the others.
 *
 * @module
 */

import { join } from "node:path";
import { type ManifestError, PluginHostError } from "./errors.ts";
import { type DiscoveredPlugin, inspectPluginFolder, manifestFilesIn } from "./plugin_folder.ts";

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
 * (hidden folders, whose names start with ".", are skipped), sorted by folder name. A folder whose id an
 * earlier folder already declared fails with code `DUPLICATE_ID`.
 *
 * @throws {PluginHostError} with code `DISCOVERY_FAILED` when `dir` is not a readable folder.
 * @example
 * ```ts
 * import { discoverPlugins } from "@dotcompute/plugins";
 * for (const result of await discoverPlugins("./plugins")) {
 *   if (result.ok) console.log(result.plugin.manifest.id);
 *   else console.error(result.error.message);
 * }
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
      if ((await manifestFilesIn(path)).length === 0) return undefined;
      const report = await inspectPluginFolder(join(dir, name));
      if (report.ok) {
        const { dir: folder, manifest: { id } } = report.plugin;
        const error = await options.verify?.(report.plugin);
        return error
          ? { ok: false, dir: folder, id, error }
          : { ok: true, dir: folder, plugin: report.plugin };
      }
      const realDir = await Deno.realPath(path).catch(() => path);
      return {
        ok: false,
        dir: realDir,
        ...(report.id === undefined ? {} : { id: report.id }),
        error: report.error,
      };
    },
    options.onProgress,
  );

  const firstFolder = new Map<string, string>();
  return results.filter((r) => r !== undefined).map((r): DiscoveryResult => {
    if (!r.ok) return r;
    const id = r.plugin.manifest.id;
    const first = firstFolder.get(id);
    if (first === undefined) {
      firstFolder.set(id, r.dir);
      return r;
    }
    const message = `Plugin id "${id}" in "${r.dir}" is already used by the plugin in "${first}"`;
    return {
      ok: false,
      dir: r.dir,
      id,
      error: new PluginHostError("DUPLICATE_ID", message, { pluginId: id }),
    };
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
