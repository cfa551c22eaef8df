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
 * import { escapeControls } from "./_log_record.ts";
 * console.log(escapeControls("a\nb\x1b[31m")); // a\nb\x1b[31m (one line, no colour)
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
