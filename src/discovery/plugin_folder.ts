/**
 * The checks on a plugin folder that must pass before any of its code loads: one manifest, an entry module
 * inside the folder, no symlink pointing out of it and no file with more than one hard link.
 *
 * @module
 */

import { NAMED_LINKS } from "../permissions/grant_links.ts";
import { basename, join, resolve } from "node:path";
import { type Diagnostic, ManifestError } from "../errors.ts";
import { MAX_SCANNED_ENTRIES, symlinksUnder } from "../_common/symlinks.ts";
import { within } from "../_common/paths.ts";
import { analyzeManifest, MANIFEST_FILES, type PluginManifest, show } from "../manifest/manifest.ts";
import type { Position } from "../_common/jsonc.ts";

/** A plugin folder whose manifest, entry and symlinks passed every check. */
export interface DiscoveredPlugin {
  /** The folder, as a real (symlink-free, absolute) path. */
  readonly dir: string;
  /** The manifest file, as an absolute path inside `dir`. */
  readonly manifestPath: string;
  /** The entry module, as a real absolute path inside `dir`. */
  readonly entryPath: string;
  /** The validated manifest. */
  readonly manifest: PluginManifest;
}

// Where each checked plugin's manifest declares its id, for messages about its identity (duplicates, pins);
// kept beside the plugin rather than in it, so that DiscoveredPlugin keeps its shape.
const idPositions = new WeakMap<DiscoveredPlugin, Position>();

