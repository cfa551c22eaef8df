/**
 * `createPluginHost`: wires configuration, discovery, permissions, tiers and plugins into one host.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { fileURLToPath } from "node:url";
import { type AdminServer, type ServeAdminOptions, startAdminServer } from "./admin/server.ts";
import {
  type HostConfig,
  isHostConfig,
  loadConfig,
  normalizeConfig,
  pluginConfigFor,
  securityFor,
} from "./config.ts";
import { planPluginChange, watchConfigFile } from "./config_reload.ts";
import type { DebouncedWatcher } from "./_watch.ts";
import { discoverPlugins } from "./discovery.ts";
import { ConfigError, type Diagnostic, formatDiagnostic, PluginHostError } from "./errors.ts";
import {
  type ConfigChange,
  type ConfigEvent,
  type DiscoveryFailureEvent,
  Emitter,
  type HostEventMap,
  type ReloadEvent,
} from "./events.ts";
import { Dependencies } from "./dependencies.ts";
import { findService, routePluginCall, type ServiceHandle } from "./services.ts";
import type { IsolationTier } from "./isolation/tier.ts";
import { WorkerTier } from "./isolation/worker_tier.ts";
import { ProcessTier } from "./isolation/process_tier.ts";
import type { PluginState } from "./lifecycle.ts";
import type { DiscoveredPlugin } from "./plugin_folder.ts";
import { inspectVerified, signatureCheck } from "./_host_trust.ts";
import { ApprovalGate, type PendingApproval } from "./approvals.ts";
import { watchPluginFolders } from "./hot_reload.ts";
import type { RestartPolicy } from "./restart_policy.ts";
import { SelfHealer } from "./self_heal.ts";
import { computePermissions } from "./permissions.ts";
import { Plugin, type PluginHandle, type PluginOptions } from "./plugin.ts";
import type { PluginMethods } from "./plugin_api.ts";
import { mergeSettings } from "./_settings.ts";
import { nodeProcessWrapped } from "./_scope_probe.ts";

/** Host-wide numbers. */
export interface HostStatistics {
  /** Plugins known to the host (discovery failures not included). */
  readonly total: number;
  /** How many plugins are in each state. */
  readonly byState: Readonly<Partial<Record<PluginState, number>>>;
  /** Calls made to all plugins. */
  readonly calls: number;
  /** Calls that failed. */
  readonly errors: number;
  /** Plugin folders that discovery could not use. */
  readonly discoveryFailures: number;
  /** Workers and processes alive now, across tiers (a plugin mid-swap has two). */
  readonly workers: number;
}

/** Options of {@linkcode createPluginHost}. */
export interface PluginHostOptions {
  /** Overrides `Plugins.PluginsDirectory`. */
  readonly pluginsDirectory?: string;
  /** Tiers by name; default `{ worker: new WorkerTier(), process: new ProcessTier() }`. */
  readonly tiers?: Readonly<Record<string, IsolationTier>>;
  /**
   * Watch the config file and apply its changes while the host runs (only for a host created from a file).
   * Default: true.
   */
  readonly watchConfig?: boolean;
  /**
   * Self-healing: how plugins that die unasked (or fail to start) are restarted, with growing delays, until
   * they are quarantined. `false` turns it off. Default: {@linkcode DEFAULT_RESTART_POLICY}.
   */
  readonly restartPolicy?: Partial<RestartPolicy> | false;
}

