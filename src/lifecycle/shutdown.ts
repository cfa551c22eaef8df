/**
 * Why a plugin's instance (its Worker or process, or one replica of it) ended: one typed reason for every end,
 * asked for or not, carried by its `shutdown` event, its metrics and `GET /plugins/:id`.
 *
 * @module
 */

/**
 * Every reason an instance ends.
 *
 * - `stop`: an operator or the host stopped or unloaded it.
 * - `reload`: a new version (or new configuration) replaced it.
 * - `idle`: it had no call for `IdleTimeout`; the next call starts it again.
 * - `retired:memory` / `retired:cpu` / `retired:lifetime`: it passed a soft limit (`SoftMemoryMB`,
 *   `SoftCpuPercent`, `MaxLifetime`); a fresh instance took its new calls and it finished its own.
 * - `crash`: it died unasked (an exception, `Deno.exit`, a failed load).
 * - `memory` / `cpu`: it passed a hard limit (`MaxMemoryMB`, `MaxCpuPercent`) and was ended.
 * - `unresponsive`: it stopped answering (a ping went unanswered) and was ended.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SHUTDOWN_REASONS, type ShutdownReason } from "@dotcompute/plugins";
 * const why: ShutdownReason = "retired:memory";
 * assert.ok(SHUTDOWN_REASONS.includes(why));
 * assert.equal(SHUTDOWN_REASONS.length, 10);
 * ```
 */
export type ShutdownReason =
  | "stop"
  | "reload"
  | "idle"
  | "retired:memory"
  | "retired:cpu"
  | "retired:lifetime"
  | "crash"
  | "memory"
  | "cpu"
  | "unresponsive";

/** Every {@linkcode ShutdownReason}, in the order the type lists them. */
export const SHUTDOWN_REASONS: readonly ShutdownReason[] = [
  "stop",
  "reload",
  "idle",
  "retired:memory",
  "retired:cpu",
  "retired:lifetime",
  "crash",
  "memory",
  "cpu",
  "unresponsive",
];

/** The reasons a soft limit retires an instance for. */
export type RetireReason = Extract<ShutdownReason, `retired:${string}`>;

/** One end of a plugin's instance. */
export interface ShutdownEvent {
  /** The plugin's id. */
  readonly id: string;
  /** Why it ended. */
  readonly reason: ShutdownReason;
  /** Which replica (0-based), for a plugin that runs several. */
  readonly replica?: number;
  /** Words for an operator, when there is more to say (the crash's message, the soft limit passed). */
  readonly detail?: string;
  /** When (epoch ms). */
  readonly at: number;
}

/** The shutdown reason of an instance that died unasked, from how its tier says it ended. */
export function exitReason(kind: string): ShutdownReason {
  return kind === "memory"
    ? "memory"
    : kind === "cpu"
    ? "cpu"
    : kind === "timeout"
    ? "unresponsive"
    : "crash";
}
