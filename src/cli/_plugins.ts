/**
 * The `discover` and `validate` commands: what discovery finds in a folder, and every problem in it as
 * `file:line:col: message`.
 *
 * @module
 */

import { isAbsolute, join, relative } from "node:path";
import type { DiscoveryResult } from "../discovery/discovery.ts";
import { type Diagnostic, formatDiagnostic, ManifestError } from "../errors.ts";
import { resolveDependencies } from "../deps/resolver.ts";
import { checkEntry } from "../discovery/entry_check.ts";
import semver from "../_npm/semver.ts";
import { inspectPluginFolder, manifestFilesIn } from "../discovery/plugin_folder.ts";
import { locateKey, parseJsonc } from "../_common/jsonc.ts";
import { paintStatus, table } from "./_output.ts";
import { discoverWithProgress } from "./_progress.ts";

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
 * ```ts
 * import assert from "node:assert/strict";
 * import { discoverCommand } from "./_plugins.ts";
 * assert.equal(await discoverCommand("plugins", { json: false }), 0); // prints the table
 * ```
 */
export async function discoverCommand(dir: string, options: { readonly json: boolean }): Promise<number> {
  const results = await discoverWithProgress(dir);
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
 * entry, symlinks — and, for a folder of plugins, resolves the dependencies as the host does: a missing one, one
 * outside its range, a cycle, or a dependency that itself fails is reported at the dependency, naming the chain. Prints each problem as `file:line:col: message` (with `json`, all of it as one JSON object:
 * `{ ok, plugins, problems }`). Returns 1 on problems, else 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateCommand } from "./_plugins.ts";
 * assert.equal(await validateCommand("plugins"), 0);
 * // A manifest without a version: 1, after printing "…/plugin.jsonc:1:1: …".
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/plugin.jsonc`, '{ "id": "broken", "name": "broken" }');
 * assert.equal(await validateCommand(dir), 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function validateCommand(
  dir: string,
  options: { readonly json?: boolean } = {},
): Promise<number> {
  // A plugin folder is checked alone (its dependencies live elsewhere); a folder of plugins as a whole.
  const single = (await manifestFilesIn(dir)).length > 0;
  let results: DiscoveryResult[];
  if (single) {
    const report = await inspectPluginFolder(dir);
    results = [
      report.ok ? { ok: true, dir, plugin: report.plugin } : { ok: false, dir, error: report.error },
    ];
  } else {
    results = await discoverWithProgress(dir);
  }
  const problems = results.flatMap((r) => r.ok ? [] : problemsOf(r));
  // Each entry loaded as the host loads it (a Worker granted nothing; nothing started), four at a time.
  const loaded = results.flatMap((r) => r.ok ? [r.plugin] : []);
  for (let i = 0; i < loaded.length; i += 4) {
    for (const found of await Promise.all(loaded.slice(i, i + 4).map((p) => checkEntry(p)))) {
      problems.push(...found);
    }
  }
  if (!single) problems.push(...await dependencyProblems(results, dir));
  if (options.json) {
    const list = problems.map((d) => ({ ...d, text: formatDiagnostic(d) }));
    console.log(
      JSON.stringify({ ok: problems.length === 0, plugins: results.length, problems: list }, null, 2),
    );
    return problems.length === 0 ? 0 : 1;
  }
  for (const d of problems) console.log(formatDiagnostic(d));
  const plugins = `${results.length} plugin${results.length === 1 ? "" : "s"}`;
  if (problems.length === 0) {
    console.log(`${paintStatus("ok")}: ${plugins} checked, no problems`);
    return 0;
  }
  console.log(`${problems.length} problem${problems.length === 1 ? "" : "s"} in ${plugins}`);
  return 1;
}

/**
 * The resolver's verdict on the folder: every plugin that could not start, at the dependency that fails it, with
 * the chain (`c needs storage.kv ^2.0.0, found 1.4.0`, `a → b → a`...).
 */
async function dependencyProblems(results: readonly DiscoveryResult[], dir: string): Promise<Diagnostic[]> {
  const base = await Deno.realPath(dir);
  const found = results.flatMap((r) => r.ok ? [r.plugin] : []);
  const resolution = resolveDependencies(found.map((p) => p.manifest));
  // What each id or capability is offered at, by every plugin found.
  const offered = new Map<string, string[]>();
  for (const { manifest: m } of found) {
    offered.set(m.id, [...(offered.get(m.id) ?? []), m.version]);
    for (const [name, version] of Object.entries(m.provides ?? {})) {
      offered.set(name, [...(offered.get(name) ?? []), version]);
    }
  }
  const problems: Diagnostic[] = [];
  for (const p of found) {
    // Every dependency that no plugin meets, not only the first the resolver stops at; then the resolver's
    // own verdict (a cycle, a dependency that itself cannot start) when none of those explains it.
    const reasons = new Map<string, string>();
    for (const [name, range] of Object.entries(p.manifest.dependencies)) {
      const versions = offered.get(name) ?? [];
      if (versions.length === 0) {
        reasons.set(name, `${p.manifest.id} needs ${name} ${range}, which no plugin in ${dir} provides`);
      } else if (!versions.some((v) => semver.satisfies(v, range, { includePrerelease: true }))) {
        reasons.set(name, `${p.manifest.id} needs ${name} ${range}, found ${versions.join(", ")}`);
      }
    }
    const failure = resolution.plugins.get(p.manifest.id)?.failure;
    if (failure && reasons.size === 0) reasons.set(failure.name, failure.reason);
    if (reasons.size === 0) continue;
    const text = await Deno.readTextFile(p.manifestPath);
    const { root } = parseJsonc(text, p.manifestPath);
    // Named like discovery names its files: under `dir` as given.
    const name = folderName(base, p.manifestPath);
    for (const [dep, message] of reasons) {
      problems.push({
        file: isAbsolute(name) ? name : join(dir, name),
        ...locateKey(root, ["dependencies"], dep, text),
        field: `dependencies.${dep}`,
        message,
      });
    }
  }
  return problems;
}
