/**
 * Internal: a plugin's resource limits at work. The soft CPU action (stop routing calls while over budget), the
 * hard one (a loop that stops reporting is pinged, then ended), and the heap, lag and CPU numbers of its metrics.
 *
 * @module
 */

import { PluginHostError } from "../errors.ts";
import type { PluginConnection } from "../isolation/tier.ts";
import type { ResourceUsage } from "./metrics.ts";
import { WINDOW_MS } from "../permissions/cpu_budget.ts";
import { HARD_CPU_MS, probe } from "./_health.ts";
import type { PluginCore } from "./_core.ts";

/** The error of a call refused because the plugin is over its CPU budget. */
export function overloaded(c: PluginCore): PluginHostError {
  return new PluginHostError(
    "PLUGIN_OVERLOADED",
    `Plugin "${c.id}" is over its CPU budget (${c.cpu.percent.toFixed(0)}% of one core over the last ${
      WINDOW_MS / 1000
    } s; MaxCpuPercent ${c.cpu.maxPercent}): try again later`,
    { pluginId: c.id },
  );
}

/** The resource part of the plugin's metrics. */
export function resourceUsage(c: PluginCore): ResourceUsage {
  const o = c.o;
  return {
    ...(o.maxMemoryMB ? { maxMemoryMB: o.maxMemoryMB } : {}),
    ...(o.maxCpuPercent ? { maxCpuPercent: o.maxCpuPercent } : {}),
    cpuPercent: Math.round(c.cpu.percent * 10) / 10,
    ...(c.heapUsed !== undefined ? { heapUsedBytes: c.heapUsed } : {}),
    ...(c.externalBytes !== undefined ? { externalBytes: c.externalBytes } : {}),
    ...(c.lagMs !== undefined ? { eventLoopLagMs: Math.round(c.lagMs * 100) / 100 } : {}),
    throttled: c.throttled,
    ...(c.lastExit ? { lastExitKind: c.lastExit.kind } : {}),
  };
}

/**
 * `MaxMemoryMB` counts the heap (the plugin's thread ends at its heap cap by itself) and, from the plugin's usage
 * reports, its ArrayBuffers too, which no heap cap sees: past the cap the plugin is ended with reason memory.
 * The report is the runtime's, taken each tick (100 ms for a plugin with limits); a plugin that stops its
 * event loop stops reporting, and the CPU and call-timeout watchdogs end it.
 */
export function overMemory(
  c: PluginCore,
  conn: PluginConnection | undefined,
  heap: number,
  external: number,
): void {
  c.externalBytes = external;
  const cap = c.o.maxMemoryMB;
  if (cap === undefined || conn === undefined || c.conn !== conn) return;
  const mib = (heap + external) / 2 ** 20;
  if (mib <= cap) return;
  void conn.kill(
    "memory",
    `its heap and buffers reached ${mib.toFixed(0)} MiB (${
      (external / 2 ** 20).toFixed(0)
    } MiB of buffers), ` +
      `over MaxMemoryMB ${cap}`,
  );
}

/**
 * The hard CPU action for `conn`: a plugin with a budget whose loop stops reporting is pinged, then ended.
 * Stops watching when the connection ends.
 */
export function watchCpu(c: PluginCore, conn: PluginConnection): void {
  c.cpu.lastSeen = Date.now();
  const watchdog = c.o.maxCpuPercent === undefined ? undefined : setInterval(() => {
    if (c.conn === conn && Date.now() - c.cpu.lastSeen > HARD_CPU_MS) void probe(c, conn, "cpu");
  }, 1000);
  void conn.exited.then(() => clearInterval(watchdog));
}

/** A usage report: soft CPU action (stop routing calls while over budget), heap for the metrics. */
export function usage(
  c: PluginCore,
  blockedMs: number,
  intervalMs: number,
  heapUsed: number,
  tickMs: number,
): void {
  c.cpu.record(blockedMs, intervalMs);
  c.heapUsed = heapUsed;
  c.lagMs = blockedMs / Math.max(1, intervalMs / tickMs); // mean lateness per tick of the usage timer
  const over = c.cpu.over;
  if (over !== c.throttled) {
    c.throttled = over;
    if (over) {
      c.log.warn(
        "plugin {id} is over its CPU budget ({percent}%): new calls are refused until it is not",
        {
          id: c.id,
          percent: Math.round(c.cpu.percent),
        },
      );
    } else c.log.info("plugin {id} is back within its CPU budget", { id: c.id });
  }
}
