// Walks a module graph by text (_import_scan.ts) and says which npm packages it imports, where, and which of
// its imports the text cannot settle. The host runs it on a plugin before spawning it; the runtime's import
// hook (_import_hook.ts) runs it on each module imported dynamically. Synchronous: the hook must be.
import { type ImportSite, lineCol, scanImports } from "./_import_scan.ts";

/** A place in a module. */
export interface ImportPlace {
  /** The module (a URL; `data:` URLs cut short). */
  readonly url: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly col: number;
}

/** An `npm:` import found in the graph. */
export interface NpmImport extends ImportPlace {
  /** The package name (`zod`, `@scope/name`). */
  readonly name: string;
  /** The specifier as written (escapes decoded). */
  readonly specifier: string;
}

/** What the text alone does not settle: the runtime's hook must judge it when it happens. */
export interface Unsettled extends ImportPlace {
  /** Why. */
  readonly reason: string;
}

/** What {@linkcode scanGraph} found. */
export interface GraphScan {
  readonly npm: NpmImport[];
  readonly unsettled: Unsettled[];
  /** `data:` and `blob:` URLs written literally in the code (the hook lets these, and only these, load). */
  readonly literals: Set<string>;
}

/** How {@linkcode scanGraph} reads and resolves. */
export interface GraphOptions {
  /** Resolves a bare or `scheme:` specifier as the import map does; throws when it cannot. */
  readonly resolve: (specifier: string) => string;
  /** The plugin folder (a path ending in the separator): a dynamic import elsewhere is not settled. */
  readonly folder: string;
  /** Folders the plugin can write: code there may change after the scan. */
  readonly writable: readonly string[];
  /** Modules not to look into (the package's own runtime, reached through the import map). */
  readonly trusted?: (url: string) => boolean;
  /** Scans one file (path); the default reads it now. Undefined when it cannot be read. */
  readonly scanFile?: (path: string) => FileScan | undefined;
}

/** One module's import sites, with their lines and columns. */
export type FileScan = readonly (ImportSite & { readonly line: number; readonly col: number })[];

/** Scans a module's text. */
export function scanText(text: string): FileScan {
  return scanImports(text).map((s) => ({ ...s, ...lineCol(text, s.at) }));
}

const NOT_CODE = /\.(json|jsonc|wasm)$/i;
const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;

function readScan(path: string): FileScan | undefined {
  if (NOT_CODE.test(path)) return [];
  try {
    return scanText(Deno.readTextFileSync(path));
  } catch {
    return undefined; // Deno refuses to load what cannot be read
  }
}

/** The package name of an `npm:` URL (`npm:@a/b@1/x` → `@a/b`). */
export function npmName(url: URL): string {
  let path = url.pathname;
  try {
    path = decodeURIComponent(path);
  } catch { /* keep it as written */ }
  path = path.replace(/^\/+/, "");
  const parts = path.split("/");
  const head = path.startsWith("@")
    ? `${parts[0]}/${(parts[1] ?? "").split("@")[0]}`
    : parts[0].split("@")[0];
  return head;
}

// Where a cached npm package lies once the import map has resolved a bare name to it: Deno's npm cache
// (`<DENO_DIR>/npm/<registry>/<name>/<version>/…`) or a node_modules folder.
const CACHED_NPM = /\/npm\/[^/]+\/((?:@[^/]+\/)?[^/@]+)\/\d[^/]*\//;
const NODE_MODULES = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)/;

/**
 * The npm package a resolved specifier loads, or undefined: `npm:` URLs, and files of a cached package that
 * a bare or `scheme:` specifier (never a relative one) was resolved to.
 */
