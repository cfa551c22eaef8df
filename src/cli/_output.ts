/**
 * Output helpers of the command line: colour (only on a terminal, never with NO_COLOR), tables, and the
 * LogTape console set-up.
 *
 * @module
 */

import {
  configure,
  getAnsiColorFormatter,
  getConsoleSink,
  getTextFormatter,
  type LogLevel,
  type LogRecord,
  type TextFormatterOptions,
} from "../_npm/logtape.ts";
import { escapeControls, indentLines } from "../logging/record.ts";
import { categoryName, jsonLine, type LogFormat, pluginOf, propertySuffix } from "../logging/format.ts";

/** A property's text after a record's message: one line, no colour. */
const inspectProperty = (v: unknown): string =>
  typeof v === "string" ? v : Deno.inspect(v, { colors: false, compact: true, breakLength: Infinity });

/** Whether output to `stream` may be coloured: it is a terminal and NO_COLOR is unset. */
export const colorFor = (stream: { isTerminal(): boolean }): boolean => stream.isTerminal() && !Deno.noColor;

const STDOUT_COLOR = colorFor(Deno.stdout);
const sgr = (open: number, close: number) => (text: string): string =>
  STDOUT_COLOR ? `\x1b[${open}m${text}\x1b[${close}m` : text;

/** Styles for stdout; each is the identity when stdout is not coloured. */
export const style = {
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
} as const;

/** Colours a state or status word: green when good, red when failed, yellow otherwise. */
export function paintStatus(word: string): string {
  if (word === "Running" || word === "ok") return style.green(word);
  if (word === "Failed" || word === "failed") return style.red(word);
  return style.yellow(word);
}

/**
 * Lays rows out in columns under a bold header; `paint` may colour a cell after padding (colour codes would
 * otherwise break the alignment).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { table } from "./_output.ts";
 * const lines = table(["ID", "STATE"], [["hello.world", "Running"]]).split("\n");
 * assert.equal(lines[1], "hello.world  Running"); // under a bold "ID           STATE"
 * ```
 */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  paint: (column: number, padded: string) => string = (_c, s) => s,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[], color: (i: number, s: string) => string): string =>
    cells.map((cell, i) => color(i, i === cells.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ");
  return [line(header, (_i, s) => style.bold(s)), ...rows.map((r) => line(r, paint))].join("\n");
}

/**
 * Sends LogTape records of the host and its plugins to stderr, one line each:
 * `2025-01-01 12:00:00.000 INF dotcompute.host: message`, and for a plugin's records
 * `2025-01-01 12:00:00.000 INF plugin [hello.world]: message key=value` (local time; the properties the message
 * does not name follow it; a message's further lines, a code frame's, indented four spaces), or with `format` "json" one JSON object a line (src/logging/format.ts).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getLogger, reset } from "@logtape/logtape";
 * import { configureLogging } from "./_output.ts";
 * await configureLogging("info", "json");
 * const lines: string[] = [];
 * const error = console.error;
 * console.error = (line: string) => lines.push(line); // what would go to stderr
 * getLogger(["dotcompute", "host"]).info("started {count} plugins", { count: 3 });
 * console.error = error;
 * await reset();
 * assert.equal(JSON.parse(lines[0]).message, "started 3 plugins");
 * ```
 */
export async function configureLogging(
  lowestLevel: LogLevel = "info",
  format: LogFormat = "text",
): Promise<void> {
  const options: TextFormatterOptions = {
    timestamp: "date-time",
    timeZone: null,
    level: "ABBR",
    category: (c) => categoryName(c),
    // A record sets no colour and starts the only line at column 0, whatever a plugin put in it: the message
    // is rendered here from its parts, its lines after the first indented and every other control character
    // (ESC, CR, C1...) escaped (src/logging/record.ts); properties stay on the line. The category is LogTape's to
    // sanitize (and the protocol lets a plugin's parts hold only [A-Za-z0-9_.:-]).
    sanitize: { sgr: "escape", newlines: "escape" },
    format: ({ timestamp, level, category, record }) => {
      const id = pluginOf(record);
      const tag = id === undefined ? "" : ` [${escapeControls(id)}]`;
      const message = record.message.map((part, i) =>
        i % 2 === 0 || typeof part === "string" ? String(part) : Deno.inspect(part, { colors: false })
      ).join("");
      return `${timestamp} ${level} ${category}${tag}: ${indentLines(message)}${
        propertySuffix(record, inspectProperty)
      }`;
    },
  };
  const formatter = format === "json"
    ? (record: LogRecord): string => `${jsonLine(record)}\n`
    : colorFor(Deno.stderr)
    ? getAnsiColorFormatter(options)
    : getTextFormatter(options);
  await configure({
    reset: true,
    sinks: {
      // Every level to console.error: stderr, so that stdout carries only the command's own output.
      console: getConsoleSink({
        formatter,
        levelMap: {
          trace: "error",
          debug: "error",
          info: "error",
          warning: "error",
          error: "error",
          fatal: "error",
        },
      }),
    },
    loggers: [
      { category: ["dotcompute"], sinks: ["console"], lowestLevel },
      { category: ["logtape", "meta"], sinks: ["console"], lowestLevel: "warning" },
    ],
  });
}
