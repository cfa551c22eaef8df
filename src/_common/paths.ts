// Path rules shared by the host's modules (node:path and node:url, per the project's package mapping): one
// meaning of "inside" for grants, plugin folders, symlinks, approvals and diagnoses.
import { isAbsolute, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** A file URL for an absolute path. */
export function toFileUrl(path: string): string {
  return pathToFileURL(path).href;
}

/**
 * Whether `path` is `folder` or lies inside it, by whole path segments: "/data" does not hold "/database".
 * Both absolute; symlinks are not followed (a caller that needs real paths resolves them first).
 */
export function within(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** A manifest's path (`file:` URL, absolute, or relative to `base`) as an absolute path. */
export function toPath(p: string, base: string): string {
  return p.startsWith("file:") ? fileURLToPath(p) : resolve(base, p);
}
