/**
 * Config hot reload: watch the config file (in-place writes and write-then-rename saves alike), and work out
 * what a new configuration means for each plugin.
 *
 * @module
 */

import { basename, dirname } from "node:path";
import { type HostConfig, pluginConfigFor } from "../config/config.ts";
import type { ConfigChange } from "../events/events.ts";
import type { EffectivePermissions } from "../permissions/permissions.ts";
import { type DebouncedWatcher, watchDebounced } from "../_common/watch.ts";

/** What the host knows of one plugin when a configuration changes. */
export interface PluginView {
  /** The plugin id. */
  readonly id: string;
  /** The permissions it runs with now. */
  readonly permissions: EffectivePermissions;
  /** The settings it runs with now. */
  readonly settings: Readonly<Record<string, unknown>>;
}

/** The same plugin as the new configuration would define it. */
export interface PluginTarget {
  /** Its permissions under the new configuration. */
  readonly permissions: EffectivePermissions;
  /** Its settings under the new configuration. */
  readonly settings: Readonly<Record<string, unknown>>;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * What a plugin needs when the configuration goes from `prev` to `next`: nothing, live settings, a restart
 * (permissions, isolation, limits, timeouts), or to be enabled or disabled. Enabled only counts when it changed,
 * so a plugin an operator disabled stays disabled across unrelated edits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { computePermissions, normalizeConfig } from "@dotcompute/plugins";
 * import { planPluginChange } from "./config_watch.ts";
 * const config = (greeting: string, enabled = true) =>
 *   normalizeConfig({ Plugins: { "hello.world": { Enabled: enabled, Settings: { greeting } } } }).config;
 * const manifestPermissions = { read: [], write: [], net: [], env: [] };
 * const permissions = computePermissions({ manifestPermissions, pluginDir: "/srv/plugins/hello" });
 * const plugin = { id: "hello.world", permissions, settings: { greeting: "hi" } };
 * const change = planPluginChange(config("hi"), config("hey"), plugin, {
 *   permissions,
 *   settings: { greeting: "hey" },
 * });
 * assert.deepEqual(change, { id: "hello.world", action: "configure", reason: "settings changed" });
 * assert.equal(planPluginChange(config("hi"), config("hi", false), plugin, plugin)?.action, "disable");
 * assert.equal(planPluginChange(config("hi"), config("hi"), plugin, plugin), undefined); // nothing to do
 * ```
 */
/** A plugin block's keys of replicas, concurrency and activation: a change rolls or restarts the plugin. */
const ELASTIC_KEYS = ["replicas", "maxConcurrency", "queueTimeoutMs", "activation", "idleTimeoutMs"] as const;

export function planPluginChange(
  prev: HostConfig,
  next: HostConfig,
  now: PluginView,
  target: PluginTarget,
): Omit<ConfigChange, "ok" | "error"> | undefined {
  const before = pluginConfigFor(prev, now.id), after = pluginConfigFor(next, now.id);
  const id = now.id;
  if (before.enabled && !after.enabled) return { id, action: "disable", reason: "Enabled is now false" };
  if (!before.enabled && after.enabled) return { id, action: "enable", reason: "Enabled is now true" };
  const restart: string[] = [];
  if (!same(now.permissions, target.permissions)) restart.push("permissions");
  if (before.isolation !== after.isolation) {
    restart.push(`isolation (${before.isolation} → ${after.isolation})`);
  }
  if (!same(before.resourceLimits, after.resourceLimits) || !same(prev.resourceLimits, next.resourceLimits)) {
    restart.push("resource limits");
  }
  if (prev.callTimeoutMs !== next.callTimeoutMs || prev.drainTimeoutMs !== next.drainTimeoutMs) {
    restart.push("timeouts");
  }
  const elastic = ELASTIC_KEYS.filter((k) => before[k] !== after[k]);
  if (prev.activation !== next.activation && !before.activation && !after.activation) {
    elastic.push("activation");
  }
  if (elastic.length > 0) restart.push(elastic.join(", "));
  if (restart.length > 0) return { id, action: "restart", reason: `${restart.join(", ")} changed` };
  if (!same(now.settings, target.settings)) return { id, action: "configure", reason: "settings changed" };
  return undefined;
}

/**
 * Watches the config file's folder (a rename-over save replaces the file, so watching the file itself would
 * lose it) and calls `onChange` once per burst of saves.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { watchConfigFile } from "./config_watch.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/host.jsonc`, "{}");
 * let changes = 0;
 * const changed = Promise.withResolvers<void>();
 * // A host passes `onChange: () => host.reloadConfig()`.
 * const watcher = watchConfigFile(`${dir}/host.jsonc`, {
 *   delayMs: () => 100,
 *   onChange: () => {
 *     changes++;
 *     changed.resolve();
 *   },
 * });
 * await Deno.writeTextFile(`${dir}/other.txt`, "not the config: ignored");
 * await Deno.writeTextFile(`${dir}/host.jsonc`, '{ "Plugins": { "EnableHotReload": true } }');
 * await changed.promise; // 100 ms after the last save of a burst
 * await watcher.close();
 * assert.equal(changes, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function watchConfigFile(
  file: string,
  options: { readonly delayMs: () => number; readonly onChange: () => void | Promise<void> },
): DebouncedWatcher {
  const name = basename(file);
  return watchDebounced([dirname(file)], {
    delayMs: options.delayMs,
    keyOf: (path) => basename(path) === name ? name : undefined,
    onBatch: () => options.onChange(),
  });
}
