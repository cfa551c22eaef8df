/**
 * Every error the host raises is a {@linkcode PluginHostError} with a literal `code`, so callers (and the admin
 * API) can branch on the code instead of parsing messages.
 *
 * @module
 */

/** The codes a {@linkcode PluginHostError} can carry. */
export type PluginHostErrorCode =
  | "MANIFEST_INVALID"
  | "CONFIG_INVALID"
  | "DISCOVERY_FAILED"
  | "DUPLICATE_ID"
  | "PIN_MISMATCH"
  | "PLUGIN_NOT_FOUND"
  | "PLUGIN_NOT_RUNNING"
  | "PLUGIN_OVERLOADED"
  | "QUARANTINED"
  | "ILLEGAL_TRANSITION"
  | "LOAD_FAILED"
  | "START_FAILED"
  | "STOP_FAILED"
  | "RELOAD_FAILED"
  | "METHOD_NOT_FOUND"
  | "CALL_TIMEOUT"
  | "CALL_ABORTED"
  | "PLUGIN_CRASHED"
  | "PERMISSION_DENIED"
  | "PROTOCOL_ERROR"
  | "REMOTE_ERROR"
  | "HOST_STOPPED"
  | "SIGNATURE_INVALID"
  | "APPROVAL_REQUIRED"
  | "APPROVAL_NOT_FOUND"
  | "DEPENDENCY_FAILED"
  | "INVALID_RANGE"
  | "REPLICA_LOST"
  | "QUEUE_TIMEOUT"
  | "HOST_LOST";

/** Options for {@linkcode PluginHostError}. */
export interface PluginHostErrorOptions {
  /** The error that caused this one. */
  readonly cause?: unknown;
  /** The plugin the error concerns, if any. */
  readonly pluginId?: string;
}

/**
 * Base class of every error raised by the host.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PluginHostError } from "@dotcompute/plugins";
 * const e = new PluginHostError("PLUGIN_NOT_FOUND", 'No plugin "x"', { pluginId: "x" });
 * assert.ok(e instanceof Error);
 * assert.equal(e.code, "PLUGIN_NOT_FOUND"); // branch on the code, not on the message
 * assert.equal(e.pluginId, "x");
 * ```
 */
export class PluginHostError extends Error {
  /** What went wrong, as a stable literal. */
  readonly code: PluginHostErrorCode;
  /** The plugin concerned, when there is one. */
  readonly pluginId?: string;

  /** Creates an error with a `code` and a message. */
  constructor(code: PluginHostErrorCode, message: string, options: PluginHostErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PluginHostError";
    this.code = code;
    if (options.pluginId !== undefined) this.pluginId = options.pluginId;
  }
}

/** One problem found in a file, with its position when known (1-based line and column). */
export interface Diagnostic {
  /** The file the problem is in. */
  readonly file: string;
  /** 1-based line, when the problem has a position. */
  readonly line?: number;
  /** 1-based column, when the problem has a position. */
  readonly column?: number;
  /** The field concerned, as a dotted path (`permissions.read.0`), when there is one. */
  readonly field?: string;
  /** What is wrong. */
  readonly message: string;
}

/**
 * Formats a diagnostic as `file:line:col: "field": message` (without the parts it does not have).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDiagnostic } from "@dotcompute/plugins";
 * assert.equal(
 *   formatDiagnostic({ file: "plugin.jsonc", line: 3, column: 9, field: "version", message: "not semver" }),
 *   'plugin.jsonc:3:9: "version": not semver',
 * );
 * assert.equal(formatDiagnostic({ file: "plugins/x", message: "not a folder" }), "plugins/x: not a folder");
 * ```
 */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line === undefined ? d.file : `${d.file}:${d.line}:${d.column ?? 1}`;
  return d.field ? `${where}: "${d.field}": ${d.message}` : `${where}: ${d.message}`;
}

/**
 * A manifest that cannot be used; `diagnostics` lists every problem with its position.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ManifestError } from "@dotcompute/plugins";
 * const e = new ManifestError("hello", [{ file: "plugin.jsonc", line: 1, column: 1, message: 'has no "name"' }]);
 * assert.equal(e.code, "MANIFEST_INVALID");
 * assert.equal(e.message, 'Cannot load plugin "hello": plugin.jsonc:1:1: has no "name"');
 * assert.equal(e.diagnostics.length, 1);
 * ```
 */
export class ManifestError extends PluginHostError {
  /** Every problem found. */
  readonly diagnostics: readonly Diagnostic[];
  /** Creates the error for the plugin in `dir` (or with that id). */
  constructor(plugin: string, diagnostics: readonly Diagnostic[]) {
    super(
      "MANIFEST_INVALID",
      `Cannot load plugin "${plugin}": ${diagnostics.map(formatDiagnostic).join("; ")}`,
    );
    this.name = "ManifestError";
    this.diagnostics = diagnostics;
  }
}

/**
 * A host configuration that cannot be used; `diagnostics` lists every problem with its position.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfigError } from "@dotcompute/plugins";
 * const e = new ConfigError([
 *   { file: "host.jsonc", line: 2, column: 5, field: "Plugins.CallTimeout", message: "not a duration" },
 * ]);
 * assert.equal(e.code, "CONFIG_INVALID");
 * assert.equal(e.message, 'Invalid host configuration: host.jsonc:2:5: "Plugins.CallTimeout": not a duration');
 * ```
 */
export class ConfigError extends PluginHostError {
  /** Every problem found. */
  readonly diagnostics: readonly Diagnostic[];
  /** Creates the error from its diagnostics. */
  constructor(diagnostics: readonly Diagnostic[]) {
    super("CONFIG_INVALID", `Invalid host configuration: ${diagnostics.map(formatDiagnostic).join("; ")}`);
    this.name = "ConfigError";
    this.diagnostics = diagnostics;
  }
}

/**
 * A call or hook did not finish within its timeout.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CallTimeoutError } from "@dotcompute/plugins";
 * const e = new CallTimeoutError("hello.world", "greet", 30_000);
 * assert.equal(e.code, "CALL_TIMEOUT");
 * assert.equal(e.pluginId, "hello.world");
 * assert.equal(e.message, 'Call "greet" to plugin "hello.world" timed out after 30000 ms');
 * ```
 */
export class CallTimeoutError extends PluginHostError {
  /** Creates the error for `method` of `pluginId` after `timeoutMs`. */
  constructor(pluginId: string, method: string, timeoutMs: number) {
    super("CALL_TIMEOUT", `Call "${method}" to plugin "${pluginId}" timed out after ${timeoutMs} ms`, {
      pluginId,
    });
    this.name = "CallTimeoutError";
  }
}

/**
 * The plugin's worker died (crashed, exited, closed itself or was terminated) while the call was pending.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PluginCrashedError } from "@dotcompute/plugins";
 * const e = new PluginCrashedError("hello.world", "exited with code 1");
 * assert.equal(e.code, "PLUGIN_CRASHED");
 * assert.equal(e.message, 'Plugin "hello.world" crashed: exited with code 1');
 * ```
 */
export class PluginCrashedError extends PluginHostError {
  /** Creates the error; `reason` says how the worker died. */
  constructor(pluginId: string, reason: string) {
    super("PLUGIN_CRASHED", `Plugin "${pluginId}" crashed: ${reason}`, { pluginId });
    this.name = "PluginCrashedError";
  }
}