/** A running plugin host. Dispose it (`await using`) or call {@linkcode PluginHost.stop}. */
export interface PluginHost extends AsyncDisposable {
  /** The configuration in force (it changes when a new one is applied). */
  readonly config: HostConfig;
  /** Problems in the configuration that did not stop it loading (unknown keys...). */
  readonly warnings: readonly Diagnostic[];
  /** Discovers the plugins and starts every enabled one, dependencies first. One failure never stops others. */
  start(): Promise<void>;
  /** Stops every plugin (dependents first) and ends their workers. */
  stop(): Promise<void>;
  /**
   * The plugin with this id, or undefined. Name the plugin's type (`typeof plugin` of its default export, or
   * `typeof MyPlugin` for a class) and `call` checks method names, arguments and results at compile time —
   * an assertion the host cannot verify at run time, like a cast.
   */
  getPlugin<P = unknown>(id: string): PluginHandle<PluginMethods<P>> | undefined;
  /** Every plugin known to the host. */
  getPlugins(): PluginHandle[];
  /** Host-wide numbers. */
  getStatistics(): HostStatistics;
  /** Plugin folders that discovery could not use, with why. */
  getDiscoveryFailures(): readonly DiscoveryFailureEvent[];
  /** New versions held because they ask for more permissions than the running ones, oldest first. */
  getPendingApprovals(): readonly PendingApproval[];
  /** Approves the held version of a plugin and reloads it (held again if its folder asks for more since). */
  approve(id: string): Promise<PluginHandle>;
  /** Drops the held version of a plugin; the running version stays. */
  reject(id: string): PendingApproval;
  /** Starts one plugin (from Stopped, Unloaded or Failed). */
  startPlugin(id: string): Promise<PluginHandle>;
  /** Stops one plugin and ends its worker. */
  stopPlugin(id: string): Promise<PluginHandle>;
  /** Reads the plugin's folder again and restarts it with what is there now; the handle stays the same. */
  reload(id: string): Promise<PluginHandle>;
  /**
   * The Running plugin that offers `name` (a capability from `provides`, or a plugin id) in the highest version
   * `range` accepts (default `*`); undefined when none does. Throws `INVALID_RANGE` for a bad range.
   */
  getService<P = unknown>(name: string, range?: string): ServiceHandle<PluginMethods<P>> | undefined;
  /** Marks the plugin enabled and starts it. */
  enable(id: string): Promise<PluginHandle>;
  /** Marks the plugin disabled and stops it; `start()` and `reload()` leave it stopped. */
  disable(id: string): Promise<PluginHandle>;
  /**
   * Serves the admin API (CONTRACT §5); options default to `Plugins.Admin`. Refuses to listen beyond loopback
   * without a token. {@linkcode PluginHost.stop} shuts it down.
   */
  serveAdmin(options?: ServeAdminOptions): Promise<AdminServer>;
  /**
   * Applies a new configuration while running: new settings reach running plugins through `configure`;
   * permission, isolation, limit or timeout changes restart just the plugins concerned; `Enabled` changes
   * stop or start them. Emits a `config` event and resolves with it.
   */
  applyConfig(config: HostConfig | Readonly<Record<string, unknown>>): Promise<ConfigEvent>;
  /**
   * Reads the config file again and applies it. A file that does not parse or validate is rejected with every
   * problem's file:line:col; the last good configuration stays in force. Also runs on every save when watched.
   */
  reloadConfig(): Promise<ConfigEvent>;
  /** Listens to host events; returns a function that removes the listener. */
  on<K extends keyof HostEventMap>(type: K, listener: (event: HostEventMap[K]) => void): () => void;
}

const log = getLogger(["dotcompute", "host"]);

/**
 * Creates a host from a JSONC config file path or a config object (CONTRACT §3). Nothing runs until `start()`.
 *
 * @example
 * ```ts ignore
 * import { createPluginHost } from "@dotcompute/plugins";
 * await using host = await createPluginHost({ Plugins: { PluginsDirectory: "./plugins" } });
 * await host.start();
 * console.log(await host.getPlugin("hello.world")?.call("greet", "Ada"));
 * ```
 */
export async function createPluginHost(
  source: string | Readonly<Record<string, unknown>>,
  options: PluginHostOptions = {},
): Promise<PluginHost> {
  const { config, warnings } = typeof source === "string"
    ? await loadConfig(source)
    : normalizeConfig(source);
  for (const w of warnings) log.warn("config: {warning}", { warning: formatDiagnostic(w) });
  if (!nodeProcessWrapped) {
    log.warn(
      "node:process is not mapped to the plugin-safe wrapper: a plugin in the worker tier could abort the host " +
        "through node:process's named \"abort\" export. Run with this package's import map scopes (see README) " +
        'or use Isolation "process" for untrusted plugins.',
    );
  }
  return new Host(config, warnings, options);
}

const API_PATH = (() => {
  const url = new URL("./plugin_api.ts", import.meta.url);
  return url.protocol === "file:" ? fileURLToPath(url) : undefined;
})();

