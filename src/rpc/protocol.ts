/**
 * The wire protocol between the host and a plugin's worker: a versioned discriminated union. Calls go both ways
 * (the host calls hooks and methods; a plugin calls its dependencies through the host), matched by `id`.
 * Everything a worker sends is checked by {@linkcode parseWorkerMessage} before it is used.
 *
 * @module
 */

/** The protocol version; a message with another `v` is dropped. */
export const PROTOCOL_VERSION = 1;

/** The hooks the host calls on a plugin (`ping` is answered by the plugin's runtime itself: liveness). */
export type HookName =
  | "initialize"
  | "start"
  | "stop"
  | "health"
  | "configure"
  | "dependencyChanged"
  | "retiring"
  | "ping";

/**
 * The reserved call target of a service lookup from a plugin: a call of kind `plugin` to this target, method
 * `lookup`, arguments `[name, range | null]`, answers `{ name, id, version }` or `null`. It starts with `$`, so it
 * is never a plugin id.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SERVICE_TARGET } from "@dotcompute/plugins";
 * assert.equal(SERVICE_TARGET, "$service");
 * ```
 */
export const SERVICE_TARGET = "$service";

/** An error as it crosses the wire. */
export interface SerializedError {
  /** The error's class name (`TypeError`, `PluginHostError`, ...). */
  readonly name: string;
  /** The error's message. */
  readonly message: string;
  /** The error's string `code` property, when it has one (e.g. a `PluginHostError` code). */
  readonly code?: string;
  /** The stack trace where the error was thrown, when known. */
  readonly stack?: string;
}

/** A call: a hook or method of the plugin (host → worker) or a method of another plugin (worker → host). */
export interface CallMessage {
  /** The protocol version. */
  readonly v: 1;
  /** The message type. */
  readonly t: "call";
  /** Chosen by the caller, unique among its pending calls; the result, error or cancel carries it back. */
  readonly id: number;
  /** What is called: a lifecycle hook or a method of the plugin, or (`plugin`) a method of another plugin. */
  readonly kind: "hook" | "method" | "plugin";
  /** The name of the hook or method. */
  readonly method: string;
  /** The arguments, structured-cloned. */
  readonly args: readonly unknown[];
  /** With kind "plugin": the plugin to call, or {@linkcode SERVICE_TARGET} for a service lookup. */
  readonly target?: string;
}
/** The value a call returned. */
export interface ResultMessage {
  /** The protocol version. */
  readonly v: 1;
  /** The message type. */
  readonly t: "result";
  /** The `id` of the call this answers. */
  readonly id: number;
  /** What the call returned, structured-cloned. */
  readonly value: unknown;
}
/** The error a call threw. */
export interface ErrorMessage {
  /** The protocol version. */
  readonly v: 1;
  /** The message type. */
  readonly t: "error";
  /** The `id` of the call this answers. */
  readonly id: number;
  /** What the call threw. */
  readonly error: SerializedError;
}
/** The caller gave up (timeout or abort): the callee's per-call signal is aborted. */
export interface CancelMessage {
  /** The protocol version. */
  readonly v: 1;
  /** The message type. */
  readonly t: "cancel";
  /** The `id` of the call given up on. */
  readonly id: number;
  /** Why the caller gave up; it becomes the abort reason's message. */
  readonly reason: string;
}
/**
 * Host → worker, once a usage period (direct workers): the time the host sent it, in absolute ms
 * (`performance.timeOrigin + performance.now()`). How late the worker handles it is how long its event loop was
 * blocked; the worker runs no timer for its usage reports (the first Deno timer costs a Worker ~1.7 MiB).
 */
export interface TickMessage {
  /** The protocol version. */
  readonly v: 1;
  /** The message type. */
  readonly t: "tick";
  /** When the host sent it (absolute ms). */
  readonly at: number;
}
/**
 * Several messages as one, either way: the calls, cancels and answers that were ready in the same tick. The
 * receiver checks each element on its own (a malformed one is dropped without affecting the others); batches
 * do not nest, and a load message never travels in one.
 */
export interface BatchMessage {
  /** The protocol version. */
  readonly v: 1;
  /** The message type. */
  readonly t: "batch";
  /** The messages, in the order they were sent; unchecked until each is parsed. */
  readonly messages: readonly unknown[];
}
/**
 * A sender sends its batch as soon as it holds this many messages, without waiting for the end of the tick:
 * the other side starts on the first ones while this side prepares the rest. Measured with 64 calls in flight
 * (calls/s, median of 9): no limit 228k, 12 → 329k, 16 → 346k, 20 → 352k, 24 → 399k, 32 → 327k.
 */
