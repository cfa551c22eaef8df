/**
 * Internal: is a plugin well? Its health checks (a ping answered by its runtime, then its own `health()`), their
 * history, and the probe that ends a plugin whose thread is stuck.
 *
 * @module
 */

import { CallTimeoutError } from "../errors.ts";
import type { PluginConnection } from "../isolation/tier.ts";
import type { HealthReport } from "../plugin_api.ts";
import type { PluginCore } from "./_core.ts";

/** A plugin with a CPU budget whose event loop has not turned for this long is ended (reason cpu). */
export const HARD_CPU_MS = 5000;

/** `Plugin.checkHealth`: the runtime's ping, then the plugin's `health()`; recorded in its history. */
export async function checkHealth(
  c: PluginCore,
  options: { readonly timeoutMs?: number } = {},
): Promise<HealthReport> {
  const conn = c.conn;
  if (!conn || c.state !== "Running") {
    return record(c, { status: "unhealthy", details: { state: c.state } });
  }
  const deadline = options.timeoutMs ?? 3000;
  // First the runtime itself: no answer means the plugin's thread is stuck, whatever its health() would say.
  try {
    await conn.call("hook", "ping", [], { timeoutMs: deadline });
  } catch (e) {
    if (e instanceof CallTimeoutError && c.conn === conn) {
      await conn.kill("timeout", `unresponsive: no answer to a health ping within ${deadline} ms`);
    }
    return record(c, {
      status: "unhealthy",
      details: { error: e instanceof Error ? e.message : String(e) },
    });
  }
  try {
    return record(c, parseHealth(await conn.call("hook", "health", [], { timeoutMs: deadline })));
  } catch (e) {
    return record(c, {
      status: "unhealthy",
      details: { error: e instanceof Error ? e.message : String(e) },
    });
  }
}

function record(c: PluginCore, report: HealthReport): HealthReport {
  c.healthHistory.push({ ...report, at: Date.now() });
  if (c.healthHistory.length > 20) c.healthHistory.shift();
  return report;
}

/**
 * A call timed out: is the plugin still there? The runtime answers a ping by itself, so no answer within
 * the deadline means its thread is stuck (a busy loop, a blocked event loop): end it, with reason timeout.
 */
export async function probe(
  c: PluginCore,
  conn: PluginConnection,
  kind: "timeout" | "cpu" = "timeout",
): Promise<void> {
  if (c.probing) return;
  c.probing = true;
  const deadline = Math.min(3000, c.o.callTimeoutMs);
  try {
    await conn.call("hook", "ping", [], { timeoutMs: deadline });
  } catch (e) {
    if (e instanceof CallTimeoutError && c.conn === conn) {
      const why = kind === "timeout"
        ? `unresponsive: a call timed out and the plugin did not answer a ping within ${deadline} ms`
        : `its event loop has been blocked for over ${
          HARD_CPU_MS / 1000
        } s (MaxCpuPercent ${c.cpu.maxPercent})`;
      await conn.kill(kind, why);
    }
  } finally {
    c.probing = false;
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
