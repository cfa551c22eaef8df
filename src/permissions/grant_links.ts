// Internal: a plugin starts only if no symlink inside a folder it is granted leads out of what it is granted.
// Deno checks the path a plugin asks for, not where a symlink in it leads: with AllowedPaths ["/data"] and a
// link /data/x -> /etc/secret, reading "/data/x" would read the secret. A link under a write grant must lead
// into a write grant; under a read grant, into a read grant (a write grant counts as read too). A regular file
// with more than one hard link refuses the start too: its other name may be a file outside every grant, and
// nothing tells which name is the file's "own".
import { join } from "node:path";
import { hardLinks, MAX_SCANNED_ENTRIES, symlinksUnder } from "../_common/symlinks.ts";
import { within } from "../_common/paths.ts";

/** The grants to check: absolute paths, as the permissions hold them. */
export interface Grants {
  readonly read: readonly string[];
  readonly write: readonly string[];
}

/** What the check found: problems refuse the start; `unchecked` names folders too big to walk to the end. */
export interface GrantLinkReport {
  readonly problems: readonly string[];
  readonly unchecked: readonly string[];
}

async function realDirs(paths: readonly string[]): Promise<string[]> {
  const real: string[] = [];
  for (const path of paths) {
    const r = await Deno.realPath(path).catch(() => undefined);
    if (r !== undefined) real.push(r);
  }
  return real;
}

/** Walks every granted folder (`skip`: folders already checked, like the plugin's own). */
export async function checkGrantLinks(
  grants: Grants,
  skip: readonly string[] = [],
): Promise<GrantLinkReport> {
  const write = await realDirs(grants.write);
  const read = [...await realDirs(grants.read), ...write];
  const problems: string[] = [], unchecked: string[] = [];
  const walked = new Set(await realDirs(skip));
  for (const [kind, roots, into] of [["write", write, write], ["read", read, read]] as const) {
    for (const root of roots) {
      if (walked.has(root)) continue;
      walked.add(root);
      const info = await Deno.stat(root).catch(() => undefined);
      if (info?.isFile) {
        // A granted file: a second name of it may be anywhere (and the grant's realPath already followed links).
        const nlink = await hardLinks(root);
        if (nlink > 1) problems.push(hardLinkProblem(root, kind, nlink));
      }
      if (!info?.isDirectory) continue;
      for await (const found of symlinksUnder(root)) {
        if (found.kind === "too-many") unchecked.push(`${root} (over ${MAX_SCANNED_ENTRIES} entries)`);
        else if (found.kind === "hardlink") {
          problems.push(hardLinkProblem(join(root, found.rel), kind, found.nlink));
        } else if (found.kind === "link" && !into.some((g) => found.target && within(found.target, g))) {
          const to = found.target === undefined ? "nowhere (a missing target)" : `"${found.target}"`;
          problems.push(
            `symlink "${
              join(root, found.rel)
            }" in a ${kind} grant leads to ${to}, outside the ${kind} grants`,
          );
        }
      }
    }
  }
  return { problems: firstFew(problems), unchecked };
}

/** How many link problems are named one by one; past it, a count (one grant may hold thousands). */
export const NAMED_LINKS = 5;

/** The first {@linkcode NAMED_LINKS} problems, and how many more there are. */
export function firstFew(problems: readonly string[]): string[] {
  if (problems.length <= NAMED_LINKS) return [...problems];
  return [...problems.slice(0, NAMED_LINKS), `and ${problems.length - NAMED_LINKS} more like these`];
}

const hardLinkProblem = (path: string, kind: string, nlink: number): string =>
  `file "${path}" in a ${kind} grant has ${nlink} hard links; one may be a file outside the grants ` +
  "(Deno checks paths, not files): make it a copy";
