/**
 * Internal: bringing a fresh instance (a new version, a replacement, a restarted replica) up to where the others
 * are — its initialize and start hooks, then, before it takes calls from one that serves, a health check. On any
 * failure it is ended and the caller gets why; the instance that serves is never touched here.
 *
 * @module
 */

import type { PluginConnection } from "../isolation/tier.ts";
import { parseHealth } from "./_health.ts";

/** How far a fresh instance must come: `loaded` (no hook yet), `initialized`, or `started`. */
export type Phase = "loaded" | "initialized" | "started";

/**
 * Runs `conn`'s hooks up to `phase` (each bounded by `hookTimeoutMs`) and, when `healthy` is asked, its health
 * check (bounded by 3 s at most): an unhealthy answer or any failure ends `conn` and rejects.
 */
export async function bringUp(
  conn: PluginConnection,
  phase: Phase,
  hookTimeoutMs: number,
  healthy: boolean,
): Promise<PluginConnection> {
  const bound = { timeoutMs: hookTimeoutMs };
  try {
    if (phase !== "loaded") await conn.call("hook", "initialize", [], bound);
    if (phase === "started") await conn.call("hook", "start", [], bound);
    if (!healthy) return conn;
    const health = parseHealth(
      await conn.call("hook", "health", [], { timeoutMs: Math.min(3000, hookTimeoutMs) }),
    );
    if (health.status === "unhealthy") {
      throw new Error(`the new instance reported itself unhealthy: ${JSON.stringify(health.details ?? {})}`);
    }
    return conn;
  } catch (e) {
    await conn.terminate("the new instance failed to start");
    throw e;
  }
}
