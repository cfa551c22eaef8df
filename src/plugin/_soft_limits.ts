/**
 * Internal: a plugin's soft limits (`SoftMemoryMB`, `SoftCpuPercent`, `MaxLifetime`). An instance that passes
 * one is retired, once: a fresh instance takes its new calls and it finishes its own, where a hard limit ends it
 * at once. Each instance (a worker, a process, one replica) is judged on its own usage reports and its own age.
 *
 * @module
 */

import type { RetireReason } from "../lifecycle/shutdown.ts";
import type { PluginConnection } from "../isolation/tier.ts";
import type { UsageMessage } from "../rpc/protocol.ts";
import { CpuBudget, WINDOW_MS } from "../permissions/cpu_budget.ts";
import type { PluginOptions } from "./types.ts";

/** An instance younger than this is not retired for its memory or CPU (see `usage`). */
const MIN_AGE_MS = 2000;

/** Asks for `conn` to be retired: `detail` says which limit, in words for an operator. */
export type Retire = (conn: PluginConnection, reason: RetireReason, detail: string) => void;

/** The soft limits of one plugin's instances. */
export class SoftLimits {
  readonly #retire: Retire;
  readonly #cpu = new WeakMap<PluginConnection, CpuBudget>();
  /** Instances already asked to retire: one retirement each, however many reports still arrive. */
  readonly #retired = new WeakSet<PluginConnection>();
  /** When each instance started (`performance.now()`). */
  readonly #born = new WeakMap<PluginConnection, number>();

  constructor(retire: Retire) {
    this.#retire = retire;
  }

  /** A new instance under options `o`: its lifetime starts now. */
  watch(conn: PluginConnection, o: PluginOptions): void {
    this.#born.set(conn, performance.now());
    if (o.softCpuPercent) this.#cpu.set(conn, new CpuBudget(o.softCpuPercent));
    const lifetime = o.maxLifetimeMs;
    if (!lifetime) return;
    const timer = setTimeout(
      () => this.#ask(conn, "retired:lifetime", `it has run for its MaxLifetime (${lifetime} ms)`),
      lifetime,
    );
    Deno.unrefTimer(timer); // a plugin's lifetime never keeps the host alive
    void conn.exited.then(() => clearTimeout(timer));
  }

  /** One usage report of `conn` under options `o`. */
  usage(conn: PluginConnection, o: PluginOptions, m: UsageMessage): void {
    // Usage reports are the plugin's thread's word: a plugin can forge them. Judging none in an instance's first
    // MIN_AGE_MS bounds what forging can do to one retirement per instance per MIN_AGE_MS (no respawn storm);
    // evading a soft limit is possible, which is why the hard limits do not rest on these reports alone.
    if (this.#retired.has(conn) || performance.now() - (this.#born.get(conn) ?? 0) < MIN_AGE_MS) return;
    const mib = (m.heapUsed + (m.external ?? 0)) / 2 ** 20;
    if (o.softMemoryMB && mib > o.softMemoryMB) {
      return this.#ask(
        conn,
        "retired:memory",
        `its heap and buffers reached ${mib.toFixed(0)} MiB, over SoftMemoryMB ${o.softMemoryMB}`,
      );
    }
    const cpu = this.#cpu.get(conn);
    if (!cpu) return;
    cpu.record(m.blockedMs, m.intervalMs);
    if (cpu.over) {
      const over = `${cpu.percent.toFixed(0)}% of one core over the last ${WINDOW_MS / 1000} s`;
      this.#ask(conn, "retired:cpu", `it used ${over}, over SoftCpuPercent ${o.softCpuPercent}`);
    }
  }

  #ask(conn: PluginConnection, reason: RetireReason, detail: string): void {
    if (this.#retired.has(conn) || conn.gone) return;
    this.#retired.add(conn);
    this.#retire(conn, reason, detail);
  }
}
