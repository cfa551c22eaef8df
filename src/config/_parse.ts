/**
 * JSONC reading for the host configuration: syntax errors with positions, a locator from a key path (as
 * written) to its line and column, and the case-folding of keys that mimics .NET's configuration binder
 * while remembering how every key was written.
 *
 * @module
 */

import type { Node } from "../_npm/jsonc_parser.ts";
import { ConfigError } from "../errors.ts";
import { offsetToLineColumn, parseJsonc as readJsonc, type Position } from "../_common/jsonc.ts";

export type { Position };

/** One step of a path into a JSON value. */
export type Segment = string | number;

/** Finds where the value (or its key) at a path as written sits in the source text. */
export type Locator = (path: readonly Segment[], at: "key" | "value") => Position | undefined;

/** The value of a JSONC document and a locator into its text. */
export interface ParsedJsonc {
  readonly value: unknown;
  readonly locate: Locator;
}

/** Like jsonc-parser's findNodeAtLocation, but the last of repeated keys wins, as it does in the value. */
function nodeAt(root: Node, path: readonly Segment[]): Node | undefined {
  let node: Node | undefined = root;
  for (const segment of path) {
    if (node === undefined) return undefined;
    if (typeof segment === "number") {
      node = node.type === "array" ? node.children?.[segment] : undefined;
      continue;
    }
    if (node.type !== "object") return undefined;
    const property: Node | undefined = node.children?.findLast((p) => p.children?.[0]?.value === segment);
    node = property?.children?.[1];
  }
  return node;
}

/**
 * Parses JSONC text as every reader of the host does (src/_common/jsonc.ts: one wording, one rule for a
 * byte-order mark and for depth). Throws a {@linkcode ConfigError} listing every syntax error with its line
 * and column.
 */
export function parseJsonc(text: string, file: string): ParsedJsonc {
  const { value, root, diagnostics } = readJsonc(text, file);
  if (diagnostics.length > 0) throw new ConfigError(diagnostics);
  if (root === undefined) throw new ConfigError([{ file, line: 1, column: 1, message: "the file is empty" }]);
  const locate: Locator = (path, at) => {
    const node = nodeAt(root, path);
    if (node === undefined) return undefined;
    const keyNode = at === "key" && node.parent?.type === "property" ? node.parent.children?.[0] : undefined;
    return offsetToLineColumn(text, (keyNode ?? node).offset);
  };
  return { value, locate };
}

/** A value whose keys were lowercased, with the way back to the keys as written. */
export interface Lowered {
  /** The value with lowercased keys (except under paths kept as written); null-valued keys dropped. */
  readonly value: unknown;
  /** Normalized path (see {@linkcode pathKey}) to the path as written. */
  readonly original: ReadonlyMap<string, readonly Segment[]>;
  /** Paths as written of keys that repeat an earlier key when case is ignored (the later one wins). */
  readonly duplicates: readonly (readonly Segment[])[];
}

/** The map key of a normalized path. */
export const pathKey = (path: readonly Segment[]): string => JSON.stringify(path);

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Lowercases every object key, as .NET's binder matches keys without regard to case. Keys set to `null` are
 * dropped (the binder treats them as unset). Below a path for which `keepCase` is true, the value is copied
 * untouched: plugin settings are the plugin's own data.
 */
export function lowerKeys(input: unknown, keepCase: (path: readonly Segment[]) => boolean): Lowered {
  const original = new Map<string, readonly Segment[]>();
  const duplicates: Segment[][] = [];
  const walk = (value: unknown, norm: Segment[], orig: Segment[]): unknown => {
    original.set(pathKey(norm), orig);
    if (keepCase(norm)) return value;
    if (Array.isArray(value)) return value.map((item, i) => walk(item, [...norm, i], [...orig, i]));
    if (!isRecord(value)) return value;
    const out = new Map<string, unknown>();
    for (const [key, item] of Object.entries(value)) {
      // `__proto__` could only ever set a prototype; null means "unset" to the .NET binder.
      if (key === "__proto__" || item === null || item === undefined) continue;
      const lower = key.toLowerCase();
      if (out.has(lower)) duplicates.push([...orig, key]);
      out.delete(lower);
      out.set(lower, walk(item, [...norm, lower], [...orig, key]));
    }
    return Object.fromEntries(out);
  };
  const value = walk(input, [], []);
  return { value, original, duplicates };
}
