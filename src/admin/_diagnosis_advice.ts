/**
 * The words of a diagnosis: what an operator changes, in which key, for a denied permission or a failure.
 *
 * @module
 */

/** What a finding is about. */
export type FindingKind =
  | "lifecycle"
  | "dependency"
  | "permission"
  | "limit"
  | "signature"
  | "crash"
  | "config"
  | "discovery";

/** How much a finding matters: `error` keeps the plugin from running. */
export type Severity = "error" | "warning" | "info";

/** One thing the diagnosis found, with what to do about it. */
export interface Finding {
  /** What it is about. */
  readonly kind: FindingKind;
  /** How much it matters. */
  readonly severity: Severity;
  /** What is wrong, in words. */
  readonly message: string;
  /** What an operator can do about it. */
  readonly action: string;
}

const security = (id: string, key: string): string => `PluginSecurity.${id}.${key}`;

/**
 * The configuration change that would grant a denied request, from the reason the permission code gave.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { permissionAdvice } from "./_diagnosis_advice.ts";
 * assert.equal(
 *   permissionAdvice("my.plugin", { kind: "read", value: "/data", reason: "not inside AllowedPaths" }),
 *   'add "/data" to PluginSecurity.my.plugin.AllowedPaths',
 * );
 * ```
 */
export function permissionAdvice(
  id: string,
  d: { readonly kind: string; readonly value: string; readonly reason: string },
): string {
  const v = JSON.stringify(d.value);
  const list = d.kind === "net"
    ? "AllowedNetworkEndpoints"
    : d.kind === "env"
    ? "AllowedEnvironmentVariables"
    : "AllowedPaths";
  const addTo = `add ${v} to ${security(id, list)}`;
  switch (d.reason) {
    case "no PluginSecurity entry": {
      const entry = d.kind === "net"
        ? `{ "AllowNetworkAccess": true, "AllowedNetworkEndpoints": [${v}] }`
        : d.kind === "env"
        ? `{ "AllowedEnvironmentVariables": [${v}] }`
        : `{ "AllowFileSystemAccess": true, "AllowedPaths": [${v}] }`;
      return `add a PluginSecurity entry for ${id} to the host config: "${id}": ${entry}`;
    }
    case "AllowFileSystemAccess is false":
      return `set ${security(id, "AllowFileSystemAccess")} to true and ${addTo}`;
    case "AllowNetworkAccess is false":
      return `set ${security(id, "AllowNetworkAccess")} to true and ${addTo}`;
    case "not inside AllowedPaths":
    case "endpoint not in AllowedNetworkEndpoints":
    case "not in AllowedEnvironmentVariables":
      return addTo;
    case "the host itself does not hold it":
      return `start the host with --allow-${d.kind}=${d.value} (it never grants what it does not hold)`;
    default:
      return `fix the entry ${v} under permissions.${d.kind} in the plugin's manifest (${d.reason})`;
  }
}

/** A permission error thrown inside the plugin: `Requires read access to "/data"`. */
export interface PermissionFailure {
  /** `read`, `write`, `net`, `env`, `run`, `ffi`, `sys` or `import`. */
  readonly kind: string;
  /** The path, host or variable it reached for. */
  readonly value: string;
}

/**
 * Reads the permission a Deno permission error names, if `message` is one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { permissionFailure } from "./_diagnosis_advice.ts";
 * assert.deepEqual(
 *   permissionFailure('Requires read access to "/data", run again with the --allow-read flag'),
 *   { kind: "read", value: "/data" },
 * );
 * assert.equal(permissionFailure("division by zero"), undefined);
 * ```
 */
export function permissionFailure(message: string): PermissionFailure | undefined {
  const m = /Requires (\w+) access to "?([^",]+?)"?(?:,|$| which)/.exec(message);
  return m ? { kind: m[1], value: m[2] } : undefined;
}

/**
 * The error's `code`, when it has a string one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { codeOf } from "./_diagnosis_advice.ts";
 * assert.equal(codeOf(Object.assign(new Error("x"), { code: "CALL_TIMEOUT" })), "CALL_TIMEOUT");
 * assert.equal(codeOf(new Error("x")), undefined);
 * ```
 */
export const codeOf = (e: unknown): string | undefined => {
  const code = (e as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
};

/** Patterns of messages by what they are about, checked in order. */
const PATTERNS: readonly (readonly [FindingKind, RegExp])[] = [
  ["permission", /AllowGpu/], // WebGPU needs no Deno permission: the runtime's refusal names the key
  ["signature", /signature|not signed|untrusted|thumbprint/i],
  ["limit", /out of memory|heap|MaxMemoryMB|memory limit|MaxCpuPercent|cpu (?:limit|budget|time)/i],
  ["dependency", /dependenc/i],
  ["config", /Isolation "[^"]*" is not available|settings/i],
];

/**
 * Classifies a failure message (and its code) as one kind of finding.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classify } from "./_diagnosis_advice.ts";
 * assert.equal(classify("failed signature verification: unsigned", "SIGNATURE_INVALID"), "signature");
 * assert.equal(classify('Requires net access to "example.com:443"'), "permission");
 * ```
 */
export function classify(message: string, code?: string, exitKind?: string): FindingKind {
  if (code === "SIGNATURE_INVALID") return "signature";
  if (code === "DEPENDENCY_FAILED") return "dependency";
  if (exitKind === "memory" || exitKind === "cpu") return "limit";
  if (permissionFailure(message) || code === "PERMISSION_DENIED") return "permission";
  for (const [kind, pattern] of PATTERNS) if (pattern.test(message)) return kind;
  if (code === "PLUGIN_CRASHED" || exitKind === "crash" || exitKind === "exit") return "crash";
  return "lifecycle";
}

/**
 * `3.2 s`, `4 min`, `2 h` — a duration for an operator.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { humanDuration } from "./_diagnosis_advice.ts";
 * assert.equal(humanDuration(300), "300 ms");
 * assert.equal(humanDuration(3200), "3.2 s");
 * assert.equal(humanDuration(240_000), "4 min");
 * ```
 */
export function humanDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/**
 * `"text"`, quoted as JSON quotes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { q } from "./_diagnosis_advice.ts";
 * assert.equal(q("/data"), '"/data"');
 * ```
 */
export const q = (s: string): string => JSON.stringify(s);

/**
 * An instant as ISO 8601.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { iso } from "./_diagnosis_advice.ts";
 * assert.equal(iso(0), "1970-01-01T00:00:00.000Z");
 * ```
 */
export const iso = (at: number): string => new Date(at).toISOString();

/** Fields some handles have (a plugin of this host always does), read without relying on them. */
export type HandleExtras = {
  readonly discovered?: { readonly manifestPath?: string };
  readonly lastExit?: { readonly kind: string; readonly reason: string; readonly at: number };
};
