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
import { disable } from "./_control.ts";
import { definition } from "./_definition.ts";
import type { HostState } from "./_state.ts";

const log = getLogger(["dotcompute", "host"]);

/** `PluginHost.reloadConfig`. */
export function reloadConfig(s: HostState): Promise<ConfigEvent> {
  const file = s.config.configFile;
  if (!file) {
    return Promise.reject(
      new PluginHostError("CONFIG_INVALID", "This host was not created from a config file"),
    );
  }
  return serialConfig(s, async () => {
    try {
      const { config, warnings } = await loadConfig(file);
      for (const w of warnings) log.warn("config: {warning}", { warning: formatDiagnostic(w) });
      return await apply(s, config);
    } catch (e) {
      const problems = e instanceof ConfigError
        ? e.diagnostics.map(formatDiagnostic)
        : [`${file}: ${e instanceof Error ? e.message : String(e)}`];
      log.error("config rejected, the last good configuration stays in force: {problems}", {
        problems: problems.join("; "),
      });
      const event: ConfigEvent = { outcome: "rejected", file, problems, changes: [], at: Date.now() };
      s.events.emit("config", event);
      return event;
    }
  });
}

/** `PluginHost.applyConfig`. */
export function applyConfig(
  s: HostState,
  config: HostConfig | Readonly<Record<string, unknown>>,
): Promise<ConfigEvent> {
  const next = isHostConfig(config) ? config : normalizeConfig({ ...config }).config;
  return serialConfig(s, () => apply(s, next));
}

function serialConfig<T>(s: HostState, op: () => Promise<T>): Promise<T> {
  const run = s.configQueue.then(op, op);
  s.configQueue = run.catch(() => {});
  return run;
}

async function apply(s: HostState, next: HostConfig): Promise<ConfigEvent> {
  const prev = s.config;
  if (prev.pluginsDirectory !== next.pluginsDirectory) {
    log.warn("PluginsDirectory changed; it takes effect when the host starts again");
  }
  const plans = [...s.plugins.values()].flatMap((p) => {
    const target = definition(s, p.discovered, next);
    const plan = planPluginChange(prev, next, p, target);
    return plan ? [{ plugin: p, plan, target }] : [];
  });
  s.config = next;
  const changes = await Promise.all(plans.map(async ({ plugin, plan, target }): Promise<ConfigChange> => {
    try {
      if (plan.action === "configure") await plugin.configure(target.settings);
      else if (plan.action === "disable") await disable(s, plugin.id);
      else {
        const wasRunning = plugin.state === "Running";
        if (plan.action === "enable") s.disabled.delete(plugin.id);
        await plugin.unload();
        plugin.redefine(target);
        if (plan.action === "enable" || (wasRunning && !s.disabled.has(plugin.id))) {
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
  s.events.emit("config", event);
  return event;
}
