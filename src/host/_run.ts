/**
 * Internal: a host's run, from start to stop. Start watches the config file and plugin folders, discovers the
 * plugins and starts them dependencies first; stop ends all that in reverse. Health checks run in between.
 *
 * @module
 */

import { getLogger } from "../_npm/logtape.ts";
import type { DebouncedWatcher } from "../_common/watch.ts";
import type { Dependencies } from "../deps/dependencies.ts";
import { discoverPlugins } from "../discovery/discovery.ts";
import { watchPluginFolders } from "../discovery/watch.ts";
import { PluginHostError } from "../errors.ts";
import type { SelfHealer } from "../health/self_heal.ts";
import type { ConfigKeeper } from "./_config.ts";
import type { Control } from "./_control.ts";
import type { Definitions } from "./_definition.ts";
import type { Registry } from "./_registry.ts";
import type { Reloader } from "./_reload.ts";
import { signatureCheck } from "./_trust.ts";
import type { AdminServer } from "./types.ts";
import { watchConfigFile } from "./config_watch.ts";
import type { Fleet } from "../cluster/fleet.ts";
import type { FleetSource } from "../cluster/types.ts";

const log = getLogger(["dotcompute", "host"]);

/** What a run starts and stops. */
export interface RunParts {
  readonly registry: Registry;
  readonly config: ConfigKeeper;
  readonly definitions: Definitions;
  readonly control: Control;
  readonly reloader: Reloader;
  readonly deps: Dependencies;
  readonly healer: SelfHealer | undefined;
  /** The admin servers serving this host: stop shuts them down. */
  readonly admins: ReadonlySet<AdminServer>;
  /** The plugins folder. */
  readonly dir: string;
  /** PluginHostOptions.watchConfig. */
  readonly watchConfig: boolean;
  /** What the fleet (`Plugins.Cluster`) reads from the host. */
  readonly fleetSource: FleetSource;
}

/** Whether the host runs, and what runs while it does (timers, watchers, the start order). */
export class HostRun {
  readonly #p: RunParts;
  #running = false;
  #started = false;
  #levels: (readonly string[])[] = [];
  #healthTimer: ReturnType<typeof setInterval> | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #configWatcher: DebouncedWatcher | undefined;
  #pluginWatcher: DebouncedWatcher | undefined;
  #fleet: Fleet | undefined;

  constructor(parts: RunParts) {
    this.#p = parts;
  }

  /** Between start() and stop(): self-healing only restarts plugins of a running host. */
  get running(): boolean {
    return this.#running;
  }

  /** Once start() has discovered the plugins and started every enabled one (until stop()): GET /ready. */
  get started(): boolean {
    return this.#started;
  }

  /** The fleet this run joined (`Plugins.Cluster`), once it has. */
  get fleet(): Fleet | undefined {
    return this.#fleet;
  }