/**
 * A diagnostic at the plugin's manifest `id` (for messages about its identity: duplicates, pins).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDiagnostic } from "../errors.ts";
 * import { atId, loadPluginFolder } from "./plugin_folder.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/plugin.jsonc`, '{ "id": "hello", "name": "Hello", "version": "1.0.0" }');
 * await Deno.writeTextFile(`${dir}/mod.ts`, "export default {};");
 * const plugin = await loadPluginFolder(dir);
 * const where = formatDiagnostic(atId(plugin, "is pinned elsewhere"));
 * assert.equal(where, `${plugin.manifestPath}:1:9: "id": is pinned elsewhere`); // line 1, column 9: the id
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function atId(plugin: DiscoveredPlugin, message: string): Diagnostic {
  return { file: plugin.manifestPath, ...idPositions.get(plugin), field: "id", message };
}

/** The outcome of {@linkcode inspectPluginFolder}: the plugin, or the error with the id when it is known. */
export type PluginFolderReport =
  | { readonly ok: true; readonly plugin: DiscoveredPlugin }
  | { readonly ok: false; readonly id?: string; readonly error: ManifestError };

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * The manifest files present in `dir`, in order of preference (empty when there is none or `dir` is not a
 * readable folder).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { manifestFilesIn } from "./plugin_folder.ts";
 * assert.deepEqual(await manifestFilesIn("plugins/hello"), ["plugin.jsonc"]);
 * assert.deepEqual(await manifestFilesIn("src"), []); // not a plugin folder
 * ```
 */
export async function manifestFilesIn(dir: string): Promise<string[]> {
  const present: string[] = [];
  for (const name of MANIFEST_FILES) {
    const info = await Deno.stat(join(dir, name)).catch(() => undefined);
    if (info?.isFile) present.push(name);
  }
  return present;
}

/**
 * Checks a plugin folder like {@linkcode loadPluginFolder} but reports instead of throwing, and keeps the
 * plugin's id when the manifest declares a valid one even though something else is wrong.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inspectPluginFolder } from "./plugin_folder.ts";
 * assert.ok((await inspectPluginFolder("plugins/hello")).ok);
 *
 * // A manifest whose entry is missing: the report still names the plugin.
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/plugin.jsonc`, '{ "id": "hello", "name": "Hello", "version": "1.0.0" }');
 * const report = await inspectPluginFolder(dir);
 * assert.ok(!report.ok);
 * assert.equal(report.id, "hello");
 * assert.match(report.error.message, /"entry": "mod.ts" does not exist/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function inspectPluginFolder(dir: string): Promise<PluginFolderReport> {
  const fail = (label: string, diagnostics: Diagnostic[], id?: string): PluginFolderReport => ({
    ok: false,
    ...(id === undefined ? {} : { id }),
    error: new ManifestError(label, diagnostics),
  });
  const folder = basename(resolve(dir));
  let realDir: string;
  try {
    realDir = await Deno.realPath(dir);
    if (!(await Deno.stat(realDir)).isDirectory) {
      return fail(folder, [{ file: dir, message: "is not a folder" }]);
    }
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "does not exist" : `cannot be opened: ${errorText(e)}`;
    return fail(folder, [{ file: dir, message: `the plugin folder ${why}` }]);
  }
  const present = await manifestFilesIn(realDir);
  if (present.length === 0) {
    return fail(folder, [{ file: dir, message: `has no ${MANIFEST_FILES.join(" or ")}` }]);
  }
  const diagnostics: Diagnostic[] = [];
  if (present.length > 1) {
    // Two manifests that may disagree: refuse rather than silently pick one.
    diagnostics.push({
      file: join(dir, present[1]),
      message: `${present[0]} exists too; keep only one manifest`,
    });
  }
  const file = join(dir, present[0]);
  let text: string;
  try {
    text = await Deno.readTextFile(join(realDir, present[0]));
  } catch (e) {
    return fail(folder, [...diagnostics, { file, message: `cannot read: ${errorText(e)}` }]);
  }
  const analysis = analyzeManifest(text, file);
  diagnostics.push(...analysis.diagnostics);
  let entryPath: string | undefined;
  const entry = analysis.manifest?.entry;
  if (entry !== undefined) {
    const problem = (message: string): Diagnostic => ({
      file,
      ...analysis.entryPosition,
      field: "entry",
      message,
    });
    try {
      entryPath = await Deno.realPath(join(realDir, entry));
      if (!within(entryPath, realDir)) {
        diagnostics.push(problem(`${show(entry)} resolves to "${entryPath}", outside the plugin folder`));
      } else if (!(await Deno.stat(entryPath)).isFile) {
        diagnostics.push(problem(`${show(entry)} is not a file`));
      }
    } catch (e) {
      diagnostics.push(
        problem(e instanceof Deno.errors.NotFound ? `${show(entry)} does not exist` : errorText(e)),
      );
    }
  }
  // The entry's own symlink (if any) was reported above with its position; do not report it twice.
  const reported = diagnostics.some((d) => d.field === "entry") && entry ? join(realDir, entry) : undefined;
  diagnostics.push(...await scanSymlinks(dir, realDir, reported));
  const label = analysis.id ?? folder;
  if (diagnostics.length > 0 || analysis.manifest === undefined || entryPath === undefined) {
    return fail(label, diagnostics, analysis.id);
  }
  const plugin: DiscoveredPlugin = {
    dir: realDir,
    manifestPath: join(realDir, present[0]),
    entryPath,
    manifest: analysis.manifest,
  };
  if (analysis.idPosition) idPositions.set(plugin, analysis.idPosition);
  return { ok: true, plugin };
}

/**
 * Finds every symlink in the plugin folder whose target is outside it, or missing, and every file with more than
 * one hard link. Deno's permission checks do not follow symlinks nor look at inodes, so such a link would let the
 * plugin read outside its folder through the read grant it holds on its own folder.
 */
async function scanSymlinks(dir: string, realDir: string, skip: string | undefined): Promise<Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  for await (const found of symlinksUnder(realDir)) {
    if (found.kind === "too-many") {
      diagnostics.push({
        file: dir,
        message:
          `has more than ${MAX_SCANNED_ENTRIES} files and folders; too many to check for symlinks and hard links`,
      });
    } else if (found.kind === "error") {
      diagnostics.push({ file: join(dir, found.rel), message: `cannot scan for symlinks: ${found.message}` });
    } else if (found.kind === "hardlink") {
      diagnostics.push({
        file: join(dir, found.rel),
        message:
          `"${found.rel}" has ${found.nlink} hard links; one may be a file outside the plugin folder ` +
          "(Deno checks paths, not files): make it a copy",
      });
    } else if (join(realDir, found.rel) === skip) {
      continue;
    } else if (found.target === undefined) {
      diagnostics.push({ file: join(dir, found.rel), message: `symlink "${found.rel}" points to nothing` });
    } else if (!within(found.target, realDir)) {
      diagnostics.push({
        file: join(dir, found.rel),
        message: `symlink "${found.rel}" points outside the plugin folder`,
      });
    }
  }
  // A folder may hold thousands: the first few by name, then how many more (not a 100 KB message).
  if (diagnostics.length <= NAMED_LINKS) return diagnostics;
  return [
    ...diagnostics.slice(0, NAMED_LINKS),
    { file: dir, message: `and ${diagnostics.length - NAMED_LINKS} more symlinks or hard links like these` },
  ];
}

/**
 * Reads and checks a plugin folder: its manifest (`plugin.jsonc`, else `plugin.json`), its entry module (which
 * must stay inside the folder, symlinks resolved) and every symlink in it.
 *
 * @throws {ManifestError} listing every problem found.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { loadPluginFolder } from "./plugin_folder.ts";
 * const plugin = await loadPluginFolder("plugins/hello");
 * assert.equal(plugin.manifest.id, "hello.world");
 * assert.equal(plugin.entryPath, join(plugin.dir, "mod.ts"));
 * await assert.rejects(loadPluginFolder("src"), { name: "ManifestError", code: "MANIFEST_INVALID" });
 * ```
 */
export async function loadPluginFolder(dir: string): Promise<DiscoveredPlugin> {
  const report = await inspectPluginFolder(dir);
  if (!report.ok) throw report.error;
  return report.plugin;
}
