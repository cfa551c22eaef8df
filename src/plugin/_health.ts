/**
 * Internal: is a plugin well? Its health checks (a ping answered by its runtime, then its own `health()`), their
 * history, and the probe that ends a plugin whose thread is stuck.
 *
 * @module
 */

import { CallTimeoutError } from "../errors.ts";
import type { PluginConnection } from "../isolation/tier.ts";
import type { HealthReport } from "../plugin_api.ts";
import type { PluginState } from "../lifecycle/lifecycle.ts";

/** A plugin with a CPU budget whose event loop has not turned for this long is ended (reason cpu). */
export const HARD_CPU_MS = 5000;

/** A plugin's health checks and their history, and the probe of a plugin that may be stuck. */
export class HealthChecks {
  readonly #history: (HealthReport & { readonly at: number })[] = [];
  #probing = false;
  /** Whether `conn` is still the one calls go to: a replaced or ended one is not killed. */
  readonly #isCurrent: (conn: PluginConnection) => boolean;

  constructor(isCurrent: (conn: PluginConnection) => boolean) {
    this.#isCurrent = isCurrent;
  }

  /** The last health checks, oldest first (at most 20). */
  get history(): readonly (HealthReport & { readonly at: number })[] {
    return this.#history;
  }

  /** `Plugin.checkHealth`: the runtime's ping, then the plugin's `health()`; recorded in its history. */
  async check(
    conn: PluginConnection | undefined,
    state: PluginState,
    options: { readonly timeoutMs?: number } = {},
  ): Promise<HealthReport> {
    if (!conn || state !== "Running") return this.#record({ status: "unhealthy", details: { state } });
    const deadline = options.timeoutMs ?? 3000;
    // First the runtime itself: no answer means the plugin's thread is stuck, whatever its health() would say.
    try {
      await conn.call("hook", "ping", [], { timeoutMs: deadline });
    } catch (e) {
      if (e instanceof CallTimeoutError && this.#isCurrent(conn)) {
        await conn.kill("timeout", `unresponsive: no answer to a health ping within ${deadline} ms`);
      }
      return this.#record({
        status: "unhealthy",
        details: { error: e instanceof Error ? e.message : String(e) },
      });
    }
    try {
      return this.#record(parseHealth(await conn.call("hook", "health", [], { timeoutMs: deadline })));
    } catch (e) {
      return this.#record({
        status: "unhealthy",
        details: { error: e instanceof Error ? e.message : String(e) },
      });
    }
  }

  #record(report: HealthReport): HealthReport {
    this.#history.push({ ...report, at: Date.now() });
    if (this.#history.length > 20) this.#history.shift();
    return report;
  }

  /**
   * A call timed out (or the loop stopped reporting): is the plugin still there? The runtime answers a ping by
   * itself, so no answer within the deadline means its thread is stuck (a busy loop, a blocked event loop): end
   * it, with reason timeout (or cpu, for a plugin over `maxCpuPercent`).
   */
  async probe(
    conn: PluginConnection,
    callTimeoutMs: number,
    kind: "timeout" | "cpu" = "timeout",
    maxCpuPercent?: number,
  ): Promise<void> {
    if (this.#probing) return;
    this.#probing = true;
    const deadline = Math.min(3000, callTimeoutMs);
    try {
      await conn.call("hook", "ping", [], { timeoutMs: deadline });
    } catch (e) {
      if (e instanceof CallTimeoutError && this.#isCurrent(conn)) {
        if (kind === "cpu") {
          const blocked = `${HARD_CPU_MS / 1000} s (MaxCpuPercent ${maxCpuPercent})`;
          await conn.kill("cpu", `its event loop has been blocked for over ${blocked}`);
        } else {
          await conn.kill(
            "timeout",
            `unresponsive: a call timed out and the plugin did not answer a ping within ${deadline} ms`,
          );
        }
      }
    } finally {
      this.#probing = false;
    }
  }
}

/** A plugin's `health()` answer as a {@linkcode HealthReport}; anything else is unhealthy. */
export function parseHealth(r: unknown): HealthReport {
  if (typeof r === "object" && r !== null) {
    const { status, details } = r as Record<string, unknown>;
    if (status === "healthy" || status === "degraded" || status === "unhealthy") {
      return typeof details === "object" && details !== null
        ? { status, details: details as Record<string, unknown> }
        : { status };
    }
  }
  return { status: "unhealthy", details: { error: "health() returned no valid status" } };
}