  /** `PluginHost.start`. */
  async start(): Promise<void> {
    const { registry, config, deps, control, definitions } = this.#p;
    this.#running = true;
    await this.#join();
    this.#healthTimer ??= setInterval(() => void this.#checkHealth(), config.current.healthCheckIntervalMs);
    this.#watch();
    const results = await discoverPlugins(this.#p.dir, { verify: signatureCheck(config.current) });
    registry.forgetFailures();
    for (let r of results) {
      if (r.ok) {
        try {
          if (!registry.plugins.has(r.plugin.manifest.id)) registry.add(definitions.create(r.plugin));
          continue;
        } catch (e) {
          // A plugin that cannot even be set up fails alone, never the host's start.
          const id = r.plugin.manifest.id;
          const message = `Cannot set up plugin "${id}": ${e}`;
          const error = new PluginHostError("LOAD_FAILED", message, { pluginId: id });
          r = { ok: false, dir: r.dir, id: r.plugin.manifest.id, error };
        }
      }
      registry.refuse({
        dir: r.dir,
        message: r.error.message,
        at: Date.now(),
        ...(r.id ? { id: r.id } : {}),
      });
    }
    this.#levels = deps.resolve();
    for (const level of this.#levels) {
      await Promise.all(level.map((id) => control.startIfEnabled(registry.get(id))));
    }
    this.#started = this.#running;
    // The fleet's decisions and bundles once this host's own plugins run: a bundle never races discovery.
    await this.#fleet?.openStores(config.current.cluster?.bundles === true);
    clearTimeout(this.#idleTimer);
    this.#sweepIdle(); // now that the plugins are known: their IdleTimeout sets the pace
  }

  /** `PluginHost.stop`. */
  async stop(): Promise<void> {
    const { registry, config, deps, healer, admins } = this.#p;
    this.#running = false;
    this.#started = false;
    // The fleet first: its goodbye sends the others' calls elsewhere, and the drain answers the ones in flight
    // here while the plugins still run.
    await this.#fleet?.close();
    this.#fleet = undefined;
    clearInterval(this.#healthTimer);
    this.#healthTimer = undefined;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    await healer?.[Symbol.asyncDispose]();
    await this.#configWatcher?.close({ discard: true });
    this.#configWatcher = undefined;
    await this.#pluginWatcher?.close({ discard: true });
    this.#pluginWatcher = undefined;
    await config.settled();
    await deps.close();
    for (const level of [...this.#levels].reverse()) {
      await Promise.all(
        level.map((id) => registry.plugins.get(id)?.unload().catch((e) => log.error("{e}", { e }))),
      );
    }
    // Plugins added after start (none yet) or outside the levels.
    await Promise.all([...registry.plugins.values()].map((p) => p.unload()));
    await Promise.all([...admins].map((server) => server.shutdown()));
  }

  /**
   * Joins the fleet of `Plugins.Cluster`, loading the NATS client only then. Servers out of reach are an
   * error in the log, not a failed start: the host serves its own plugins without the fleet.
   */
  async #join(): Promise<void> {
    const cluster = this.#p.config.current.cluster;
    if (!cluster || this.#fleet) return;
    try {
      const { Fleet } = await import("../cluster/fleet.ts");
      this.#fleet = await Fleet.join(cluster, this.#p.fleetSource);
      log.info("joined fleet {name} as {hostId}", { name: cluster.name, hostId: this.#fleet.hostId });
    } catch (e) {
      log.error("not in fleet {name}: {error}", { name: cluster.name, error: String(e) });
    }
  }

  /** The config file (unless told not to) and the plugin folders: hot reload off, failed ones are retried. */
  #watch(): void {
    const { config, reloader, dir, watchConfig } = this.#p;
    const file = config.current.configFile;
    if (file && watchConfig && !this.#configWatcher) {
      this.#configWatcher = watchConfigFile(file, {
        delayMs: () => config.current.reloadDelayMs,
        onChange: () => config.reload().then(() => {}),
      });
    }
    if (this.#pluginWatcher) return;
    try {
      this.#pluginWatcher = watchPluginFolders(dir, {
        delayMs: () => config.current.reloadDelayMs,
        onFolder: (folder) =>
          config.current.enableHotReload
            ? reloader.folderChanged(folder)
            : reloader.failedFolderChanged(folder),
      });
    } catch (e) {
      if (config.current.enableHotReload) throw e;
      log.debug("plugins folder {dir} is not watched: {error}", { dir, error: String(e) });
    }
  }

  /**
   * `IdleTimeout`: one timer for the host, not one per plugin. It runs about four times per shortest timeout
   * (so a plugin stops within a quarter of its timeout after it is due), every 5 s when no plugin has one.
   */
  #sweepIdle(): void {
    if (!this.#running) return;
    let shortest = Infinity;
    for (const p of this.#p.registry.plugins.values()) {
      const idle = p.idleTimeoutMs;
      if (idle === undefined) continue;
      shortest = Math.min(shortest, idle);
      if (p.state === "Running") void p.sleepIfIdle(idle).catch((e) => log.error("{e}", { e }));
    }
    this.#idleTimer = setTimeout(() => this.#sweepIdle(), Math.min(5000, Math.max(25, shortest / 4)));
    Deno.unrefTimer(this.#idleTimer as unknown as number);
  }

  /** Every HealthCheckInterval: each running plugin's ping and health(); a stuck one is ended (and healed). */
  async #checkHealth(): Promise<void> {
    const running = [...this.#p.registry.plugins.values()].filter((p) => p.state === "Running");
    await Promise.all(running.map((p) => p.checkHealth()));
  }
}
