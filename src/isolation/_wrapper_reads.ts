// The files of the node:* wrappers (src/runtime/_node_wrappers.ts) as paths: the runtime does not link them, so
// each plugin, in either tier, may read these files (the package's own source, nothing else) to load one.
import { fileURLToPath } from "node:url";
import { NODE_WRAPPERS } from "../runtime/_node_wrappers.ts";

/** Paths every plugin may read: the wrappers' files, where the package is a local copy (else none). */
export const WRAPPER_READS: readonly string[] = Object.values(NODE_WRAPPERS)
  .map((href) => new URL(href))
  .filter((url) => url.protocol === "file:")
  .map((url) => fileURLToPath(url));
