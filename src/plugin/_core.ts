/**
 * Internal: the state of one `Plugin` and the primitives every part of it uses (one operation at a
 * time, lifecycle hooks, draining, failing). The other `_` modules of plugin/ work on this state.
 *
 * @module
 */

import { hookError } from "./_hook_error.ts";
import { getLogger, type Logger } from "../_npm/logtape.ts";
import type { PluginConnection, WireTraffic } from "../isolation/tier.ts";
import { Lifecycle, type PluginState } from "../lifecycle/lifecycle.ts";
import { CallMetrics } from "./metrics.ts";
import type { HealthReport } from "../plugin_api.ts";
import type { PluginHandle, PluginOptions } from "./types.ts";
import { CpuBudget } from "../permissions/cpu_budget.ts";
import { DEFAULT_LOG_RATE, LogBudget } from "../logging/log_rate.ts";

/** What a `Plugin` holds, shared with its helper modules. */
export class PluginCore {
  o: PluginOptions;
  readonly life: Lifecycle;
  readonly metrics: CallMetrics = new CallMetrics();
  readonly traffic: WireTraffic = { messagesSent: 0, messagesReceived: 0, sharedCalls: 0 };
  readonly log: Logger;
  conn: PluginConnection | undefined;
  lastError: Error | undefined;
  queue: Promise<unknown> = Promise.resolve();
  everStarted = false;
  /** False from the moment a stop is asked for, so no call slips in while the stop waits its turn. */
  accepting = false;
  lastExit: PluginHandle["lastExit"];
  cpu: CpuBudget;
  /** The plugin's log budget (none when the host sets no limit); kept across restarts and reloads. */
  readonly logs: LogBudget | undefined;
  heapUsed: number | undefined;
  /** Memory outside its heap (ArrayBuffers), from its last usage report. */
  externalBytes: number | undefined;
  throttled = false;
  lagMs: number | undefined;
  readonly healthHistory: (HealthReport & { readonly at: number })[] = [];
  probing = false;

  constructor(options: PluginOptions) {
    this.o = options;
    this.cpu = new CpuBudget(options.maxCpuPercent);
    this.logs = options.logRate === false ? undefined : new LogBudget(options.logRate ?? DEFAULT_LOG_RATE);
    this.log = getLogger(["dotcompute", "plugin", this.id]);
    this.life = new Lifecycle(this.id, (change) => options.events.emit("state", change));
  }

  get id(): string {
    return this.o.discovered.manifest.id;
  }

  get state(): PluginState {
    return this.life.state;
  }

  serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.queue.then(op, op);
    this.queue = next.catch(() => {});
    return next;
  }

  hook(name: "initialize" | "start" | "stop"): Promise<unknown> {
    return this.conn!.call("hook", name, [], { timeoutMs: this.o.hookTimeoutMs }).catch((e: unknown) => {
      throw hookError(name, e, this.o.discovered.dir);
    });
  }

  async drain(conn: PluginConnection | undefined = this.conn): Promise<void> {
    if (!conn || conn.pending === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, this.o.drainTimeoutMs));
    await Promise.race([conn.idle(), timeout]);
    clearTimeout(timer);
  }

  async fail(error: unknown): Promise<void> {
    const e = error instanceof Error ? error : new Error(String(error));
    const cause = e;
    this.lastError = cause;
    this.metrics.recordError(cause);
    this.metrics.runningSince = undefined;
    const conn = this.conn;
    this.conn = undefined;
    if (this.state !== "Failed" && this.state !== "Unloaded") this.life.moveTo("Failed", cause.message);
    this.log.error("plugin failed: {message}", { message: cause.message });
    await conn?.terminate(`failed: ${cause.message}`);
  }
}
