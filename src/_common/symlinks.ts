// Internal: the symlinks under a folder, with their real targets, and its files with more than one hard link.
// Deno's permission checks look at the path a plugin asks for, not where a symlink in it leads nor which file
// (inode) a name stands for, so a link inside a granted folder to a file outside would widen the grant: both
// the plugin folder check (src/discovery/plugin_folder.ts) and the granted-folder check (src/permissions/grant_links.ts) walk folders with
// this. A hard link cannot be told from the file's other names (none is the "real" one), so any regular file
// with more than one is reported.
import { join } from "node:path";

/** How many files and folders one walk looks at, at most. */
export const MAX_SCANNED_ENTRIES = 10_000;

/**
 * What a walk found: a symlink (target undefined when it leads nowhere), a regular file with `nlink` hard links
 * (more than one), too many entries, or an error.
 */
export type SymlinkFinding =
  | { readonly kind: "link"; readonly rel: string; readonly target: string | undefined }
  | { readonly kind: "hardlink"; readonly rel: string; readonly nlink: number }
  | { readonly kind: "too-many" }
  | { readonly kind: "error"; readonly rel: string; readonly message: string };

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
        if (item.isFile) {
          const nlink = await hardLinks(join(realDir, child));
          if (nlink > 1) yield { kind: "hardlink", rel: child, nlink };
        }
        if (!item.isSymlink) continue;
        const target = await Deno.realPath(join(realDir, child)).catch(() => undefined);
        yield { kind: "link", rel: child, target };
      }
    } catch (e) {
      yield { kind: "error", rel, message: e instanceof Error ? e.message : String(e) };
    }
  }
}

/** How many hard links the regular file at `path` has (1 when it is not a regular file or cannot be seen). */
export async function hardLinks(path: string): Promise<number> {
  const info = await Deno.lstat(path).catch(() => undefined);
  return info?.isFile ? info.nlink ?? 1 : 1;
}
