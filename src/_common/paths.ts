// Path helpers shared by the host's modules (node:path and node:url, per the project's package mapping).
import { pathToFileURL } from "node:url";

/** A file URL for an absolute path. */
export function toFileUrl(path: string): string {
  return pathToFileURL(path).href;
}
