/**
 * `createPluginHost`: wires configuration, discovery, permissions, tiers and plugins into one host.
 *
 * @module
 */

import { join } from "node:path";
import { reportWhileUnconfigured } from "./fallback_report.ts";
import { getLogger } from "../_npm/logtape.ts";
import { type HostConfig, loadConfig, normalizeConfig } from "../config/config.ts";
import { type Diagnostic, formatDiagnostic } from "../errors.ts";
import type { ConfigEvent, DiscoveryFailureEvent, HostEventMap } from "../events/events.ts";
import { findService, type ServiceHandle } from "../deps/services.ts";
import { remoteService } from "../cluster/service.ts";
import type { HostCluster } from "../cluster/types.ts";
import type { PendingApproval } from "./approvals.ts";
import type { PluginHandle } from "../plugin/types.ts";
import type { PluginMethods } from "../plugin_api.ts";
import { unwrappedBuiltins } from "../permissions/scope_probe.ts";
import { Emitter } from "../events/events.ts";
import { Dependencies } from "../deps/dependencies.ts";
import { SelfHealer } from "../health/self_heal.ts";
import type { IsolationTier } from "../isolation/tier.ts";
import { WorkerTier } from "../isolation/worker_tier.ts";
import { ProcessTier } from "../isolation/process_tier.ts";
import { ApprovalGate } from "./approvals.ts";
import { Registry } from "./_registry.ts";
import { ConfigKeeper } from "./_config.ts";
import { Control } from "./_control.ts";
import { Definitions } from "./_definition.ts";
import { Reloader } from "./_reload.ts";
import { HostRun } from "./_run.ts";
import { statistics } from "./_statistics.ts";
import type {
  AdminServer,
  HostStatistics,
  PluginHost,
  PluginHostOptions,
  ServeAdmin,
  ServeAdminOptions,
} from "./types.ts";
export type { HostStatistics, PluginHost, PluginHostOptions } from "./types.ts";

const log = getLogger(["dotcompute", "host"]);

/**
 * A host whose `serveAdmin` is `serve` (src/create.ts gives it the admin API's): the host knows the admin API
 * only by the interface it serves through.
 */
export async function createHost(
  source: string | Readonly<Record<string, unknown>>,
  options: PluginHostOptions,
  serve: ServeAdmin,
): Promise<PluginHost> {
  const { config, warnings } = typeof source === "string"
    ? await loadConfig(source)
    : normalizeConfig(source);
  for (const w of warnings) log.warn("config: {warning}", { warning: formatDiagnostic(w) });
  if (unwrappedBuiltins.length > 0) {
    log.warn(
      "{builtins} not mapped to the plugin-safe wrappers: a plugin in the worker tier could abort the host " +
        'through node:process\'s named "abort" export, or set V8 flags for the whole process through ' +
        "node:v8's. Map them as this package's deno.json does (see README) or use Isolation \"process\" for " +
        "untrusted plugins.",
      { builtins: unwrappedBuiltins.join(", ") },
    );
  }
  return new Host(config, warnings, options, serve);
}

