/**
 * Private helpers shared by the manifest and host-configuration loaders: JSONC parsing that keeps the syntax
 * tree (so that schema errors can be mapped back to a line and column).
 *
 * @module
 */

import {
  findNodeAtLocation,
  getNodeValue,
  type Node,
  parseTree,
  printParseErrorCode,
} from "../_npm/jsonc_parser.ts";
import type { ParseError } from "../_npm/jsonc_parser.ts";
import type { Diagnostic } from "../errors.ts";

export type { Node };

/** A 1-based position in a text. */
export interface Position {
  /** 1-based line. */
  readonly line: number;
  /** 1-based column, in UTF-16 code units. */
  readonly column: number;
}

/** What {@linkcode parseJsonc} returns. */
export interface JsoncResult {
  /** The parsed value; `undefined` for an empty document. Only trustworthy when `diagnostics` is empty. */
  readonly value: unknown;
  /** The syntax tree, for {@linkcode locate} and {@linkcode locateKey}. */
  readonly root: Node | undefined;
  /** Every syntax error, with its position. */
  readonly diagnostics: Diagnostic[];
}

// Readable wording for jsonc-parser's error codes; the code itself is kept in parentheses for searching.
const MESSAGES: Record<string, string> = {
  InvalidSymbol: "unexpected character",
  InvalidNumberFormat: "invalid number",
  PropertyNameExpected: "expected a property name",
  ValueExpected: "expected a value",
  ColonExpected: "expected ':'",
  CommaExpected: "expected ','",
  CloseBraceExpected: "expected '}'",
  CloseBracketExpected: "expected ']'",
  EndOfFileExpected: "expected the end of the file",
  InvalidCommentToken: "invalid comment",
  UnexpectedEndOfComment: "unterminated comment",
  UnexpectedEndOfString: "unterminated string",
  UnexpectedEndOfNumber: "unterminated number",
  InvalidUnicode: "invalid unicode escape",
  InvalidEscapeCharacter: "invalid escape character",
  InvalidCharacter: "invalid character in string",
};

/**
 * Converts a 0-based UTF-16 offset in `text` to a 1-based line and column. `\n`, `\r\n` and `\r` all end a
 * line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { offsetToLineColumn } from "./jsonc.ts";
 * assert.deepEqual(offsetToLineColumn("{\n  \"a\": 1\n}", 4), { line: 2, column: 3 });
 * ```
 */
export function offsetToLineColumn(text: string, offset: number): Position {
  const end = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/**
 * Parses JSONC (comments and trailing commas allowed) and collects every syntax error as a
 * {@linkcode Diagnostic} naming `file`, line and column. It never throws: callers decide which error to raise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseJsonc } from "./jsonc.ts";
 * const { value, diagnostics } = parseJsonc('{ "a": 1, // note\n}', "x.jsonc");
 * assert.deepEqual([value, diagnostics], [{ a: 1 }, []]);
 * assert.match(parseJsonc("{ 1 }", "x.jsonc").diagnostics[0].message, /syntax error: expected a property name/);
 * ```
 */
export function parseJsonc(text: string, file: string): JsoncResult {
  // jsonc-parser (and every walk after it) recurses per level: 100,000 "[" overflowed the stack of the whole
  // host. Refuse deep texts before parsing.
  const deep = tooDeepAt(text);
  if (deep !== undefined) {
    const message = `nested deeper than ${MAX_NESTING} levels of objects and arrays`;
    return {
      value: undefined,
      root: undefined,
      diagnostics: [{ file, ...offsetToLineColumn(text, deep), message }],
    };
  }
  const errors: ParseError[] = [];
  // A byte-order mark is not JSON; a space keeps every offset (and so every position) unchanged.
  const source = text.charCodeAt(0) === 0xfeff ? " " + text.slice(1) : text;
  const root = parseTree(source, errors, { allowTrailingComma: true, disallowComments: false });
  const diagnostics = errors.map((e): Diagnostic => {
    const code = printParseErrorCode(e.error);
    const message = MESSAGES[code] ? `syntax error: ${MESSAGES[code]} (${code})` : `syntax error: ${code}`;
    return { file, ...offsetToLineColumn(text, e.offset), message };
  });
  return { value: root === undefined ? undefined : plain(getNodeValue(root)), root, diagnostics };
}

/** How deeply objects and arrays may nest in a manifest or a host configuration. */
export const MAX_NESTING = 64;

/**
 * The offset of the first `[` or `{` nested deeper than `max` levels (strings and comments skipped), or
 * undefined. A linear scan without recursion, so any text can be judged.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tooDeepAt } from "./jsonc.ts";
 * assert.equal(tooDeepAt("[[[1]]]", 2), 2);
 * assert.equal(tooDeepAt('{"a": "[[[["}', 2), undefined);
 * ```
 */
export function tooDeepAt(text: string, max: number = MAX_NESTING): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) { // a string: skip to its closing quote
      for (i++; i < text.length && text.charCodeAt(i) !== 34; i++) if (text.charCodeAt(i) === 92) i++;
    } else if (c === 47 && text.charCodeAt(i + 1) === 47) { // a line comment
      while (i < text.length && text.charCodeAt(i) !== 10 && text.charCodeAt(i) !== 13) i++;
    } else if (c === 47 && text.charCodeAt(i + 1) === 42) { // a block comment
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 1;
    } else if (c === 91 || c === 123) {
      if (++depth > max) return i;
    } else if (c === 93 || c === 125) depth = Math.max(0, depth - 1);
  }
  return undefined;
}

