/**
 * Internal: a plugin's lifecycle transitions. Start, stop, unload, redefine and mark failed, each one at a time
 * in the order asked.
 *
 * @module
 */

import { PluginHostError } from "../errors.ts";
import type { PluginOptions } from "./types.ts";
import { load } from "./_connection.ts";
import type { PluginCore } from "./_core.ts";

/** `Plugin.start`: loads, initialises and starts the plugin (from Unknown, Stopped, Unloaded or Failed). */
export function start(c: PluginCore): Promise<void> {
  return c.serial(async () => {
    if (c.state === "Running") return;
    try {
      if (c.state !== "Stopped" && c.state !== "Initialized") await load(c);
      c.life.moveTo("Starting");
      await c.hook("start");
      if (c.everStarted) c.metrics.restarts++;
      c.everStarted = true;
      c.metrics.runningSince = Date.now();
      c.accepting = true;
      c.life.moveTo("Running");
    } catch (e) {
      await c.fail(e);
      throw new PluginHostError(
        "START_FAILED",
        `Cannot start plugin "${c.id}": ${c.lastError?.message}`,
        {
          pluginId: c.id,
          cause: e,
        },
      );
    }
  });
}

/** `Plugin.stop`: no new calls, in-flight ones finish (bounded), then its stop hook. The worker stays. */
export function stop(c: PluginCore, reason?: string): Promise<void> {
  c.accepting = false;
  return c.serial(async () => {
    if (c.state !== "Running") return;
    c.life.moveTo("Stopping", reason);
    c.metrics.runningSince = undefined;
    try {
      await c.drain();
      await c.hook("stop");
      c.life.moveTo("Stopped");
    } catch (e) {
      await c.fail(e);
    }
  });
}

/** `Plugin.unload`: stops the plugin if it runs, then ends its worker. */
export async function unload(c: PluginCore, reason?: string): Promise<void> {
  await stop(c, reason);
  await c.serial(async () => {
    if (c.state === "Unloaded" || c.state === "Unknown") return;
    if (c.state !== "Failed") c.life.moveTo("Unloading");
    await c.conn?.terminate("unloaded");
    c.conn = undefined;
    c.life.moveTo("Unloaded");
  });
}

/** `Plugin.redefine`: points an unloaded plugin at a new version of its folder; the id must stay the same. */
export function redefine(c: PluginCore, options: Omit<PluginOptions, "events" | "onPluginCall">): void {
  if (c.state !== "Unloaded" && c.state !== "Unknown" && c.state !== "Failed") {
    throw new PluginHostError("ILLEGAL_TRANSITION", `Plugin "${c.id}" must be unloaded to be redefined`);
  }
  if (options.discovered.manifest.id !== c.id) {
    throw new PluginHostError(
      "PLUGIN_NOT_FOUND",
      `Plugin "${c.id}" cannot become "${options.discovered.manifest.id}"`,
    );
  }
  c.o = { ...c.o, ...options };
}

/** `Plugin.markFailed`: Failed with a `DEPENDENCY_FAILED` error, without loading it. */
export function markFailed(c: PluginCore, reason: string): Promise<void> {
  return c.serial(async () => {
    const error = new PluginHostError("DEPENDENCY_FAILED", reason, { pluginId: c.id });
    if (c.state === "Failed" || c.state === "Unknown" || c.state === "Unloaded") {
      c.lastError = error;
      if (c.state === "Unloaded") c.life.moveTo("Loading", reason);
      if (c.state !== "Failed") c.life.moveTo("Failed", reason);
      return;
    }
    await c.fail(error);
  });
}
