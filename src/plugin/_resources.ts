/**
 * Internal: a plugin's resource limits at work. The soft CPU action (stop routing calls while over budget), the
 * hard one (a loop that stops reporting is pinged, then ended), and the heap, lag and CPU numbers of its metrics.
 *
 * @module
 */

import type { Logger } from "../_npm/logtape.ts";
import { PluginHostError } from "../errors.ts";
import type { PluginConnection } from "../isolation/tier.ts";
import type { ResourceUsage } from "./metrics.ts";
import { CpuBudget, WINDOW_MS } from "../permissions/cpu_budget.ts";
import { HARD_CPU_MS } from "./_health.ts";
import type { PluginOptions } from "./types.ts";

/** What the watch needs of its plugin. */
export interface ResourceOwner {
  readonly id: string;
  readonly log: Logger;
  /** Whether `conn` is still the one calls go to: a replaced or ended one is not acted on. */
  isCurrent(conn: PluginConnection): boolean;
  /** Ping `conn`; end it (reason cpu) when it does not answer. */
  probeCpu(conn: PluginConnection): Promise<void>;
}

/** One plugin's CPU, heap, buffers and lag, from its usage reports; kept across restarts and reloads. */
export class ResourceWatch {
  readonly #cpu: CpuBudget;
  readonly #owner: ResourceOwner;
  #heapUsed: number | undefined;
  /** Memory outside its heap (ArrayBuffers), from its last usage report. */
  #externalBytes: number | undefined;
  #throttled = false;
  #lagMs: number | undefined;

  constructor(owner: ResourceOwner, maxCpuPercent: number | undefined) {
    this.#owner = owner;
    this.#cpu = new CpuBudget(maxCpuPercent);
  }

  /** Over its CPU budget: calls are refused until it is not. */
  get throttled(): boolean {
    return this.#throttled;
  }

  /** The error of a call refused because the plugin is over its CPU budget. */
  overloaded(): PluginHostError {
    const { id } = this.#owner, cpu = this.#cpu;
    return new PluginHostError(
      "PLUGIN_OVERLOADED",
      `Plugin "${id}" is over its CPU budget (${cpu.percent.toFixed(0)}% of one core over the last ${
        WINDOW_MS / 1000
      } s; MaxCpuPercent ${cpu.maxPercent}): try again later`,
      { pluginId: id },
    );
  }

  /** The resource part of the plugin's metrics, under options `o`. */
  snapshot(o: PluginOptions, lastExitKind: string | undefined): ResourceUsage {
    return {
      ...(o.maxMemoryMB ? { maxMemoryMB: o.maxMemoryMB } : {}),
      ...(o.maxCpuPercent ? { maxCpuPercent: o.maxCpuPercent } : {}),
      cpuPercent: Math.round(this.#cpu.percent * 10) / 10,
      ...(this.#heapUsed !== undefined ? { heapUsedBytes: this.#heapUsed } : {}),
      ...(this.#externalBytes !== undefined ? { externalBytes: this.#externalBytes } : {}),
      ...(this.#lagMs !== undefined ? { eventLoopLagMs: Math.round(this.#lagMs * 100) / 100 } : {}),
      throttled: this.#throttled,
      ...(lastExitKind ? { lastExitKind } : {}),
    };
  }

  /**
   * `MaxMemoryMB` (`cap`) counts the heap (the plugin's thread ends at its heap cap by itself) and, from the
   * plugin's usage reports, its ArrayBuffers too, which no heap cap sees: past the cap the plugin is ended with
   * reason memory. The report is the runtime's, taken each tick (100 ms for a plugin with limits); a plugin that
   * stops its event loop stops reporting, and the CPU and call-timeout watchdogs end it.
   */
  overMemory(
    conn: PluginConnection | undefined,
    heap: number,
    external: number,
    cap: number | undefined,
  ): void {
    this.#externalBytes = external;
    if (cap === undefined || conn === undefined || !this.#owner.isCurrent(conn)) return;
    const mib = (heap + external) / 2 ** 20;
    if (mib <= cap) return;
    const buffers = (external / 2 ** 20).toFixed(0);
    void conn.kill(
      "memory",
      `its heap and buffers reached ${
        mib.toFixed(0)
      } MiB (${buffers} MiB of buffers), over MaxMemoryMB ${cap}`,
    );
  }

  /**
   * The hard CPU action for `conn`: a plugin with a budget whose loop stops reporting is pinged, then ended.
   * Stops watching when the connection ends.
   */
  watch(conn: PluginConnection, maxCpuPercent: number | undefined): void {
    this.#cpu.restartClock();
    const watchdog = maxCpuPercent === undefined ? undefined : setInterval(() => {
      const silent = Date.now() - this.#cpu.lastSeen > HARD_CPU_MS;
      if (silent && this.#owner.isCurrent(conn)) void this.#owner.probeCpu(conn);
    }, 1000);
    void conn.exited.then(() => clearInterval(watchdog));
  }

  /** A usage report: soft CPU action (stop routing calls while over budget), heap for the metrics. */
  usage(blockedMs: number, intervalMs: number, heapUsed: number, tickMs: number): void {
    const cpu = this.#cpu, { id, log } = this.#owner;
    cpu.record(blockedMs, intervalMs);
    this.#heapUsed = heapUsed;
    this.#lagMs = blockedMs / Math.max(1, intervalMs / tickMs); // mean lateness per tick of the usage timer
    const over = cpu.over;
    if (over === this.#throttled) return;
    this.#throttled = over;
    if (over) {
      log.warn("plugin {id} is over its CPU budget ({percent}%): new calls are refused until it is not", {
        id,
        percent: Math.round(cpu.percent),
      });
    } else log.info("plugin {id} is back within its CPU budget", { id });
  }
}
