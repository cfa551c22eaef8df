/**
 * Health changes for the admin API's `/events` stream: what a plugin's state implies at once (Running healthy,
 * Failed unhealthy, anything else unknown), refined by asking each Running plugin on `HealthCheckInterval`.
 * It runs only while someone listens.
 *
 * @module
 */

import type { PluginHost } from "../host/types.ts";
import type { StateChange } from "../lifecycle/lifecycle.ts";
import type { HealthStatus } from "./views.ts";

/** A plugin's health changed; sent on `/events` as `event: health`. */
export interface HealthChangeEvent {
  /** The plugin. */
  readonly id: string;
  /** The health before. */
  readonly from: HealthStatus;
  /** The health now. */
  readonly to: HealthStatus;
  /** What the plugin reported with it, when it was asked. */
  readonly details?: Readonly<Record<string, unknown>>;
  /** When, in ms since the epoch. */
  readonly at: number;
}

const implied = (state: string): HealthStatus =>
  state === "Running" ? "healthy" : state === "Failed" ? "unhealthy" : "unknown";

/**
 * Watches the host's plugins' health while it has listeners: a state change is reported at once, and every
 * `intervalMs` (default the host's `HealthCheckInterval`) each Running plugin is asked (bounded by 5 s).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { testPlugin } from "@dotcompute/plugins/testing";
 * import { HealthWatch } from "./health_events.ts";
 * await using hello = await testPlugin("plugins/hello");
 * const seen: string[] = [];
 * const off = new HealthWatch(hello.host).subscribe((e) => seen.push(`${e.id}: ${e.from} → ${e.to}`));
 * await hello.host.stopPlugin("hello.world");
 * off();
 * assert.deepEqual(seen, ["hello.world: healthy → unknown"]);
 * ```
 */
export class HealthWatch {
  readonly #host: PluginHost;
  readonly #intervalMs: number | undefined;
  readonly #last = new Map<string, HealthStatus>();
  readonly #listeners = new Set<(event: HealthChangeEvent) => void>();
  #offState: (() => void) | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #checking = false;

  /** Watches `host`; nothing runs until the first {@linkcode HealthWatch.subscribe}. */
  constructor(host: PluginHost, options: { readonly intervalMs?: number } = {}) {
    this.#host = host;
    this.#intervalMs = options.intervalMs;
  }

  /** Adds a listener (the first one starts the watch); returns a function that removes it. */
  subscribe(listener: (event: HealthChangeEvent) => void): () => void {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) {
      this.#offState = this.#host.on("state", (change) => this.#onState(change));
      const interval = this.#intervalMs ?? this.#host.config.healthCheckIntervalMs;
      this.#timer = setInterval(() => void this.checkAll(), Math.max(250, interval));
    }
    return () => {
      if (!this.#listeners.delete(listener) || this.#listeners.size > 0) return;
      this.#offState?.();
      this.#offState = undefined;
      clearInterval(this.#timer);
      this.#last.clear();
    };
  }

  /** Asks every Running plugin for its health now and reports what changed. Overlapping rounds are skipped. */
  async checkAll(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      await Promise.all(this.#host.getPlugins().map((p) => this.#check(p.id)));
    } catch {
      // A host that cannot list its plugins (stopping) simply has nothing to report this round.
    } finally {
      this.#checking = false;
    }
  }

  #onState(change: StateChange): void {
    const before = this.#last.get(change.id) ?? implied(change.from);
    this.#set(change.id, before, implied(change.to));
    if (change.to === "Running") void this.#check(change.id);
  }

  async #check(id: string): Promise<void> {
    const p = this.#host.getPlugin(id);
    if (!p) return;
    if (p.state !== "Running") return this.#set(id, this.#last.get(id) ?? implied(p.state), implied(p.state));
    const report = await p.checkHealth({ timeoutMs: 5000 });
    if (p.state !== "Running" || this.#listeners.size === 0) return;
    this.#set(id, this.#last.get(id) ?? "healthy", report.status, report.details);
  }

  #set(id: string, from: HealthStatus, to: HealthStatus, details?: Readonly<Record<string, unknown>>): void {
    this.#last.set(id, to);
    if (from === to) return;
    const event: HealthChangeEvent = { id, from, to, ...(details ? { details } : {}), at: Date.now() };
    for (const listener of [...this.#listeners]) listener(event);
  }
}