/** Composes the owners of the host's state; each changes its own through its methods. */
class Host implements PluginHost {
  readonly warnings: readonly Diagnostic[];
  readonly #events: Emitter<HostEventMap> = new Emitter<HostEventMap>((e) =>
    log.error("an event listener threw: {error}", { error: e })
  );
  readonly #approvals: ApprovalGate = new ApprovalGate(this.#events);
  readonly #registry: Registry = new Registry(this.#events);
  readonly #tiers: Readonly<Record<string, IsolationTier>>;
  readonly #config: ConfigKeeper;
  readonly #control: Control;
  readonly #reloader: Reloader;
  readonly #run: HostRun;
  readonly #admins: Set<AdminServer> = new Set<AdminServer>();
  readonly #serve: ServeAdmin;

  constructor(
    config: HostConfig,
    warnings: readonly Diagnostic[],
    options: PluginHostOptions,
    serve: ServeAdmin,
  ) {
    this.warnings = warnings;
    this.#serve = serve;
    const registry = this.#registry, events = this.#events;
    this.#tiers = options.tiers ?? { worker: new WorkerTier(), process: new ProcessTier() };
    const dir = options.pluginsDirectory ?? config.pluginsDirectory;
    const deps = new Dependencies({
      plugins: registry.plugins,
      disabled: registry.disabled,
      events,
      remote: () => this.#run.fleet,
    });
    events.on("fleet", () => deps.fleetChanged());
    const healer = options.restartPolicy === false ? undefined : new SelfHealer({
      restart: async (id) => void await registry.get(id).start(),
      wanted: (id) => this.#run.running && registry.plugins.has(id) && !registry.disabled.has(id),
      emit: (e) => events.emit("heal", e),
      quarantine: (id, reason) => registry.plugins.get(id)?.quarantine(reason),
    }, options.restartPolicy);
    if (healer) events.on("crash", (e) => healer.onDeath(e.id, e.reason));
    const current = (): HostConfig => this.#config.current;
    const definitions = new Definitions({
      registry,
      tiers: this.#tiers,
      config: current,
      logRate: options.logRate,
      remote: () => this.#run.fleet,
    });
    this.#control = new Control(registry, deps, healer);
    this.#config = new ConfigKeeper(config, registry, definitions, this.#control);
    this.#reloader = new Reloader({
      registry,
      definitions,
      control: this.#control,
      approvals: this.#approvals,
      config: current,
      dir,
    });
    this.#run = new HostRun({
      registry,
      config: this.#config,
      definitions,
      control: this.#control,
      reloader: this.#reloader,
      deps,
      healer,
      admins: this.#admins,
      dir,
      watchConfig: options.watchConfig ?? true,
      fleetSource: {
        plugins: () => registry.plugins.values(),
        plugin: (id) => registry.plugins.get(id),
        onChange: (listener) => events.on("state", listener),
        callTimeoutMs: () => this.#config.current.callTimeoutMs,
        emit: (type, e) => events.emit(type, e),
        approvals: {
          pending: (id) => this.#approvals.get(id),
          approve: (id) => this.approve(id),
          reject: (id) => this.reject(id),
          onHeld: (listener) =>
            events.on("reload", (e) => {
              if (e.outcome === "held" && e.toVersion !== undefined) listener(e.id, e.toVersion);
            }),
        },
        bundles: {
          folder: join(dir, ".fleet"),
          trusted: () => this.#config.current.trustedCertificateThumbprints,
          install: (folder) => this.#reloader.install(folder),
        },
      },
    });
    if (options.fallbackReport !== false) reportWhileUnconfigured((type, f) => events.on(type, f));
  }

  get config(): HostConfig {
    return this.#config.current;
  }

  get started(): boolean {
    return this.#run.started;
  }

  get cluster(): HostCluster | undefined {
    return this.#run.fleet;
  }

  on<K extends keyof HostEventMap>(type: K, listener: (event: HostEventMap[K]) => void): () => void {
    return this.#events.on(type, listener);
  }

  start(): Promise<void> {
    return this.#run.start();
  }

  stop(): Promise<void> {
    return this.#run.stop();
  }

  async serveAdmin(options: ServeAdminOptions = {}): Promise<AdminServer> {
    const server = await this.#serve(this, options);
    this.#admins.add(server);
    void server.finished.finally(() => this.#admins.delete(server));
    return server;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  getPlugin<P = unknown>(id: string): PluginHandle<PluginMethods<P>> | undefined {
    // The type is the caller's claim about the plugin's code (see PluginHost.getPlugin).
    return this.#registry.plugins.get(id) as PluginHandle<PluginMethods<P>> | undefined;
  }

  getPlugins(): PluginHandle[] {
    return [...this.#registry.plugins.values()];
  }

  getService<P = unknown>(name: string, range = "*"): ServiceHandle<PluginMethods<P>> | undefined {
    const plugins = this.#registry.plugins.values();
    const found = findService(plugins, name, range) as ServiceHandle<PluginMethods<P>> | undefined;
    // The lookup that picks a dormant plugin starts it: its first call then waits less.
    if (found) void this.#registry.plugins.get(found.id)?.activate().catch(() => {});
    const fleet = this.#run.fleet;
    if (found || !fleet) return found;
    const offer = fleet.find(name, [range]);
    return offer && remoteService(fleet, name, offer) as ServiceHandle<PluginMethods<P>>;
  }

  getDiscoveryFailures(): readonly DiscoveryFailureEvent[] {
    return this.#registry.failures;
  }

  getPendingApprovals(): readonly PendingApproval[] {
    return this.#approvals.list();
  }

  async approve(id: string): Promise<PluginHandle> {
    this.#registry.get(id);
    this.#approvals.approve(id);
    return await this.reload(id);
  }

  reject(id: string): PendingApproval {
    return this.#approvals.reject(id);
  }

  getStatistics(): HostStatistics {
    return statistics(this.#registry, this.#tiers);
  }

  startPlugin(id: string): Promise<PluginHandle> {
    return this.#control.start(id);
  }

  stopPlugin(id: string): Promise<PluginHandle> {
    return this.#control.stop(id);
  }

  reload(id: string): Promise<PluginHandle> {
    return this.#reloader.reload(id);
  }

  enable(id: string): Promise<PluginHandle> {
    return this.#control.enable(id);
  }

  disable(id: string): Promise<PluginHandle> {
    return this.#control.disable(id);
  }

  reloadConfig(): Promise<ConfigEvent> {
    return this.#config.reload();
  }

  applyConfig(config: HostConfig | Readonly<Record<string, unknown>>): Promise<ConfigEvent> {
    return this.#config.apply(config);
  }
}