export function npmPackage(specifier: string, target: URL): string | undefined {
  if (target.protocol === "npm:") return npmName(target);
  if (target.protocol !== "file:" || /^\.{0,2}\//.test(specifier)) return undefined;
  const path = decodeURIComponent(target.pathname);
  return CACHED_NPM.exec(path)?.[1] ?? NODE_MODULES.exec(path)?.[1];
}

/** Resolves `specifier` from `referrer` as Deno would; undefined when it cannot be resolved at all. */
export function resolveSpecifier(
  specifier: string,
  referrer: string,
  resolve: (specifier: string) => string,
): URL | undefined {
  try {
    if (/^\.{0,2}\//.test(specifier)) return new URL(specifier, referrer);
    // The import map first (it maps `node:process`, bare names, and may map URLs); as written otherwise.
    try {
      return new URL(resolve(specifier));
    } catch {
      return SCHEME.test(specifier.trim()) ? new URL(specifier) : undefined;
    }
  } catch {
    return undefined;
  }
}

/** The text of a `data:` URL. */
export function dataText(url: string): string | undefined {
  const comma = url.indexOf(",");
  if (comma === -1) return undefined;
  const meta = url.slice(5, comma);
  const body = url.slice(comma + 1);
  try {
    if (!/;base64$/i.test(meta)) return decodeURIComponent(body);
    const bytes = Uint8Array.from(atob(decodeURIComponent(body).replace(/\s/g, "")), (c) => c.charCodeAt(0));
    return new TextDecoder().decode(bytes);
  } catch {
    return undefined;
  }
}

const short = (url: string): string => url.length > 80 ? `${url.slice(0, 77)}...` : url;
const pathOf = (url: URL): string => decodeURIComponent(url.pathname).replace(/^\/([A-Za-z]:)/, "$1");
const inside = (path: string, folder: string): boolean => path.startsWith(folder);

/**
 * Scans the graph of `entry` (a URL): every module it imports statically, and those it imports dynamically by
 * a literal inside the plugin folder, `data:` modules included.
 */
export function scanGraph(entries: readonly string[], options: GraphOptions): GraphScan {
  const result: GraphScan = { npm: [], unsettled: [], literals: new Set() };
  const seen = new Set<string>();
  const scanFile = options.scanFile ?? readScan;
  const sep = options.folder.endsWith("\\") ? "\\" : "/";
  const writable = options.writable.map((w) => w.endsWith(sep) ? w : w + sep);
  const queue = [...entries];
  while (queue.length > 0) {
    const url = queue.pop()!;
    if (seen.has(url)) continue;
    seen.add(url);
    let sites: FileScan | undefined;
    if (url.startsWith("data:")) {
      const text = dataText(url);
      sites = text === undefined ? [] : scanText(text);
    } else if (url.startsWith("file:") && !options.trusted?.(url)) sites = scanFile(pathOf(new URL(url)));
    for (const site of sites ?? []) {
      const place = { url: short(url), line: site.line, col: site.col };
      if (site.specifier === undefined) {
        result.unsettled.push({
          ...place,
          reason: `a computed ${site.kind === "require" ? "require" : "import"}`,
        });
        continue;
      }
      const target = resolveSpecifier(site.specifier, url, options.resolve);
      if (!target) continue; // Deno cannot load it either
      const protocol = target.protocol;
      const npm = npmPackage(site.specifier, target);
      if (npm !== undefined) {
        result.npm.push({ ...place, name: npm, specifier: site.specifier });
      } else if (protocol === "data:") {
        result.literals.add(target.href);
        queue.push(target.href);
      } else if (protocol === "blob:") {
        result.literals.add(target.href);
        result.unsettled.push({ ...place, reason: "a blob: import" });
      } else if (protocol === "file:") {
        const path = pathOf(target);
        const fixed = inside(path, options.folder) && !writable.some((w) => inside(path, w));
        if (site.kind === "dynamic" && !fixed && !options.trusted?.(target.href)) {
          result.unsettled.push({ ...place, reason: `a dynamic import of ${short(target.href)}` });
        } else queue.push(target.href);
      }
    }
  }
  return result;
}

/** Per-file scans kept by path, size and mtime: a reload of unchanged files scans nothing again. */
export class ScanCache {
  readonly #files = new Map<string, { size: number; mtime: number; scan: FileScan }>();

  /** Scans `path`, or answers from the cache when it has not changed. */
  scan(path: string): FileScan | undefined {
    if (NOT_CODE.test(path)) return [];
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(path);
    } catch {
      return undefined;
    }
    const mtime = info.mtime?.getTime() ?? -1;
    const kept = this.#files.get(path);
    if (kept && kept.size === info.size && kept.mtime === mtime && mtime !== -1) return kept.scan;
    const scan = readScan(path);
    if (scan) this.#files.set(path, { size: info.size, mtime, scan });
    return scan;
  }
}
