/**
 * The `discover` and `validate` commands: what discovery finds in a folder, and every problem in it as
 * `file:line:col: message`.
 *
 * @module
 */

import { isAbsolute, join, relative } from "node:path";
import semver from "semver";
import { discoverPlugins, type DiscoveryResult } from "./discovery.ts";
import { type Diagnostic, formatDiagnostic, ManifestError } from "./errors.ts";
import { startOrder } from "./graph.ts";
import { inspectPluginFolder, manifestFilesIn } from "./plugin_folder.ts";
import { locateKey, parseJsonc } from "./_jsonc.ts";
import { paintStatus, table } from "./_cli_output.ts";

const satisfies = semver.satisfies as (version: string, range: string) => boolean;

/** A folder shown relative to the plugins folder, unless it lies elsewhere (a symlinked plugin). */
const folderName = (root: string, dir: string): string => {
  const rel = relative(root, dir);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? dir : rel;
};

/** The problems behind a failed discovery result, each with its position when it has one. */
export function problemsOf(result: DiscoveryResult & { ok: false }): Diagnostic[] {
  return result.error instanceof ManifestError
    ? [...result.error.diagnostics]
    : [{ file: result.dir, message: result.error.message }];
}

/**
 * `discover DIR [--json]`: prints a table of id, version, folder and status, then every failure with its
 * reasons (or, with `json`, all of it as JSON). Returns the exit code: 1 when a plugin failed, else 0.
 *
 * @example
 * ```ts ignore
 * import { discoverCommand } from "./_cli_plugins.ts";
 * Deno.exitCode = await discoverCommand("plugins", { json: false });
 * ```
 */
export async function discoverCommand(dir: string, options: { readonly json: boolean }): Promise<number> {
  const results = await discoverPlugins(dir);
  const root = await Deno.realPath(dir);
  const failed = results.filter((r) => !r.ok);
  if (options.json) {
    console.log(JSON.stringify(
      results.map((r) =>
        r.ok
          ? {
            status: "ok",
            id: r.plugin.manifest.id,
            name: r.plugin.manifest.name,
            version: r.plugin.manifest.version,
            dir: r.dir,
            entry: r.plugin.entryPath,
            capabilities: r.plugin.manifest.capabilities,
            dependencies: r.plugin.manifest.dependencies,
          }
          : {
            status: "failed",
            id: r.id ?? null,
            dir: r.dir,
            error: { code: r.error.code, message: r.error.message, diagnostics: problemsOf(r) },
          }
      ),
      null,
      2,
    ));
    return failed.length > 0 ? 1 : 0;
  }
  if (results.length === 0) {
    console.log(`no plugins in ${dir}`);
    return 0;
  }
  const rows = results.map((r) =>
    r.ok
      ? [r.plugin.manifest.id, r.plugin.manifest.version, folderName(root, r.dir), "ok"]
      : [r.id ?? "-", "-", folderName(root, r.dir), "failed"]
  );
  console.log(table(["ID", "VERSION", "FOLDER", "STATUS"], rows, (i, s) => i === 3 ? paintStatus(s) : s));
  for (const r of failed) {
    console.log(`\n${paintStatus("failed")} ${folderName(root, r.dir)}:`);
    for (const d of problemsOf(r)) console.log(`  ${formatDiagnostic(d)}`);
  }
  return failed.length > 0 ? 1 : 0;
}

/**
 * `validate DIR`: checks every plugin folder in `DIR` (or `DIR` itself when it holds a manifest) — manifest,
 * entry, symlinks — and, for a folder of plugins, that every dependency is there in a version its range accepts
 * and that no dependency cycle exists. Prints each problem as `file:line:col: message`. Returns 1 on problems, else 0.
 *
 * @example
 * ```ts ignore
 * import { validateCommand } from "./_cli_plugins.ts";
 * Deno.exitCode = await validateCommand("plugins");
 * ```
 */
export async function validateCommand(dir: string): Promise<number> {
  // A plugin folder is checked alone (its dependencies live elsewhere); a folder of plugins as a whole.
  const single = (await manifestFilesIn(dir)).length > 0;
  let results: DiscoveryResult[];
  if (single) {
    const report = await inspectPluginFolder(dir);
    results = [
      report.ok ? { ok: true, dir, plugin: report.plugin } : { ok: false, dir, error: report.error },
    ];
  } else {
    results = await discoverPlugins(dir);
  }
  const problems = results.flatMap((r) => r.ok ? [] : problemsOf(r));
  if (!single) problems.push(...await dependencyProblems(results, dir));
  for (const d of problems) console.log(formatDiagnostic(d));
  const plugins = `${results.length} plugin${results.length === 1 ? "" : "s"}`;
  if (problems.length === 0) {
    console.log(`${paintStatus("ok")}: ${plugins} checked, no problems`);
    return 0;
  }
  console.log(`${problems.length} problem${problems.length === 1 ? "" : "s"} in ${plugins}`);
  return 1;
}

/** Dependencies that no plugin in the folder satisfies, and plugins on or behind a cycle. */
async function dependencyProblems(results: readonly DiscoveryResult[], dir: string): Promise<Diagnostic[]> {
  const base = await Deno.realPath(dir);
  const found = results.flatMap((r) => r.ok ? [r.plugin] : []);
  const known = new Set(results.flatMap((r) => r.ok ? [r.plugin.manifest.id] : r.id ? [r.id] : []));
  const versions = new Map(found.map((p) => [p.manifest.id, p.manifest.version]));
  const cyclic = new Set(
    startOrder(found.map((p) => ({ id: p.manifest.id, dependencies: Object.keys(p.manifest.dependencies) })))
      .cyclic,
  );
  const problems: Diagnostic[] = [];
  for (const p of found) {
    const deps = Object.entries(p.manifest.dependencies);
    if (deps.length === 0) continue;
    const text = await Deno.readTextFile(p.manifestPath);
    const { root } = parseJsonc(text, p.manifestPath);
    // Named like discovery names its files: under `dir` as given.
    const name = folderName(base, p.manifestPath);
    const file = isAbsolute(name) ? name : join(dir, name);
    const at = (key: string | undefined, message: string): Diagnostic => ({
      file,
      ...(key === undefined
        ? locateKey(root, [], "dependencies", text)
        : locateKey(root, ["dependencies"], key, text)),
      field: key === undefined ? "dependencies" : `dependencies.${key}`,
      message,
    });
    if (cyclic.has(p.manifest.id)) {
      problems.push(at(undefined, `"${p.manifest.id}" is on or behind a dependency cycle and cannot start`));
    }
    for (const [id, range] of deps) {
      const version = versions.get(id);
      if (!known.has(id)) problems.push(at(id, `no plugin "${id}" in this folder`));
      else if (version !== undefined && !satisfies(version, range)) {
        problems.push(at(id, `"${id}" is version ${version}, which does not satisfy "${range}"`));
      }
    }
  }
  return problems;
}