// jsonc-parser builds objects without a prototype (so a "__proto__" key is harmless); rebuild them as ordinary
// objects with `Object.fromEntries`, which defines own properties and so stays just as harmless.
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
}

/**
 * The position of the value at `path` (a zod issue path). When that value is missing, the position of the
 * nearest enclosing value that exists (so a missing property points at its parent object).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { locate, parseJsonc } from "./jsonc.ts";
 * const text = '{\n  "a": { "b": 1 }\n}';
 * const { root } = parseJsonc(text, "x.jsonc");
 * assert.deepEqual(locate(root, ["a", "b"], text), { line: 2, column: 15 });
 * assert.deepEqual(locate(root, ["a", "c"], text), { line: 2, column: 8 }); // the object "a"
 * ```
 */
export function locate(
  root: Node | undefined,
  path: readonly PropertyKey[],
  text: string,
): Position | undefined {
  if (root === undefined) return undefined;
  const segments = path.filter((p): p is string | number => typeof p !== "symbol");
  for (let n = segments.length; n > 0; n--) {
    const node = findNodeAtLocation(root, segments.slice(0, n));
    if (node !== undefined) return offsetToLineColumn(text, node.offset);
  }
  return offsetToLineColumn(text, root.offset);
}

/**
 * The position of the property name `key` in the object at `objectPath`, or of that object when it has no such
 * property. Used for errors about a key itself (unknown keys, invalid record keys).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { locateKey, parseJsonc } from "./jsonc.ts";
 * const text = '{ "a": 1, "bb": 2 }';
 * const { root } = parseJsonc(text, "x.jsonc");
 * assert.deepEqual(locateKey(root, [], "bb", text), { line: 1, column: 11 });
 * ```
 */
export function locateKey(
  root: Node | undefined,
  objectPath: readonly PropertyKey[],
  key: string,
  text: string,
): Position | undefined {
  const segments = objectPath.filter((p): p is string | number => typeof p !== "symbol");
  const object = root === undefined ? undefined : findNodeAtLocation(root, segments);
  const property = object?.type === "object"
    ? object.children?.find((p) => p.children?.[0]?.value === key)
    : undefined;
  const keyNode = property?.children?.[0];
  return keyNode === undefined ? locate(root, objectPath, text) : offsetToLineColumn(text, keyNode.offset);
}

/**
 * Every property name that occurs more than once in the same object, with the position of each repeat. JSON
 * keeps only the last one, which silently hides the others; callers report these as errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { duplicateKeys, parseJsonc } from "./jsonc.ts";
 * const text = '{ "a": 1, "a": 2 }';
 * assert.deepEqual(duplicateKeys(parseJsonc(text, "x.jsonc").root, text), [{ path: ["a"], line: 1, column: 11 }]);
 * ```
 */
export function duplicateKeys(
  root: Node | undefined,
  text: string,
  sameKey: (a: string, b: string) => boolean = (a, b) => a === b,
): { path: (string | number)[]; line: number; column: number }[] {
  const found: { path: (string | number)[]; line: number; column: number }[] = [];
  const walk = (node: Node, path: (string | number)[]): void => {
    if (node.type === "object") {
      const seen: string[] = [];
      for (const property of node.children ?? []) {
        const [keyNode, valueNode] = property.children ?? [];
        if (keyNode === undefined) continue;
        const key = String(keyNode.value);
        if (seen.some((k) => sameKey(k, key))) {
          found.push({ path: [...path, key], ...offsetToLineColumn(text, keyNode.offset) });
        }
        seen.push(key);
        if (valueNode !== undefined) walk(valueNode, [...path, key]);
      }
    } else if (node.type === "array") {
      node.children?.forEach((child, i) => walk(child, [...path, i]));
    }
  };
  if (root !== undefined) walk(root, []);
  return found;
}
