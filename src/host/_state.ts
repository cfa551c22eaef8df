/**
 * Internal: the state of a plugin host, shared by the `_` modules of host/ that do its work, and the primitives they
 * all use (finding a plugin, starting one unless disabled).
 *
 * @module
 */

import { failsOnEveryTry } from "../plugin/failure_kind.ts";
import type { LogRate } from "../logging/log_rate.ts";
import { getLogger } from "../_npm/logtape.ts";
import type { AdminServer } from "./types.ts";
import type { HostConfig } from "../config/config.ts";
import type { DebouncedWatcher } from "../_common/watch.ts";
import { PluginHostError } from "../errors.ts";
import { type DiscoveryFailureEvent, Emitter, type HostEventMap } from "../events/events.ts";
import { Dependencies } from "../deps/dependencies.ts";
import type { IsolationTier } from "../isolation/tier.ts";
import { WorkerTier } from "../isolation/worker_tier.ts";
import { ProcessTier } from "../isolation/process_tier.ts";
import { ApprovalGate } from "./approvals.ts";
import { SelfHealer } from "../health/self_heal.ts";
import type { PluginHostOptions } from "./types.ts";
import type { Plugin } from "../plugin/plugin.ts";

const log = getLogger(["dotcompute", "host"]);

/** What a host holds. */
export class HostState {
  config: HostConfig;
  readonly events: Emitter<HostEventMap> = new Emitter<HostEventMap>((e) =>
    log.error("an event listener threw: {error}", { error: e })
  );
  readonly approvals: ApprovalGate = new ApprovalGate(this.events);
  readonly plugins: Map<string, Plugin> = new Map<string, Plugin>();
  readonly tiers: Readonly<Record<string, IsolationTier>>;
  readonly dir: string;
  failures: DiscoveryFailureEvent[] = [];
  readonly disabled: Set<string> = new Set<string>();
  readonly deps: Dependencies = new Dependencies({
    plugins: this.plugins,
    disabled: this.disabled,
    events: this.events,
  });
  levels: (readonly string[])[] = [];
  readonly admins: Set<AdminServer> = new Set<AdminServer>();
  readonly watchConfig: boolean;
  /** PluginHostOptions.logRate, for every plugin. */
  readonly logRate: LogRate | false | undefined;
  configWatcher: DebouncedWatcher | undefined;
  pluginWatcher: DebouncedWatcher | undefined;
  healer: SelfHealer | undefined;
  healthTimer: ReturnType<typeof setInterval> | undefined;
  /** Between start() and stop(): self-healing only restarts plugins of a running host. */
  running = false;
  /** Once start() has discovered the plugins and started every enabled one (until stop()): GET /ready. */
  started = false;
  /** Config changes are applied one at a time, in order. */
  configQueue: Promise<unknown> = Promise.resolve();

  constructor(config: HostConfig, options: PluginHostOptions) {
    this.config = config;
    this.watchConfig = options.watchConfig ?? true;
    this.logRate = options.logRate;
    this.tiers = options.tiers ?? { worker: new WorkerTier(), process: new ProcessTier() };
    this.dir = options.pluginsDirectory ?? config.pluginsDirectory;
    if (options.restartPolicy !== false) {
      const healer = new SelfHealer({
        restart: async (id) => void await this.get(id).start(),
        wanted: (id) => this.running && this.plugins.has(id) && !this.disabled.has(id),
        emit: (e) => this.events.emit("heal", e),
        quarantine: (id, reason) => this.plugins.get(id)?.quarantine(reason),
      }, options.restartPolicy);
      this.healer = healer;
      this.events.on("crash", (e) => healer.onDeath(e.id, e.reason));
    }
  }

  get(id: string): Plugin {
    const p = this.plugins.get(id);
    if (!p) throw new PluginHostError("PLUGIN_NOT_FOUND", `No plugin "${id}"`, { pluginId: id });
    return p;
  }

  async startIfEnabled(p: Plugin): Promise<void> {
    if (this.disabled.has(p.id)) {
      log.info("plugin {id} is disabled", { id: p.id });
      return;
    }
    if (!await this.deps.admit(p)) return;
    await p.start().catch((e) => {
      log.error("{message}", { message: e.message });
      if (failsOnEveryTry(e)) {
        log.warn(
          "plugin {id} is not retried: it fails the same way on every try (its files, or the host's own " +
            "flags); it starts again when its files change (with hot reload) or on POST /plugins/{id}/start",
          { id: p.id },
        );
        return;
      }
      this.healer?.onDeath(p.id, e.message);
    });
  }
}
