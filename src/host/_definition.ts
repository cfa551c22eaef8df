/**
 * Internal: how a host turns a discovered plugin folder and its configuration into a {@linkcode Plugin}: merged
 * settings, effective permissions, isolation tier, timeouts and resource limits.
 *
 * @module
 */

import type { RemotePlugins } from "../deps/remote.ts";
import { fileURLToPath } from "node:url";
import { type HostConfig, type PluginConfig, pluginConfigFor, securityFor } from "../config/config.ts";
import { PluginHostError } from "../errors.ts";
import type { IsolationTier } from "../isolation/tier.ts";
import type { DiscoveredPlugin } from "../discovery/plugin_folder.ts";
import { computePermissions } from "../permissions/permissions.ts";
import { Plugin, type PluginOptions } from "../plugin/plugin.ts";
import { routePluginCall } from "../deps/services.ts";
import { mergeSettings } from "../config/settings.ts";
import type { LogRate } from "../logging/log_rate.ts";
import type { Registry } from "./_registry.ts";
import { defined } from "./_builder_options.ts";

const API_PATH = (() => {
  const url = new URL("../plugin_api.ts", import.meta.url);
  return url.protocol === "file:" ? fileURLToPath(url) : undefined;
})();

/** What a host's plugins are made from, beside their folders. */
export interface DefinitionSources {
  readonly registry: Registry;
  readonly tiers: Readonly<Record<string, IsolationTier>>;
  /** The configuration in force (its owner changes it). */
  readonly config: () => HostConfig;
  /** PluginHostOptions.logRate, for every plugin. */
  readonly logRate: LogRate | false | undefined;
  /** The fleet's plugins, when the host is in one: a plugin's call no local plugin answers may reach them. */
  readonly remote: () => RemotePlugins | undefined;
}

/** Turns discovered plugin folders into plugins, under the configuration in force or a planned one. */
export class Definitions {
  readonly #s: DefinitionSources;

  constructor(sources: DefinitionSources) {
    this.#s = sources;
  }

  /** What the plugin in `d` runs with under `config` (default: the one in force). */
  of(
    d: DiscoveredPlugin,
    config: HostConfig = this.#s.config(),
  ): Omit<PluginOptions, "events" | "onPluginCall"> {
    const id = d.manifest.id;
    const cfg = pluginConfigFor(config, id);
    const logRate = this.#s.logRate;
    if ((cfg.replicas ?? 1) > 1 && !d.manifest.capabilities.includes("Scalable")) {
      const where = cfg.replicasAt ?? `Plugins.${id}.Replicas`;
      throw new PluginHostError(
        "CONFIG_INVALID",
        `${where}: Replicas ${cfg.replicas} for plugin "${id}", which does not declare the Scalable capability ` +
          `(its plugin.json "capabilities"); only a Scalable plugin may run as several replicas`,
        { pluginId: id },
      );
    }
    const own = cfg.resourceLimits, all = config.resourceLimits;
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
      tier: this.#s.tiers[cfg.isolation] ?? unavailableTier(cfg.isolation),
      callTimeoutMs: config.callTimeoutMs,
      drainTimeoutMs: config.drainTimeoutMs,
      hookTimeoutMs: config.callTimeoutMs,
      ...maxMemory(cfg.resourceLimits.maxMemoryMB ?? config.resourceLimits.maxMemoryMB),
      ...maxCpu(cfg.resourceLimits.maxCpuPercent ?? config.resourceLimits.maxCpuPercent),
      ...budgets(cfg.resourceLimits, config.resourceLimits),
      ...elastic(cfg, config),
      ...defined({
        softMemoryMB: own.softMemoryMB ?? all.softMemoryMB,
        softCpuPercent: own.softCpuPercent ?? all.softCpuPercent,
        maxLifetimeMs: own.maxLifetimeMs ?? all.maxLifetimeMs,
      }),
      enableMetrics: config.enableMetrics,
      ...(logRate === undefined ? {} : { logRate }),
    };
  }

  /** A new plugin for `d` (marked disabled when its configuration says so); its calls to others are routed. */
  create(d: DiscoveredPlugin): Plugin {
    const { registry } = this.#s;
    if (!pluginConfigFor(this.#s.config(), d.manifest.id).enabled) registry.disable(d.manifest.id);
    return new Plugin({
      ...this.of(d),
      events: registry.events,
      onPluginCall: (from, target, method, args, signal) =>
        routePluginCall(registry.plugins, from, target, method, args, signal, this.#s.remote()),
    });
  }
}

function maxMemory(mb: number | undefined): { maxMemoryMB?: number } {
  return mb ? { maxMemoryMB: mb } : {};
}

function maxCpu(percent: number | undefined): { maxCpuPercent?: number } {
  return percent ? { maxCpuPercent: percent } : {};
}

/** MaxHandles / MaxTimers: the plugin block's value, else the host-wide one (never turns on guarding). */
function budgets(
  own: HostConfig["resourceLimits"],
  all: HostConfig["resourceLimits"],
): { maxHandles?: number; maxTimers?: number } {
  const handles = own.maxHandles ?? all.maxHandles, timers = own.maxTimers ?? all.maxTimers;
  return { ...(handles ? { maxHandles: handles } : {}), ...(timers ? { maxTimers: timers } : {}) };
}

/** Replicas, the concurrency cap and its queue, activation and idle stop, as the plugin's block sets them. */
function elastic(cfg: PluginConfig, config: HostConfig): Partial<PluginOptions> {
  return defined({
    replicas: cfg.replicas,
    maxConcurrency: cfg.maxConcurrency,
    queueTimeoutMs: cfg.queueTimeoutMs,
    activation: cfg.activation ?? config.activation,
    idleTimeoutMs: cfg.idleTimeoutMs,
  });
}

function unavailableTier(kind: string): IsolationTier {
  return {
    kind,
    spawn: () =>
      Promise.reject(new PluginHostError("LOAD_FAILED", `Isolation "${kind}" is not available in this host`)),
  };
}
