// How `run` writes a log record (`--log-format`, `Plugins.Logging.Format`). Both formats write one line a
// record whatever a plugin put in it: text escapes every control character (src/logging/record.ts), JSON's
// string escaping does the same by itself. Text keeps the properties its message does not name, after it.
import type { LogRecord } from "../_npm/logtape.ts";
import { escapeControls } from "./record.ts";

/** `text` (one readable line) or `json` (one JSON object a line). */
export type LogFormat = "text" | "json";

/** Whether `value` names a log format. */
export function isLogFormat(value: unknown): value is LogFormat {
  return value === "text" || value === "json";
}

/** The category as the operator reads it: a plugin's records under `plugin.…`. */
export function categoryName(category: readonly string[]): string {
  return category[0] === "dotcompute" && category[1] === "plugin"
    ? ["plugin", ...category.slice(3)].join(".")
    : category.join(".");
}

/** The plugin a record is about, if any: its `pluginId` property or its category. */
export function pluginOf(record: LogRecord): string | undefined {
  const id = record.properties.pluginId ?? (record.category[1] === "plugin" ? record.category[2] : undefined);
  return typeof id === "string" ? id : undefined;
}

/** The properties a record's message template does not name (and not `pluginId`, shown as a tag). */
function unnamed(record: LogRecord): [string, unknown][] {
  const template = typeof record.rawMessage === "string" ? record.rawMessage : record.rawMessage.join("");
  const named = new Set([...template.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1].trim()));
  return Object.entries(record.properties).filter(([k]) => k !== "pluginId" && !named.has(k));
}

/** ` key=value` for each property the message does not name, escaped like the message. */
export function propertySuffix(record: LogRecord, show: (v: unknown) => string): string {
  return unnamed(record).map(([k, v]) => ` ${escapeControls(k)}=${escapeControls(show(v))}`).join("");
}

function plain(value: unknown, depth = 0): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) {
    return { name: value.name, message: value.message, ...(value.stack ? { stack: value.stack } : {}) };
  }
  if (typeof value === "function" || typeof value === "symbol") return String(value);
  if (typeof value !== "object" || value === null || depth > 8) return value;
  if (Array.isArray(value)) return value.map((v) => plain(v, depth + 1));
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.byteLength} bytes)`;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v, depth + 1)]));
}

/**
 * One JSON object for `record`: `timestamp` (ISO 8601, UTC), `level`, `category`, `pluginId` (when it is about
 * a plugin), `message` (rendered) and `properties` (every structured property).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonLine } from "./format.ts";
 * const line = jsonLine({
 *   category: ["dotcompute", "host"], level: "info", timestamp: 0, message: ["started ", 3, " plugins"],
 *   rawMessage: "started {count} plugins", properties: { count: 3 },
 * });
 * const { timestamp, message, properties } = JSON.parse(line);
 * assert.equal(timestamp, "1970-01-01T00:00:00.000Z");
 * assert.equal(message, "started 3 plugins");
 * assert.deepEqual(properties, { count: 3 });
 * ```
 */
export function jsonLine(record: LogRecord): string {
  const message = record.message.map((part, i) => i % 2 === 0 ? part : show(part)).join("");
  const id = pluginOf(record);
  return JSON.stringify({
    timestamp: new Date(record.timestamp).toISOString(),
    level: record.level,
    category: categoryName(record.category),
    ...(id === undefined ? {} : { pluginId: id }),
    message,
    properties: plain(record.properties),
  });
}

function show(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(plain(value)) ?? String(value);
  } catch {
    return String(value);
  }
}
