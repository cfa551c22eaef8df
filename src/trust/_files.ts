/**
 * Internal: the files of a plugin folder as signatures see them — every regular file, by its relative path
 * with `/` separators, sorted by code unit; symlinks and special files refused — and their SHA-256 digests,
 * computed concurrently but bounded.
 *
 * @module
 */

import { join } from "node:path";

/** A plugin folder may hold this many files and folders; more is refused rather than hashed forever. */
export const MAX_SIGNED_ENTRIES = 10_000;

/** How many files of one folder are read and hashed at once. */
const HASH_CONCURRENCY = 8;

/**
 * Files up to this size are hashed synchronously with node:crypto (about 3 µs for a small file); larger ones
 * with WebCrypto, off the event loop. Each `crypto.subtle.digest` is a round trip through Deno's blocking thread
 * pool (about 20 µs however small the input): for 1,000 plugins of 5 small files that is 10-20% of the time.
 */
const SYNC_HASH_MAX_BYTES = 256 * 1024;
let createHash: typeof import("node:crypto").createHash | undefined;

/** One file and the SHA-256 of its bytes (lowercase hex). */
export interface FileDigest {
  /** Relative to the plugin folder, `/`-separated. */
  readonly path: string;
  /** SHA-256 of the file's bytes, lowercase hex. */
  readonly sha256: string;
}

/** What {@linkcode listFolder} found. */
export interface FolderListing {
  /** Regular files, relative and `/`-separated, sorted by code unit. */
  readonly files: readonly string[];
  /** Entries that may not be in a signed folder (symlinks, sockets...), with why. */
  readonly refused: readonly { readonly path: string; readonly why: string }[];
  /** Set when the folder could not be listed in full. */
  readonly error?: string;
}

/** Code-unit order: the same folder sorts the same everywhere. */
export const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Lists every regular file under `dir` except the top-level names in `skip`, refusing symlinks and special
 * files wherever they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listFolder } from "./_files.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/lib`);
 * for (const file of ["plugin.jsonc", "mod.ts", "lib/util.ts", "plugin.sig.json"]) {
 *   await Deno.writeTextFile(`${dir}/${file}`, "");
 * }
 * await Deno.symlink("/etc/hostname", `${dir}/link`);
 * const { files, refused } = await listFolder(dir, new Set(["plugin.sig.json"]));
 * assert.deepEqual(files, ["lib/util.ts", "mod.ts", "plugin.jsonc"]);
 * assert.deepEqual(refused, [{ path: "link", why: "is a symlink" }]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function listFolder(dir: string, skip: ReadonlySet<string>): Promise<FolderListing> {
  const files: string[] = [];
  const refused: { path: string; why: string }[] = [];
  const pending = [""];
  let seen = 0;
  for (let rel = pending.pop(); rel !== undefined; rel = pending.pop()) {
    try {
      for await (const item of Deno.readDir(rel === "" ? dir : join(dir, rel))) {
        if (++seen > MAX_SIGNED_ENTRIES) {
          return { files, refused, error: `holds more than ${MAX_SIGNED_ENTRIES} files and folders` };
        }
        const child = rel === "" ? item.name : `${rel}/${item.name}`;
        if (rel === "" && skip.has(item.name)) continue;
        if (item.isSymlink) refused.push({ path: child, why: "is a symlink" });
        else if (item.isDirectory) pending.push(child);
        else if (item.isFile) files.push(child);
        else refused.push({ path: child, why: "is not a regular file" });
      }
    } catch (e) {
      return { files, refused, error: `cannot list "${rel || "."}": ${e instanceof Error ? e.message : e}` };
    }
  }
  files.sort(byCodeUnit);
  refused.sort((a, b) => byCodeUnit(a.path, b.path));
  return { files, refused };
}

/**
 * The SHA-256 (lowercase hex) of a file's bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256File } from "./_files.ts";
 * const file = await Deno.makeTempFile();
 * await Deno.writeTextFile(file, "abc");
 * assert.equal(await sha256File(file), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
 * await Deno.remove(file);
 * ```
 */
export async function sha256File(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  if (bytes.length > SYNC_HASH_MAX_BYTES) return await sha256Hex(bytes);
  createHash ??= (await import("node:crypto")).createHash;
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * The SHA-256 of `bytes`, lowercase hex.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256Hex } from "./_files.ts";
 * assert.equal(
 *   await sha256Hex(new TextEncoder().encode("abc")),
 *   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
 * );
 * ```
 */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)).toHex();
}

/**
 * Hashes `paths` (relative to `dir`, `/`-separated) with at most a few reads pending at once; the result keeps
 * the order of `paths`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashFiles, sha256File } from "./_files.ts";
 * const digests = await hashFiles("plugins/hello", ["mod.ts", "plugin.jsonc"]);
 * assert.deepEqual(digests.map((d) => d.path), ["mod.ts", "plugin.jsonc"]); // in the order given
 * assert.equal(digests[0].sha256, await sha256File("plugins/hello/mod.ts"));
 * ```
 */
export async function hashFiles(dir: string, paths: readonly string[]): Promise<FileDigest[]> {
  const out: FileDigest[] = new Array(paths.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const i = next++;
      out[i] = { path: paths[i], sha256: await sha256File(join(dir, ...paths[i].split("/"))) };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(HASH_CONCURRENCY, paths.length)) }, worker));
  return out;
}
