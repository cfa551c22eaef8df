/**
 * Internal: blue/green reload of a running plugin. The new version starts in a new worker beside the old one,
 * and takes the calls only once it is Running and healthy.
 *
 * @module
 */

import { PluginHostError } from "../errors.ts";
import type { PluginConnection } from "../isolation/tier.ts";
import type { PluginOptions } from "./types.ts";
import { adopt, spawn } from "./_connection.ts";
import { parseHealth } from "./_health.ts";
import type { PluginCore } from "./_core.ts";

/** `Plugin.swap`: see there. */
export function swap(c: PluginCore, options: Omit<PluginOptions, "events" | "onPluginCall">): Promise<void> {
  return c.serial(async () => {
    if (c.state !== "Running" || !c.conn) {
      throw new PluginHostError(
        "ILLEGAL_TRANSITION",
        `Plugin "${c.id}" is ${c.state}; only a Running plugin swaps`,
      );
    }
    if (options.discovered.manifest.id !== c.id) {
      throw new PluginHostError(
        "PLUGIN_NOT_FOUND",
        `Plugin "${c.id}" cannot become "${options.discovered.manifest.id}"`,
      );
    }
    const next: PluginOptions = { ...c.o, ...options };
    let fresh: PluginConnection | undefined;
    try {
      fresh = await spawn(c, next);
      const bound = { timeoutMs: next.hookTimeoutMs };
      await fresh.call("hook", "initialize", [], bound);
      await fresh.call("hook", "start", [], bound);
      const health = parseHealth(
        await fresh.call("hook", "health", [], { timeoutMs: Math.min(3000, next.hookTimeoutMs) }),
      );
      if (health.status === "unhealthy") {
        throw new Error(
          `the new version reported itself unhealthy: ${JSON.stringify(health.details ?? {})}`,
        );
      }
    } catch (e) {
      await fresh?.terminate("the new version failed to start");
      throw e;
    }
    const old = c.conn;
    c.o = next;
    adopt(c, fresh);
    await c.drain(old);
    await old.call("hook", "stop", [], { timeoutMs: next.hookTimeoutMs }).catch((e) =>
      c.log.warn("the old version's stop hook failed: {message}", { message: String(e?.message ?? e) })
    );
    await old.terminate("replaced by a new version");
  });
}
