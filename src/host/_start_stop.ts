/**
 * Internal: a host's start and stop. Start watches the config file and plugin folders, discovers the plugins
 * and starts them dependencies first; stop ends all that in reverse. Health checks run in between.
 *
 * @module
 */

import { getLogger } from "../_npm/logtape.ts";
import { watchConfigFile } from "./config_watch.ts";
import { discoverPlugins } from "../discovery/discovery.ts";
import { watchPluginFolders } from "../discovery/watch.ts";
import { signatureCheck } from "./_trust.ts";
import { reloadConfig } from "./_config.ts";
import { create } from "./_definition.ts";
import { failedFolderChanged, folderChanged } from "./_reload.ts";
import type { HostState } from "./_state.ts";
import { PluginHostError } from "../errors.ts";

const log = getLogger(["dotcompute", "host"]);

/** `PluginHost.start`. */
export async function start(s: HostState): Promise<void> {
  s.running = true;
  s.healthTimer ??= setInterval(() => void checkHealth(s), s.config.healthCheckIntervalMs);
  const file = s.config.configFile;
  if (file && s.watchConfig && !s.configWatcher) {
    s.configWatcher = watchConfigFile(file, {
      delayMs: () => s.config.reloadDelayMs,
      onChange: () => reloadConfig(s).then(() => {}),
    });
  }
  // Watched with hot reload off too: a plugin that failed on its files is tried again once they change.
  if (!s.pluginWatcher) {
    try {
      s.pluginWatcher = watchPluginFolders(s.dir, {
        delayMs: () => s.config.reloadDelayMs,
        onFolder: (folder) =>
          s.config.enableHotReload ? folderChanged(s, folder) : failedFolderChanged(s, folder),
      });
    } catch (e) {
      if (s.config.enableHotReload) throw e;
      log.debug("plugins folder {dir} is not watched: {error}", { dir: s.dir, error: String(e) });
    }
  }
  const results = await discoverPlugins(s.dir, { verify: signatureCheck(s.config) });
  s.failures = [];
  for (let r of results) {
    if (r.ok) {
      try {
        if (!s.plugins.has(r.plugin.manifest.id)) {
          s.plugins.set(r.plugin.manifest.id, create(s, r.plugin));
        }
        continue;
      } catch (e) {
        // A plugin that cannot even be set up fails alone, never the host's start.
        const id = r.plugin.manifest.id;
        const message = `Cannot set up plugin "${id}": ${e}`;
        const error = new PluginHostError("LOAD_FAILED", message, { pluginId: id });
        r = { ok: false, dir: r.dir, id: r.plugin.manifest.id, error };
      }
    }
    const failure = { dir: r.dir, message: r.error.message, at: Date.now(), ...(r.id ? { id: r.id } : {}) };
    s.failures.push(failure);
    log.error("discovery: {message}", { message: r.error.message });
    s.events.emit("discoveryFailure", failure);
  }
  s.levels = s.deps.resolve();
  for (const level of s.levels) {
    await Promise.all(level.map((id) => s.startIfEnabled(s.plugins.get(id)!)));
  }
  s.started = s.running;
}

/** `PluginHost.stop`. */
export async function stop(s: HostState): Promise<void> {
  s.running = false;
  s.started = false;
  clearInterval(s.healthTimer);
  s.healthTimer = undefined;
  await s.healer?.[Symbol.asyncDispose]();
  await s.configWatcher?.close({ discard: true });
  s.configWatcher = undefined;
  await s.pluginWatcher?.close({ discard: true });
  s.pluginWatcher = undefined;
  await s.configQueue;
  await s.deps.close();
  for (const level of [...s.levels].reverse()) {
    await Promise.all(
      level.map((id) => s.plugins.get(id)?.unload().catch((e) => log.error("{e}", { e }))),
    );
  }
  // Plugins added after start (none yet) or outside the levels.
  await Promise.all([...s.plugins.values()].map((p) => p.unload()));
  await Promise.all([...s.admins].map((server) => server.shutdown()));
}

/** Every HealthCheckInterval: each running plugin's ping and health(); a stuck one is ended (and healed). */
async function checkHealth(s: HostState): Promise<void> {
  await Promise.all(
    [...s.plugins.values()].filter((p) => p.state === "Running").map((p) => p.checkHealth()),
  );
}
