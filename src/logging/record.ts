/**
 * Internal: what makes a log record print as exactly one line of the host's text output.
 *
 * @module
 */

// C0 controls, DEL and C1 controls: each one could end a line, move the cursor or colour the output.
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f]/g;
const NAMED: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b" };

/**
 * `text` with every C0 and C1 control character and DEL escaped (`\n`, `\r`, `\t`, `\x1b`, `\xNN`): printed,
 * it is exactly one line and sets no colour.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeControls } from "./record.ts";
 * assert.equal(escapeControls("a\nb\x1b[31m"), "a\\nb\\x1b[31m"); // one line, no colour
 * ```
 */
export function escapeControls(text: string): string {
  CONTROL.lastIndex = 0;
  if (!CONTROL.test(text)) return text;
  return text.replace(
    CONTROL,
    (c) => NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/**
 * `text` over several lines where it has them (a code frame, a stack), every other control character escaped,
 * and each line after the first indented four spaces: a host's records start at column 0, so no text of a
 * plugin's can print a line that reads as one of them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { indentLines } from "./record.ts";
 * assert.equal(indentLines("a\r\nb\x1b[31m"), "a\n    b\\x1b[31m");
 * ```
 */
export function indentLines(text: string): string {
  return text.split(/\r?\n/).map(escapeControls).join("\n    ");
}
