/**
 * Internal: the host's check of a plugin's imports before it starts. Deno fetches and loads `npm:` packages
 * whatever the plugin's Worker (or `deno run` child) may do, so the host reads the plugin's module graph
 * (src/runtime/_import_graph.ts) and refuses the start over any npm package outside its effective `npm`
 * permission, naming the file, line and column. What the text cannot settle (a computed import, a module the
 * plugin can write) is left to the runtime's import hook, which the answer asks for.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { ScanCache, scanGraph } from "../runtime/_import_graph.ts";
import type { EffectivePermissions } from "../permissions/permissions.ts";

const cache = new ScanCache();
// The package's own modules (the plugin API, the node:* wrappers the import map sends plugins to); not the
// files that stand for its npm dependencies (src/_npm/), which a plugin's bare "zod" may reach: they are
// scanned, so such an import is named as the npm package it is.
const OWN = new URL("../", import.meta.url).href;
const NPM = new URL("../_npm/", import.meta.url).href;
const resolve = (specifier: string): string => import.meta.resolve(specifier);

/** What {@linkcode checkImports} decided. */
export interface ImportCheck {
  /** One message per npm import not allowed, `file:line:col` first. */
  readonly problems: readonly string[];
  /** The runtime must install its import hook: the graph has imports only it can judge. */
  readonly importHook: boolean;
}

/** Checks the graph of `entryUrl` (a file URL) of the plugin `id` in `folder` against `permissions`. */
export function checkImports(
  id: string,
  entryUrl: string,
  folder: string,
  permissions: EffectivePermissions,
): ImportCheck {
  const sep = folder.includes("\\") && !folder.includes("/") ? "\\" : "/";
  const graph = scanGraph([entryUrl], {
    resolve,
    folder: folder.endsWith(sep) ? folder : folder + sep,
    writable: permissions.write,
    trusted: (url) => url.startsWith(OWN) && !url.startsWith(NPM),
    scanFile: (path) => cache.scan(path),
  });
  const allowed = new Set(permissions.npm ?? []);
  const problems = graph.npm.filter((n) => !allowed.has(n.name)).map((n) => {
    const where = n.url.startsWith("file:") ? fileURLToPath(n.url) : n.url;
    return `${where}:${n.line}:${n.col}: imports npm package "${n.name}", which the plugin is not allowed: ` +
      `list it in the manifest's permissions.npm and in PluginSecurity.${id}.AllowedNpmPackages`;
  });
  return { problems, importHook: graph.unsettled.length > 0 };
}
