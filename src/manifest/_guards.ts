// Internal: the manifest checks against values made to confuse the host rather than to describe a plugin. A key
// named like a property of Object.prototype ("__proto__", "constructor", "hasOwnProperty"...) can change or shadow
// what a plain object lookup finds, so none is allowed anywhere in a manifest; an id or dependency that is such a
// name is refused by isPrototypeName; a grant must be a plain path, not something that decodes into another one.
import type { Diagnostic } from "../errors.ts";
import { type Node, offsetToLineColumn } from "../_common/jsonc.ts";

/** Whether `name` is a property of `Object.prototype` (`constructor`, `__proto__`, `toString`...). */
export const isPrototypeName = (name: string): boolean => Object.hasOwn(Object.prototype, name);

/** Every object key in the tree that {@linkcode isPrototypeName}, located at the key. */
export function prototypeKeys(root: Node | undefined, text: string, file: string): Diagnostic[] {
  const found: Diagnostic[] = [];
  // Iterative, and the text's nesting is bounded before parsing anyway (src/_common/jsonc.ts MAX_NESTING).
  const pending: { node: Node; path: string[] }[] = root ? [{ node: root, path: [] }] : [];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const { node, path } = item;
    if (node.type === "array") {
      node.children?.forEach((child, i) => pending.push({ node: child, path: [...path, String(i)] }));
      continue;
    }
    if (node.type !== "object") continue;
    for (const property of node.children ?? []) {
      const [keyNode, valueNode] = property.children ?? [];
      if (keyNode === undefined) continue;
      const key = String(keyNode.value);
      if (isPrototypeName(key)) {
        found.push({
          file,
          ...offsetToLineColumn(text, keyNode.offset),
          field: [...path, key].join("."),
          message: `the key "${key}" is a name of Object.prototype and is not allowed in a manifest`,
        });
      } else if (valueNode !== undefined) pending.push({ node: valueNode, path: [...path, key] });
    }
  }
  return found.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

/**
 * Why a `permissions.read`/`write` entry is not a plain path (undefined when it is). A URL with a host, a
 * percent-encoded `/`, `\`, `.` or NUL (a file: URL decodes them into other paths), a NUL byte (C strings end
 * there) and schemes other than `file:` are refused; the host resolves what is left against the plugin folder.
 */
export function grantPathProblem(grant: string): string | undefined {
  if (grant.includes("\0")) return "must not contain a NUL byte";
  if (/%(2f|5c|2e|00)/i.test(grant)) {
    return `${JSON.stringify(grant)} holds a percent-encoded "/", "\\", "." or NUL; write the plain path`;
  }
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(grant)?.[1].toLowerCase();
  if (scheme === undefined) return undefined;
  if (scheme !== "file") return `${JSON.stringify(grant)} is not a local path (a ${scheme}: URL)`;
  const host = /^file:\/\/([^/]*)/i.exec(grant)?.[1];
  if (host !== undefined && host !== "" && host.toLowerCase() !== "localhost") {
    return `${JSON.stringify(grant)} names the host "${host}"; a file: URL must have none`;
  }
  try {
    new URL(grant);
  } catch {
    return `${JSON.stringify(grant)} is not a valid file: URL`;
  }
  return undefined;
}