export const BATCH_FLUSH_AT = 24;
/** Host → worker, once: load the plugin module and build its context. */
export interface LoadMessage {
  /** The protocol version. */
  readonly v: 1;
  /** The message type. */
  readonly t: "load";
  /** The plugin's entry module, as a file URL. */
  readonly url: string;
  /** The plugin id from the manifest (not a call id). */
  readonly id: string;
  /** The plugin's display name. */
  readonly name: string;
  /** The plugin version from the manifest. */
  readonly version: string;
  /** The plugin's effective settings. */
  readonly settings: Readonly<Record<string, unknown>>;
  /** The ids of the plugins this plugin may call. */
  readonly dependencies: readonly string[];
  /** Bounds the plugin's own calls to its dependencies. */
  readonly callTimeoutMs: number;
  /** The shared-memory slot for lone small calls (src/rpc/_shared_slot.ts), when the tier offers one. */
  readonly shared?: SharedArrayBuffer;
  /** How often the usage timer ticks, in ms (default 100; the host asks 1000 of plugins without a CPU budget). */
  readonly usageTickMs?: number;
  /** The host sends a TickMessage every `usageTickMs` (direct workers): the runtime then runs no timer of its own. */
  readonly hostTicks?: boolean;
  /** The plugin may see WebGPU (`PluginSecurity` `AllowGpu`); without it `navigator.gpu` is undefined. */
  readonly allowGpu?: boolean;
  /** npm packages the plugin may import (its effective `npm` permission); none when absent. */
  readonly npm?: readonly string[];
  /** The host's scan left imports only the runtime can judge: install its import hook before the plugin loads. */
  readonly importHook?: boolean;
  /** The plugin's budgets (src/runtime/_budget.ts); the runtime's defaults when absent. */
  readonly budget?: LoadBudget;
}
/** Per-plugin budgets of what the whole process shares (`ResourceLimits.MaxHandles` / `MaxTimers`). */
export interface LoadBudget {
  /** Descriptors, handles and pending operations the plugin may hold at once. */
  readonly maxHandles: number;
  /** Pending timers the plugin may hold at once. */
  readonly maxTimers: number;
  /** Worker tier: the host's descriptor pool ([charged, capacity] as Int32), shared by every plugin. */
  readonly pool?: SharedArrayBuffer;
  /** Worker tier: this plugin's charge to the pool (one Int32), reclaimed by the host when it ends. */
  readonly slot?: SharedArrayBuffer;
}
/** Worker → host: the plugin loaded; these are its callable methods. */
export interface ReadyMessage {
  /** The protocol version. */
  readonly v: 1;
  /** The message type. */
  readonly t: "ready";
  /** The names of the plugin's callable methods. */
  readonly methods: readonly string[];
  /**
   * Which of the hooks the host may skip (`initialize`, `validateSettings`, `start`) the plugin defines: the
   * host sends no `initialize` to a plugin with neither of the first two, and no `start` to one without it (a
   * round trip each, on every cold start). Absent: the host sends them all.
   */
  readonly hooks?: readonly string[];
}
/** Worker → host: a log record of the plugin. */
export interface LogMessage {
  /** The protocol version. */
  readonly v: 1;
  /** The message type. */
  readonly t: "log";
  /** The record's severity. */
  readonly level: LogLevel;
  /** The LogTape category, starting with the plugin id. */
  readonly category: readonly string[];
  /** The rendered message text. */
  readonly message: string;
  /** The record's structured properties, made cloneable. */
  readonly properties: Readonly<Record<string, unknown>>;
}
/** Worker → host: the plugin is ending its own worker (`Deno.exit`, `close()`, `process.exit`). */
export interface ExitMessage {
  /** The protocol version. */
  readonly v: 1;
  /** The message type. */
  readonly t: "exit";
  /** What the plugin called to exit: `Deno.exit`, `close()` or `process.exit`. */
  readonly how: string;
  /** The exit code it asked for (0 when none). */
  readonly code: number;
}
/** Worker → host: the plugin failed to load, or an error escaped it (uncaught error, unhandled rejection). */
export interface FatalMessage {
  /** The protocol version. */
  readonly v: 1;
  /** The message type. */
  readonly t: "fatal";
  /** `load` when the plugin module failed to load; `runtime` when an error escaped later. */
  readonly phase: "load" | "runtime";
  /** The error. */
  readonly error: SerializedError;
}
/** Worker → host: the plugin's own metrics (totals, not deltas). */
export interface MetricsMessage {
  /** The protocol version. */
  readonly v: 1;
  /** The message type. */
  readonly t: "metrics";
  /** Each counter's total, by name. */
  readonly counters: Readonly<Record<string, number>>;
  /** Each histogram's summary, by name. */
  readonly histograms: Readonly<Record<string, HistogramSnapshot>>;
}

/**
 * Worker → host, about once a second while the plugin's event loop turns: how long the loop was blocked (the
 * plugin's synchronous work) over the interval, and the plugin's heap. Its absence is news too: a plugin stuck
 * in a loop sends nothing.
 */
export interface UsageMessage {
  /** Protocol version. */
  readonly v: 1;
  /** Message type. */
  readonly t: "usage";
  /** Milliseconds the event loop was blocked during the interval. */
  readonly blockedMs: number;
  /** The interval's length in milliseconds. */
  readonly intervalMs: number;
  /** The plugin isolate's used heap, in bytes. */
  readonly heapUsed: number;
  /** Memory outside the heap (ArrayBuffers), in bytes: a heap cap does not count it. */
  readonly external?: number;
  /** The usage timer's period in ms (absent: 100), to turn `blockedMs` into a mean lag per tick. */
  readonly tickMs?: number;
}

