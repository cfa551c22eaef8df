/**
 * Internal: configuration changes while a host runs. A new configuration (from its file or given) is planned
 * per plugin and applied one at a time, in order; a file that does not load is rejected and the last good one
 * stays in force.
 *
 * @module
 */

import { getLogger } from "../_npm/logtape.ts";
import { type HostConfig, isHostConfig, loadConfig, normalizeConfig } from "../config/config.ts";
import { planPluginChange } from "./config_watch.ts";
import { ConfigError, formatDiagnostic, PluginHostError } from "../errors.ts";
import type { ConfigChange, ConfigEvent } from "../events/events.ts";
import type { Control } from "./_control.ts";
import type { Definitions } from "./_definition.ts";
import type { Registry } from "./_registry.ts";

const log = getLogger(["dotcompute", "host"]);

/** The configuration in force: its one owner. Changes are applied one at a time, in the order asked. */
export class ConfigKeeper {
  #config: HostConfig;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #registry: Registry;
  readonly #definitions: Definitions;
  readonly #control: Control;

  constructor(config: HostConfig, registry: Registry, definitions: Definitions, control: Control) {
    this.#config = config;
    this.#registry = registry;
    this.#definitions = definitions;
    this.#control = control;
  }

  get current(): HostConfig {
    return this.#config;
  }

  /** Settles once every change asked for so far is applied (or rejected). */
  settled(): Promise<unknown> {
    return this.#queue;
  }

  /** `PluginHost.reloadConfig`. */
  reload(): Promise<ConfigEvent> {
    const file = this.#config.configFile;
    if (!file) {
      return Promise.reject(
        new PluginHostError("CONFIG_INVALID", "This host was not created from a config file"),
      );
    }
    return this.#serial(async () => {
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
        this.#registry.events.emit("config", event);
        return event;
      }
    });
  }

  /** `PluginHost.applyConfig`. */
  apply(config: HostConfig | Readonly<Record<string, unknown>>): Promise<ConfigEvent> {
    const next = isHostConfig(config) ? config : normalizeConfig({ ...config }).config;
    return this.#serial(() => this.#apply(next));
  }

  #serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(op, op);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #apply(next: HostConfig): Promise<ConfigEvent> {
    const prev = this.#config;
    const registry = this.#registry, definitions = this.#definitions, control = this.#control;
    if (prev.pluginsDirectory !== next.pluginsDirectory) {
      log.warn("PluginsDirectory changed; it takes effect when the host starts again");
    }
    const plans = [...registry.plugins.values()].flatMap((p) => {
      const target = definitions.of(p.discovered, next);
      const plan = planPluginChange(prev, next, p, target);
      return plan ? [{ plugin: p, plan, target }] : [];
    });
    this.#config = next;
    const changes = await Promise.all(plans.map(async ({ plugin, plan, target }): Promise<ConfigChange> => {
      try {
        if (plan.action === "configure") await plugin.configure(target.settings);
        else if (plan.action === "disable") await control.disable(plugin.id);
        else {
          const wasRunning = plugin.state === "Running", dormant = plugin.dormant;
          // Replicas roll one at a time (or all at once, blue/green, when their number changes): no downtime.
          if (plan.action === "restart" && wasRunning && plugin.pooled(target)) await plugin.swap(target);
          else {
            if (plan.action === "enable") registry.enable(plugin.id);
            await plugin.unload(undefined, "reload");
            plugin.redefine(target);
            if (dormant && target.activation === "lazy") await plugin.prepare();
            else if (plan.action === "enable" || (wasRunning && !registry.disabled.has(plugin.id))) {
              await plugin.start();
            }
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
    registry.events.emit("config", event);
    return event;
  }
}
