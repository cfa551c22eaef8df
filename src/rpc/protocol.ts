/**
 * The wire protocol between the host and a plugin's worker: a versioned discriminated union. Calls go both ways
 * (the host calls hooks and methods; a plugin calls its dependencies through the host), matched by `id`.
 * Everything a worker sends is checked by {@linkcode parseWorkerMessage} before it is used.
 *
 * @module
 */

/** The protocol version; a message with another `v` is dropped. */
export const PROTOCOL_VERSION = 1;

/** The hooks the host calls on a plugin. */
export type HookName = "initialize" | "start" | "stop" | "health" | "configure";

/** An error as it crosses the wire. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
}

/** A call: a hook or method of the plugin (host → worker) or a method of another plugin (worker → host). */
export interface CallMessage {
  readonly v: 1;
  readonly t: "call";
  readonly id: number;
  readonly kind: "hook" | "method" | "plugin";
  readonly method: string;
  readonly args: readonly unknown[];
  /** With kind "plugin": the plugin to call. */
  readonly target?: string;
}
/** The value a call returned. */
export interface ResultMessage {
  readonly v: 1;
  readonly t: "result";
  readonly id: number;
  readonly value: unknown;
}
/** The error a call threw. */
export interface ErrorMessage {
  readonly v: 1;
  readonly t: "error";
  readonly id: number;
  readonly error: SerializedError;
}
/** The caller gave up (timeout or abort): the callee's per-call signal is aborted. */
export interface CancelMessage {
  readonly v: 1;
  readonly t: "cancel";
  readonly id: number;
  readonly reason: string;
}
/** Host → worker, once: load the plugin module and build its context. */
export interface LoadMessage {
  readonly v: 1;
  readonly t: "load";
  readonly url: string;
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly dependencies: readonly string[];
  /** Bounds the plugin's own calls to its dependencies. */
  readonly callTimeoutMs: number;
}
/** Worker → host: the plugin loaded; these are its callable methods. */
export interface ReadyMessage {
  readonly v: 1;
  readonly t: "ready";
  readonly methods: readonly string[];
}
/** Worker → host: a log record of the plugin. */
export interface LogMessage {
  readonly v: 1;
  readonly t: "log";
  readonly level: LogLevel;
  readonly category: readonly string[];
  readonly message: string;
  readonly properties: Readonly<Record<string, unknown>>;
}
/** Worker → host: the plugin is ending its own worker (`Deno.exit`, `close()`, `process.exit`). */
export interface ExitMessage {
  readonly v: 1;
  readonly t: "exit";
  readonly how: string;
  readonly code: number;
}
/** Worker → host: the plugin failed to load, or an error escaped it (uncaught error, unhandled rejection). */
export interface FatalMessage {
  readonly v: 1;
  readonly t: "fatal";
  readonly phase: "load" | "runtime";
  readonly error: SerializedError;
}
/** Worker → host: the plugin's own metrics (totals, not deltas). */
export interface MetricsMessage {
  readonly v: 1;
  readonly t: "metrics";
  readonly counters: Readonly<Record<string, number>>;
  readonly histograms: Readonly<Record<string, HistogramSnapshot>>;
}

/** A plugin-side histogram's summary. */
export interface HistogramSnapshot {
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
}

/** Log levels, as LogTape names them. */
export type LogLevel = "trace" | "debug" | "info" | "warning" | "error" | "fatal";

/** What the host sends. */
export type HostMessage = CallMessage | ResultMessage | ErrorMessage | CancelMessage | LoadMessage;
/** What a worker may send. */
export type WorkerMessage =
  | CallMessage
  | ResultMessage
  | ErrorMessage
  | CancelMessage
  | ReadyMessage
  | LogMessage
  | ExitMessage
  | FatalMessage
  | MetricsMessage;

const LEVELS: ReadonlySet<string> = new Set(["trace", "debug", "info", "warning", "error", "fatal"]);
const MAX_NAME = 256;
const MAX_TEXT = 16 * 1024;

type Rec = Record<string, unknown>;
const isRec = (x: unknown): x is Rec => typeof x === "object" && x !== null && !Array.isArray(x);
const isId = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isName = (x: unknown): x is string => typeof x === "string" && x.length > 0 && x.length <= MAX_NAME;
const isText = (x: unknown): x is string => typeof x === "string" && x.length <= MAX_TEXT;
const isStrArr = (x: unknown, max: number): x is string[] =>
  Array.isArray(x) && x.length <= max && x.every(isName);

function isError(x: unknown): x is SerializedError {
  return isRec(x) && isName(x.name) && isText(x.message) &&
    (x.code === undefined || isName(x.code)) && (x.stack === undefined || isText(x.stack));
}

function isNumRecord(x: unknown): boolean {
  return isRec(x) && Object.keys(x).length <= 1000 &&
    Object.entries(x).every(([k, v]) => k.length <= MAX_NAME && typeof v === "number");
}

/**
 * Checks a message from a worker. Returns the message, or a string saying why it is malformed.
 *
 * @example
 * ```ts
 * import { parseWorkerMessage } from "@dotcompute/plugins";
 * const m = parseWorkerMessage({ v: 1, t: "result", id: 1, value: 42 });
 * if (typeof m === "string") console.error(m);
 * ```
 */
export function parseWorkerMessage(data: unknown): WorkerMessage | string {
  if (!isRec(data)) return "not an object";
  if (data.v !== PROTOCOL_VERSION) return `unsupported protocol version ${String(data.v).slice(0, 20)}`;
  const m = data;
  switch (m.t) {
    case "call":
      if (
        !isId(m.id) || m.kind !== "plugin" || !isName(m.method) || !isName(m.target) || !Array.isArray(m.args)
      ) {
        return "malformed call";
      }
      break;
    case "result":
      if (!isId(m.id) || !("value" in m)) return "malformed result";
      break;
    case "error":
      if (!isId(m.id) || !isError(m.error)) return "malformed error";
      break;
    case "cancel":
      if (!isId(m.id) || !isText(m.reason)) return "malformed cancel";
      break;
    case "ready":
      if (!isStrArr(m.methods, 10_000)) return "malformed ready";
      break;
    case "log":
      if (
        typeof m.level !== "string" || !LEVELS.has(m.level) || !isStrArr(m.category, 16) ||
        !isText(m.message) ||
        !isRec(m.properties)
      ) return "malformed log";
      break;
    case "exit":
      if (!isName(m.how) || !Number.isInteger(m.code)) return "malformed exit";
      break;
    case "fatal":
      if ((m.phase !== "load" && m.phase !== "runtime") || !isError(m.error)) return "malformed fatal";
      break;
    case "metrics":
      if (!isNumRecord(m.counters) || !isRec(m.histograms) || Object.keys(m.histograms).length > 1000) {
        return "malformed metrics";
      }
      for (const h of Object.values(m.histograms)) if (!isNumRecord(h)) return "malformed metrics";
      break;
    default:
      return `unknown message type ${JSON.stringify(String(m.t).slice(0, 40))}`;
  }
  return m as unknown as WorkerMessage;
}
