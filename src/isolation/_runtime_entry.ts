// Which module a direct worker starts: the runtime's one-file bundle (src/runtime/plugin_main.bundle.js, made
// by scripts/bundle_runtime.ts), or plugin_main.ts with its ~35 modules. The same code either way; the bundle
// costs a Worker about 1 MiB less (measured: BENCHMARKS.md, idle memory). Deno keeps every module's source with
// its inline source map in the isolate, and loading that much fills the young generation, whose first
// collection commits another half MiB; the minified bundle is a sixth of the size and stays under it.
//
// The bundle is used only while the sources it was made from are byte for byte the ones here: its header names
// them and their digest, checked once per process. A source changed since (a fix to the hardening, a mutation
// of the red-team check) makes the workers load the sources themselves, so a stale bundle never runs.
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";

/** The runtime's sources, as a worker loads them one by one. */
export const RUNTIME_SOURCE_URL: string = new URL("../runtime/plugin_main.ts", import.meta.url).href;
/** The bundle of the same, with its header. */
export const RUNTIME_BUNDLE_URL: string = new URL("../runtime/plugin_main.bundle.js", import.meta.url).href;
/** src/, which the header's paths are relative to. */
const SRC = new URL("../", import.meta.url);
/** The header line that names the sources: `// sources sha256=<hex> <path> <path> ...`. */
const SOURCES = /^\/\/ sources sha256=([0-9a-f]{64})((?: [\w./-]+)+)$/m;

/** The digest of `paths` (relative to src/) as they are now: each path and its bytes. */
export function sourcesDigest(paths: readonly string[], src: URL = SRC): string {
  const hash = createHash("sha256");
  for (const path of paths) {
    hash.update(`${path}\0`);
    hash.update(Deno.readFileSync(new URL(path, src)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

/** The bundle's header line for `paths` as they are now. */
export function sourcesLine(paths: readonly string[], src: URL = SRC): string {
  return `// sources sha256=${sourcesDigest(paths, src)} ${paths.join(" ")}`;
}

/** Whether the bundle at `bundle` was made from the sources under `src` as they are now. */
export function bundleIsFresh(bundle: URL = new URL(RUNTIME_BUNDLE_URL), src: URL = SRC): boolean {
  if (bundle.protocol !== "file:" || src.protocol !== "file:") return false; // cannot check: the sources
  try {
    const head = Deno.readTextFileSync(fileURLToPath(bundle)).slice(0, 8192).match(SOURCES);
    if (!head) return false;
    const paths = head[2].trim().split(" ");
    // Only files under src/: a header naming anything else is not ours.
    if (paths.some((p) => p.startsWith("/") || p.split("/").includes(".."))) return false;
    return sourcesDigest(paths, src) === head[1];
  } catch {
    return false; // missing, unreadable (no read permission on the package): the sources
  }
}

let chosen: string | undefined;

/** The module a direct worker starts (checked once per process). */
export function runtimeEntry(): string {
  return chosen ??= bundleIsFresh() ? RUNTIME_BUNDLE_URL : RUNTIME_SOURCE_URL;
}