/** A plugin-side histogram's summary. */
export interface HistogramSnapshot {
  /** How many values were recorded. */
  readonly count: number;
  /** The sum of the recorded values. */
  readonly sum: number;
  /** The smallest recorded value. */
  readonly min: number;
  /** The largest recorded value. */
  readonly max: number;
}

/** Log levels, as LogTape names them. */
export type LogLevel = "trace" | "debug" | "info" | "warning" | "error" | "fatal";

/** What the host sends. */
export type HostMessage =
  | CallMessage
  | ResultMessage
  | ErrorMessage
  | CancelMessage
  | LoadMessage
  | TickMessage
  | BatchMessage;
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
  | MetricsMessage
  | UsageMessage
  | BatchMessage;

const LEVELS: ReadonlySet<string> = new Set(["trace", "debug", "info", "warning", "error", "fatal"]);
const MAX_NAME = 256;
const MAX_TEXT = 16 * 1024;
/** The most messages one batch may hold. */
const MAX_BATCH = 10_000;

type Rec = Record<string, unknown>;
/** Names a bad value without converting it: a worker's object may throw on any conversion. */
const describe = (x: unknown): string =>
  typeof x === "string" ? JSON.stringify(x.slice(0, 40)) : typeof x === "number" ? String(x) : typeof x;
const isRec = (x: unknown): x is Rec => typeof x === "object" && x !== null && !Array.isArray(x);
const isId = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isName = (x: unknown): x is string => typeof x === "string" && x.length > 0 && x.length <= MAX_NAME;
const isText = (x: unknown): x is string => typeof x === "string" && x.length <= MAX_TEXT;
const isStrArr = (x: unknown, max: number): x is string[] =>
  Array.isArray(x) && x.length <= max && x.every(isName);
/**
 * A part of a log category: what a plugin id or a logger name is made of, so that a category can neither forge
 * a line of the host's text output nor name an odd key in a logger tree (each part is used as a plain name).
 */
export const LOG_CATEGORY_PART: RegExp = /^[A-Za-z0-9_.:-]{1,64}$/;
/** At most this many parts in a log record's category. */
export const MAX_LOG_CATEGORY = 16;
const isCategory = (x: unknown): x is string[] =>
  Array.isArray(x) && x.length <= MAX_LOG_CATEGORY &&
  x.every((p) => typeof p === "string" && LOG_CATEGORY_PART.test(p));

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
 * import assert from "node:assert/strict";
 * import { parseWorkerMessage } from "@dotcompute/plugins";
 * const result = { v: 1, t: "result", id: 1, value: 42 };
 * assert.deepEqual(parseWorkerMessage(result), result); // well-formed: the message itself
 * assert.equal(parseWorkerMessage({ v: 1, t: "hello" }), 'unknown message type "hello"');
 * assert.equal(parseWorkerMessage({ v: 2 }), "unsupported protocol version 2");
 * ```
 */
export function parseWorkerMessage(data: unknown): WorkerMessage | string {
  if (!isRec(data)) return "not an object";
  if (data.v !== PROTOCOL_VERSION) return `unsupported protocol version ${describe(data.v)}`;
  const m = data;
  switch (m.t) {
    case "call":
      if (
        !isId(m.id) || m.kind !== "plugin" || !isName(m.method) || !isName(m.target) || !Array.isArray(m.args)
      ) {
        return "malformed call";
      }
      break;
    case "batch":
      // Only the envelope: the receiver parses each element, so one bad element drops alone.
      if (!Array.isArray(m.messages) || m.messages.length > MAX_BATCH) return "malformed batch";
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
      if (!isStrArr(m.methods, 10_000) || (m.hooks !== undefined && !isStrArr(m.hooks, 16))) {
        return "malformed ready";
      }
      break;
    case "log":
      if (
        typeof m.level !== "string" || !LEVELS.has(m.level) || !isCategory(m.category) ||
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
    case "usage":
      if (
        ![m.blockedMs, m.intervalMs, m.heapUsed, m.external ?? 0].every((n) =>
          typeof n === "number" && Number.isFinite(n) && n >= 0
        ) ||
        (m.tickMs !== undefined && !(typeof m.tickMs === "number" && m.tickMs >= 1 && m.tickMs <= 60_000))
      ) {
        return "malformed usage";
      }
      break;
    case "metrics":
      if (!isNumRecord(m.counters) || !isRec(m.histograms) || Object.keys(m.histograms).length > 1000) {
        return "malformed metrics";
      }
      for (const h of Object.values(m.histograms)) if (!isNumRecord(h)) return "malformed metrics";
      break;
    default:
      return `unknown message type ${describe(m.t)}`;
  }
  return m as unknown as WorkerMessage;
}
