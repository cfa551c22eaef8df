/**
 * `createPluginHost`: wires configuration, discovery, permissions, tiers and plugins into one host.
 *
 * @module
 */

import { reportWhileUnconfigured } from "./fallback_report.ts";
import { getLogger } from "../_npm/logtape.ts";
import { type HostConfig, loadConfig, normalizeConfig } from "../config/config.ts";
import { type Diagnostic, formatDiagnostic } from "../errors.ts";
import type { ConfigEvent, DiscoveryFailureEvent, HostEventMap } from "../events/events.ts";
import { findService, type ServiceHandle } from "../deps/services.ts";
import type { PendingApproval } from "./approvals.ts";
import type { PluginHandle } from "../plugin/types.ts";
import type { PluginMethods } from "../plugin_api.ts";
import { unwrappedBuiltins } from "../permissions/scope_probe.ts";
import { HostState } from "./_state.ts";
import { start, stop } from "./_start_stop.ts";
import { disable, enable, startPlugin, stopPlugin } from "./_control.ts";
import { reload } from "./_reload.ts";
import { applyConfig, reloadConfig } from "./_config.ts";
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

class Host implements PluginHost {
  /** Its state, shared with the `_`-prefixed modules of host/ that do the work. */
  readonly #s: HostState;
  readonly warnings: readonly Diagnostic[];
  readonly #serve: ServeAdmin;

  constructor(
    config: HostConfig,
    warnings: readonly Diagnostic[],
    options: PluginHostOptions,
    serve: ServeAdmin,
  ) {
    this.#s = new HostState(config, options);
    this.#serve = serve;
    this.warnings = warnings;
    if (options.fallbackReport !== false) reportWhileUnconfigured((type, f) => this.#s.events.on(type, f));
  }

  get config(): HostConfig {
    return this.#s.config;
  }

  get started(): boolean {
    return this.#s.started;
  }

  on<K extends keyof HostEventMap>(type: K, listener: (event: HostEventMap[K]) => void): () => void {
    return this.#s.events.on(type, listener);
  }

  start(): Promise<void> {
    return start(this.#s);
  }

  stop(): Promise<void> {
    return stop(this.#s);
  }

  async serveAdmin(options: ServeAdminOptions = {}): Promise<AdminServer> {
    const server = await this.#serve(this, options);
    this.#s.admins.add(server);
    void server.finished.finally(() => this.#s.admins.delete(server));
    return server;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  getPlugin<P = unknown>(id: string): PluginHandle<PluginMethods<P>> | undefined {
    // The type is the caller's claim about the plugin's code (see PluginHost.getPlugin).
    return this.#s.plugins.get(id) as PluginHandle<PluginMethods<P>> | undefined;
  }

  getPlugins(): PluginHandle[] {
    return [...this.#s.plugins.values()];
  }

  getService<P = unknown>(name: string, range = "*"): ServiceHandle<PluginMethods<P>> | undefined {
    return findService(this.#s.plugins.values(), name, range) as ServiceHandle<PluginMethods<P>> | undefined;
  }

  getDiscoveryFailures(): readonly DiscoveryFailureEvent[] {
    return this.#s.failures;
  }

  getPendingApprovals(): readonly PendingApproval[] {
    return this.#s.approvals.list();
  }

  async approve(id: string): Promise<PluginHandle> {
    this.#s.get(id);
    this.#s.approvals.approve(id);
    return await this.reload(id);
  }

  reject(id: string): PendingApproval {
    return this.#s.approvals.reject(id);
  }

  getStatistics(): HostStatistics {
    return statistics(this.#s);
  }

  startPlugin(id: string): Promise<PluginHandle> {
    return startPlugin(this.#s, id);
  }

  stopPlugin(id: string): Promise<PluginHandle> {
    return stopPlugin(this.#s, id);
  }

  reload(id: string): Promise<PluginHandle> {
    return reload(this.#s, id);
  }

  enable(id: string): Promise<PluginHandle> {
    return enable(this.#s, id);
  }

  disable(id: string): Promise<PluginHandle> {
    return disable(this.#s, id);
  }

  reloadConfig(): Promise<ConfigEvent> {
    return reloadConfig(this.#s);
  }

  applyConfig(config: HostConfig | Readonly<Record<string, unknown>>): Promise<ConfigEvent> {
    return applyConfig(this.#s, config);
  }
}
