// Internal: the symlinks under a folder, with their real targets. Deno's permission checks look at the path a
// plugin asks for, not where a symlink in it leads, so a link inside a granted folder that points out of it
// would widen the grant: both the plugin folder check (plugin_folder.ts) and the granted-folder check
// (_grant_links.ts) walk folders with this.
import { isAbsolute, join, relative, sep } from "node:path";

/** How many files and folders one walk looks at, at most. */
export const MAX_SCANNED_ENTRIES = 10_000;

/** What a walk found: a symlink (target undefined when it leads nowhere), too many entries, or an error. */
export type SymlinkFinding =
  | { readonly kind: "link"; readonly rel: string; readonly target: string | undefined }
  | { readonly kind: "too-many" }
  | { readonly kind: "error"; readonly rel: string; readonly message: string };

/** Whether `path` is `dir` or inside it (both real, absolute paths). */
export function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** Walks `realDir` (a real path) depth-first; stops after {@linkcode MAX_SCANNED_ENTRIES} entries. */
export async function* symlinksUnder(realDir: string): AsyncGenerator<SymlinkFinding> {
  const pending = [""];
  let seen = 0;
  for (let rel = pending.pop(); rel !== undefined; rel = pending.pop()) {
    try {
      for await (const item of Deno.readDir(join(realDir, rel))) {
        if (++seen > MAX_SCANNED_ENTRIES) return yield { kind: "too-many" };
        const child = rel === "" ? item.name : join(rel, item.name);
        if (item.isDirectory) pending.push(child);
        if (!item.isSymlink) continue;
        const target = await Deno.realPath(join(realDir, child)).catch(() => undefined);
        yield { kind: "link", rel: child, target };
      }
    } catch (e) {
      yield { kind: "error", rel, message: e instanceof Error ? e.message : String(e) };
    }
  }
}