class Host implements PluginHost {
  #config: HostConfig;
  readonly warnings: readonly Diagnostic[];
  readonly #events = new Emitter<HostEventMap>((e) =>
    log.error("an event listener threw: {error}", { error: e })
  );
  readonly #approvals = new ApprovalGate(this.#events);
  readonly #plugins = new Map<string, Plugin>();
  readonly #tiers: Readonly<Record<string, IsolationTier>>;
  readonly #dir: string;
  #failures: DiscoveryFailureEvent[] = [];
  readonly #disabled = new Set<string>();
  readonly #deps = new Dependencies({
    plugins: this.#plugins,
    disabled: this.#disabled,
    events: this.#events,
  });
  #levels: (readonly string[])[] = [];
  readonly #admins = new Set<AdminServer>();
  readonly #watchConfig: boolean;
  #configWatcher: DebouncedWatcher | undefined;
  #pluginWatcher: DebouncedWatcher | undefined;
  #healer: SelfHealer | undefined;
  #healthTimer: ReturnType<typeof setInterval> | undefined;
  /** Between start() and stop(): self-healing only restarts plugins of a running host. */
  #running = false;
  /** Config changes are applied one at a time, in order. */
  #configQueue: Promise<unknown> = Promise.resolve();

  constructor(config: HostConfig, warnings: readonly Diagnostic[], options: PluginHostOptions) {
    this.#config = config;
    this.#watchConfig = options.watchConfig ?? true;
    this.warnings = warnings;
    this.#tiers = options.tiers ?? { worker: new WorkerTier(), process: new ProcessTier() };
    this.#dir = options.pluginsDirectory ?? config.pluginsDirectory;
    if (options.restartPolicy !== false) {
      const healer = new SelfHealer({
        restart: async (id) => void await this.#get(id).start(),
        wanted: (id) => this.#running && this.#plugins.has(id) && !this.#disabled.has(id),
        emit: (e) => this.#events.emit("heal", e),
        quarantine: (id, reason) => this.#plugins.get(id)?.quarantine(reason),
      }, options.restartPolicy);
      this.#healer = healer;
      this.#events.on("crash", (e) => healer.onDeath(e.id, e.reason));
    }
  }

  get config(): HostConfig {
    return this.#config;
  }

  on<K extends keyof HostEventMap>(type: K, listener: (event: HostEventMap[K]) => void): () => void {
    return this.#events.on(type, listener);
  }

  async start(): Promise<void> {
    this.#running = true;
    this.#healthTimer ??= setInterval(() => void this.#checkHealth(), this.#config.healthCheckIntervalMs);
    const file = this.#config.configFile;
    if (file && this.#watchConfig && !this.#configWatcher) {
      this.#configWatcher = watchConfigFile(file, {
        delayMs: () => this.#config.reloadDelayMs,
        onChange: () => this.reloadConfig().then(() => {}),
      });
    }
    if (this.#config.enableHotReload && !this.#pluginWatcher) {
      this.#pluginWatcher = watchPluginFolders(this.#dir, {
        delayMs: () => this.#config.reloadDelayMs,
        onFolder: (folder) => this.#folderChanged(folder),
      });
    }
    const results = await discoverPlugins(this.#dir, { verify: signatureCheck(this.#config) });
    this.#failures = [];
    for (const r of results) {
      if (r.ok) {
        if (!this.#plugins.has(r.plugin.manifest.id)) {
          this.#plugins.set(r.plugin.manifest.id, this.#create(r.plugin));
        }
        continue;
      }
      const failure = { dir: r.dir, message: r.error.message, at: Date.now(), ...(r.id ? { id: r.id } : {}) };
      this.#failures.push(failure);
      log.error("discovery: {message}", { message: r.error.message });
      this.#events.emit("discoveryFailure", failure);
    }
    this.#levels = this.#deps.resolve();
    for (const level of this.#levels) {
      await Promise.all(level.map((id) => this.#startIfEnabled(this.#plugins.get(id)!)));
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearInterval(this.#healthTimer);
    this.#healthTimer = undefined;
    await this.#healer?.[Symbol.asyncDispose]();
    await this.#configWatcher?.close({ discard: true });
    this.#configWatcher = undefined;
    await this.#pluginWatcher?.close({ discard: true });
    this.#pluginWatcher = undefined;
    await this.#configQueue;
    await this.#deps.close();
    for (const level of [...this.#levels].reverse()) {
      await Promise.all(
        level.map((id) => this.#plugins.get(id)?.unload().catch((e) => log.error("{e}", { e }))),
      );
    }
    // Plugins added after start (none yet) or outside the levels.
    await Promise.all([...this.#plugins.values()].map((p) => p.unload()));
    await Promise.all([...this.#admins].map((s) => s.shutdown()));
  }

  async serveAdmin(options: ServeAdminOptions = {}): Promise<AdminServer> {
    const server = await startAdminServer(this, options);
    this.#admins.add(server);
    void server.finished.finally(() => this.#admins.delete(server));
    return server;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  getPlugin<P = unknown>(id: string): PluginHandle<PluginMethods<P>> | undefined {
    // The type is the caller's claim about the plugin's code (see PluginHost.getPlugin).
    return this.#plugins.get(id) as PluginHandle<PluginMethods<P>> | undefined;
  }

  getPlugins(): PluginHandle[] {
    return [...this.#plugins.values()];
  }

  getService<P = unknown>(name: string, range = "*"): ServiceHandle<PluginMethods<P>> | undefined {
    return findService(this.#plugins.values(), name, range) as ServiceHandle<PluginMethods<P>> | undefined;
  }

  getDiscoveryFailures(): readonly DiscoveryFailureEvent[] {
    return this.#failures;
  }

  getPendingApprovals(): readonly PendingApproval[] {
    return this.#approvals.list();
  }

  async approve(id: string): Promise<PluginHandle> {
    this.#get(id);
    this.#approvals.approve(id);
    return await this.reload(id);
  }

  reject(id: string): PendingApproval {
    return this.#approvals.reject(id);
  }

  getStatistics(): HostStatistics {
    const byState: Partial<Record<PluginState, number>> = {};
    let calls = 0, errors = 0;
    for (const p of this.#plugins.values()) {
      byState[p.state] = (byState[p.state] ?? 0) + 1;
      const m = p.getMetrics();
      calls += m.calls;
      errors += m.errors;
    }
    const workers = Object.values(this.#tiers).reduce((n, t) => n + (t.live ?? 0), 0);
    return {
      total: this.#plugins.size,
      byState,
      calls,
      errors,
      discoveryFailures: this.#failures.length,
      workers,
    };
  }

  async startPlugin(id: string): Promise<PluginHandle> {
    const p = this.#get(id);
    this.#healer?.reset(id); // an operator's start lifts a quarantine
    this.#deps.assertStartable(id);
    await p.start();
    await this.#deps.idle(); // dependents waiting for it are back
    return p;
  }

  async stopPlugin(id: string): Promise<PluginHandle> {
    const p = this.#get(id);
    this.#healer?.reset(id);
    const dependentsFirst = this.#deps.beforeStop(id); // dependents that need it stop first
    if (dependentsFirst) await dependentsFirst;
    await p.unload();
    return p;
  }

  async reload(id: string): Promise<PluginHandle> {
    const plugin = this.#get(id);
    const event = await this.#reload(plugin, "api");
    if (event.outcome === "held") throw this.#approvals.heldError(id);
    if (event.error !== undefined) {
      throw new PluginHostError("RELOAD_FAILED", `Cannot reload plugin "${id}": ${event.error}`, {
        pluginId: id,
      });
    }
    return plugin;
  }

  /** Reloads one plugin from its folder: blue/green when it runs and is HotReloadable, else stop and start. */
  async #reload(plugin: Plugin, trigger: "watch" | "api"): Promise<ReloadEvent> {
    const t0 = performance.now();
    const fromVersion = plugin.version;
    const emit = (outcome: ReloadEvent["outcome"], extra: Partial<ReloadEvent> = {}): ReloadEvent => {
      const event: ReloadEvent = {
        id: plugin.id,
        outcome,
        fromVersion,
        durationMs: performance.now() - t0,
        trigger,
        at: Date.now(),
        ...extra,
      };
      const level = event.error === undefined ? "info" : "error";
      log[level]("reload {id}: {outcome} {fromVersion} → {toVersion}{detail}", {
        ...event,
        toVersion: event.toVersion ?? "?",
        detail: event.error === undefined ? "" : `: ${event.error}`,
      });
      plugin.lastReload = event;
      this.#events.emit("reload", event);
      return event;
    };
    const report = await inspectVerified(plugin.dir, this.#config);
    if (!report.ok) return emit("rolled-back", { error: report.error.message });
    const found = report.plugin;
    const toVersion = found.manifest.version;
    if (found.manifest.id !== plugin.id) {
      return emit("rolled-back", { toVersion, error: `the folder now holds plugin "${found.manifest.id}"` });
    }
    if (this.#approvals.check(plugin, found.manifest)) return emit("held", { toVersion });
    const hot = plugin.manifest.capabilities.includes("HotReloadable");
    if (plugin.state === "Running" && !hot && trigger === "watch") {
      log.warn("plugin {id} changed but is not HotReloadable: restart it to load the new version", {
        id: plugin.id,
      });
      return emit("restart-required", { toVersion });
    }
    const definition = this.#definition(found);
    try {
      if (plugin.state === "Running" && hot) {
        await plugin.swap(definition);
        return emit("swapped", { toVersion });
      }
      await plugin.unload();
      plugin.redefine(definition);
      if (!this.#disabled.has(plugin.id)) await plugin.start();
      return emit("restarted", { toVersion });
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      return emit(plugin.state === "Running" ? "rolled-back" : "restarted", { toVersion, error });
    }
  }

  /** A plugin folder's files settled after a change: reload, add or remove the plugin. */
  async #folderChanged(folder: string): Promise<void> {
    const known = [...this.#plugins.values()].find((p) => p.dir === folder || p.discovered.dir === folder);
    const exists = await Deno.stat(folder).then((s) => s.isDirectory, () => false);
    const t0 = performance.now();
    if (!exists) {
      if (!known) return;
      await known.unload();
      this.#plugins.delete(known.id);
      const event: ReloadEvent = {
        id: known.id,
        outcome: "removed",
        fromVersion: known.version,
        durationMs: performance.now() - t0,
        trigger: "watch",
        at: Date.now(),
      };
      this.#events.emit("reload", event);
      return;
    }
    if (known) return void await this.#reload(known, "watch");
    const report = await inspectVerified(folder, this.#config);
    if (!report.ok) {
      const failure = {
        dir: folder,
        message: report.error.message,
        at: Date.now(),
        ...(report.id ? { id: report.id } : {}),
      };
      this.#failures.push(failure);
      log.error("discovery: {message}", { message: failure.message });
      this.#events.emit("discoveryFailure", failure);
      return;
    }
    const id = report.plugin.manifest.id;
    if (this.#plugins.has(id)) {
      const message = `Plugin folder ${folder} declares id "${id}", already used by ${
        this.#plugins.get(id)!.dir
      }`;
      const failure = { dir: folder, id, message, at: Date.now() };
      this.#failures.push(failure);
      this.#events.emit("discoveryFailure", failure);
      return;
    }
    const plugin = this.#create(report.plugin);
    this.#plugins.set(id, plugin);
    await this.#startIfEnabled(plugin);
    this.#events.emit("reload", {
      id,
      outcome: "added",
      toVersion: plugin.version,
      durationMs: performance.now() - t0,
      trigger: "watch",
      at: Date.now(),
      ...(plugin.lastError ? { error: plugin.lastError.message } : {}),
    });
  }

  async enable(id: string): Promise<PluginHandle> {
    this.#disabled.delete(id);
    return await this.startPlugin(id);
  }

  async disable(id: string): Promise<PluginHandle> {
    this.#disabled.add(id);
    return await this.stopPlugin(id);
  }

  reloadConfig(): Promise<ConfigEvent> {
    const file = this.#config.configFile;
    if (!file) {
      return Promise.reject(
        new PluginHostError("CONFIG_INVALID", "This host was not created from a config file"),
      );
    }
    return this.#serialConfig(async () => {
      try {
        const { config, warnings } = await loadConfig(file);
        for (const w of warnings) log.warn("config: {warning}", { warning: formatDiagnostic(w) });
        return await this.#apply(config);
      } catch (e) {
        const problems = e instanceof ConfigError
          ? e.diagnostics.map(formatDiagnostic)
          : [`${file}: ${e instanceof Error ? e.message : String(e)}`];
        log.error("config rejected, the last good configuration stays in force: {problems}", {
          problems: problems.join("; "),
        });
        const event: ConfigEvent = { outcome: "rejected", file, problems, changes: [], at: Date.now() };
        this.#events.emit("config", event);
        return event;
      }
    });
  }

  applyConfig(config: HostConfig | Readonly<Record<string, unknown>>): Promise<ConfigEvent> {
    const next = isHostConfig(config) ? config : normalizeConfig({ ...config }).config;
    return this.#serialConfig(() => this.#apply(next));
  }

  #serialConfig<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#configQueue.then(op, op);
    this.#configQueue = run.catch(() => {});
    return run;
  }

  async #apply(next: HostConfig): Promise<ConfigEvent> {
    const prev = this.#config;
    if (prev.pluginsDirectory !== next.pluginsDirectory) {
      log.warn("PluginsDirectory changed; it takes effect when the host starts again");
    }
    const plans = [...this.#plugins.values()].flatMap((p) => {
      const target = this.#definition(p.discovered, next);
      const plan = planPluginChange(prev, next, p, target);
      return plan ? [{ plugin: p, plan, target }] : [];
    });
    this.#config = next;
    const changes = await Promise.all(plans.map(async ({ plugin, plan, target }): Promise<ConfigChange> => {
      try {
        if (plan.action === "configure") await plugin.configure(target.settings);
        else if (plan.action === "disable") await this.disable(plugin.id);
        else {
          const wasRunning = plugin.state === "Running";
          if (plan.action === "enable") this.#disabled.delete(plugin.id);
          await plugin.unload();
          plugin.redefine(target);
          if (plan.action === "enable" || (wasRunning && !this.#disabled.has(plugin.id))) {
            await plugin.start();
          }
        }
        log.info("config: {id} {action} ({reason})", { ...plan });
        return { ...plan, ok: true };
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        log.error("config: {id} {action} failed: {error}", { ...plan, error });
        return { ...plan, ok: false, error };
      }
    }));
    const event: ConfigEvent = {
      outcome: "applied",
      ...(next.configFile ? { file: next.configFile } : {}),
      changes,
      at: Date.now(),
    };
    this.#events.emit("config", event);
    return event;
  }

  /** Every HealthCheckInterval: each running plugin's ping and health(); a stuck one is ended (and healed). */
  async #checkHealth(): Promise<void> {
    await Promise.all(
      [...this.#plugins.values()].filter((p) => p.state === "Running").map((p) => p.checkHealth()),
    );
  }

  #get(id: string): Plugin {
    const p = this.#plugins.get(id);
    if (!p) throw new PluginHostError("PLUGIN_NOT_FOUND", `No plugin "${id}"`, { pluginId: id });
    return p;
  }

  async #startIfEnabled(p: Plugin): Promise<void> {
    if (this.#disabled.has(p.id)) {
      log.info("plugin {id} is disabled", { id: p.id });
      return;
    }
    if (!await this.#deps.admit(p)) return;
    await p.start().catch((e) => {
      log.error("{message}", { message: e.message });
      this.#healer?.onDeath(p.id, e.message);
    });
  }

  #definition(
    d: DiscoveredPlugin,
    config: HostConfig = this.#config,
  ): Omit<PluginOptions, "events" | "onPluginCall"> {
    const id = d.manifest.id;
    const cfg = pluginConfigFor(config, id);
    return {
      discovered: d,
      settings: mergeSettings(d.manifest.settings, cfg.settings),
      permissions: computePermissions({
        manifestPermissions: d.manifest.permissions,
        pluginDir: d.dir,
        security: securityFor(config, id),
        // SharedModules and ProbingPaths are readable by every plugin (still only what the host holds).
        implicitRead: [
          d.dir,
          ...(API_PATH ? [API_PATH] : []),
          ...config.sharedModules,
          ...config.probingPaths,
        ],
      }),
      tier: this.#tiers[cfg.isolation] ?? unavailableTier(cfg.isolation),
      callTimeoutMs: config.callTimeoutMs,
      drainTimeoutMs: config.drainTimeoutMs,
      hookTimeoutMs: config.callTimeoutMs,
      ...maxMemory(cfg.resourceLimits.maxMemoryMB ?? config.resourceLimits.maxMemoryMB),
      ...maxCpu(cfg.resourceLimits.maxCpuPercent ?? config.resourceLimits.maxCpuPercent),
      enableMetrics: config.enableMetrics,
    };
  }

  #create(d: DiscoveredPlugin): Plugin {
    if (!pluginConfigFor(this.config, d.manifest.id).enabled) this.#disabled.add(d.manifest.id);
    return new Plugin({
      ...this.#definition(d),
      events: this.#events,
      onPluginCall: (from, target, method, args, signal) =>
        routePluginCall(this.#plugins, from, target, method, args, signal),
    });
  }
}

function maxMemory(mb: number | undefined): { maxMemoryMB?: number } {
  return mb ? { maxMemoryMB: mb } : {};
}

function maxCpu(percent: number | undefined): { maxCpuPercent?: number } {
  return percent ? { maxCpuPercent: percent } : {};
}

function unavailableTier(kind: string): IsolationTier {
  return {
    kind,
    spawn: () =>
      Promise.reject(new PluginHostError("LOAD_FAILED", `Isolation "${kind}" is not available in this host`)),
  };
}
