/**
 * Internal: reloading plugins from their folders, on request or when hot reload sees a folder change: blue/green
 * swap, restart, rollback, held for approval; and plugin folders added or removed while the host runs.
 *
 * @module
 */

import { getLogger } from "../_npm/logtape.ts";
import { PluginHostError } from "../errors.ts";
import type { ReloadEvent } from "../events/events.ts";
import type { Plugin, PluginHandle } from "../plugin/plugin.ts";
import { inspectNewFolder, inspectVerified } from "./_trust.ts";
import { duplicateIdError } from "../discovery/discovery.ts";
import type { HostConfig } from "../config/config.ts";
import type { ApprovalGate } from "./approvals.ts";
import type { Control } from "./_control.ts";
import type { Definitions } from "./_definition.ts";
import type { Registry } from "./_registry.ts";

const log = getLogger(["dotcompute", "host"]);

/** What reloading works with. */
export interface ReloadParts {
  readonly registry: Registry;
  readonly definitions: Definitions;
  readonly control: Control;
  readonly approvals: ApprovalGate;
  /** The configuration in force (its owner changes it). */
  readonly config: () => HostConfig;
  /** The plugins folder. */
  readonly dir: string;
}

/** Reloads plugins from their folders; adds and removes plugins as folders come and go. */
export class Reloader {
  readonly #s: ReloadParts;

  constructor(parts: ReloadParts) {
    this.#s = parts;
  }

  /** `PluginHost.reload`: rejects when the new version is held or fails. */
  async reload(id: string): Promise<PluginHandle> {
    const s = this.#s;
    const plugin = s.registry.get(id);
    const event = await this.#reloadPlugin(plugin, "api");
    if (event.outcome === "held") throw s.approvals.heldError(id);
    if (event.error !== undefined) {
      throw new PluginHostError("RELOAD_FAILED", `Cannot reload plugin "${id}": ${event.error}`, {
        pluginId: id,
      });
    }
    return plugin;
  }

  /** Reloads one plugin from its folder: blue/green when it runs and is HotReloadable, else stop and start. */
  async #reloadPlugin(plugin: Plugin, trigger: ReloadEvent["trigger"]): Promise<ReloadEvent> {
    const s = this.#s;
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
      plugin.recordReload(event);
      s.registry.events.emit("reload", event);
      return event;
    };
    const report = await inspectVerified(plugin.dir, s.config());
    if (!report.ok) return emit("rolled-back", { error: report.error.message });
    const found = report.plugin;
    const toVersion = found.manifest.version;
    if (found.manifest.id !== plugin.id) {
      return emit("rolled-back", { toVersion, error: `the folder now holds plugin "${found.manifest.id}"` });
    }
    if (s.approvals.check(plugin, found.manifest)) return emit("held", { toVersion });
    const hot = plugin.manifest.capabilities.includes("HotReloadable");
    if (plugin.state === "Running" && !hot && trigger === "watch") {
      log.warn("plugin {id} changed but is not HotReloadable: restart it to load the new version", {
        id: plugin.id,
      });
      return emit("restart-required", { toVersion });
    }
    const target = s.definitions.of(found);
    try {
      if (plugin.state === "Running" && hot) {
        await plugin.swap(target);
        return emit("swapped", { toVersion });
      }
      const lazy = plugin.state !== "Running" && target.activation === "lazy";
      await plugin.unload(undefined, "reload");
      plugin.redefine(target);
      if (!s.registry.disabled.has(plugin.id)) await (lazy ? plugin.prepare() : plugin.start());
      return emit("restarted", { toVersion });
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      return emit(plugin.state === "Running" ? "rolled-back" : "restarted", { toVersion, error });
    }
  }

  /**
   * Hot reload off: a changed folder matters only when what it holds failed, a plugin in Failed or a folder
   * discovery refused. Those are tried again (what failed on its files cannot pass before they change); a
   * running plugin and a new folder wait for the next start, as the operator chose.
   */
  async failedFolderChanged(folder: string): Promise<void> {
    const s = this.#s;
    const known = s.registry.at(folder);
    const refused = s.registry.refused(folder);
    if (known ? known.state !== "Failed" : !refused) return;
    log.info("folder {folder} changed and what it holds had failed: trying it again", { folder });
    await this.folderChanged(folder);
  }

  /** A plugin folder's files settled after a change: reload, add or remove the plugin. */
  async folderChanged(folder: string): Promise<void> {
    const s = this.#s;
    const known = s.registry.at(folder);
    const exists = await Deno.stat(folder).then((st) => st.isDirectory, () => false);
    const t0 = performance.now();
    if (!exists) {
      if (!known) return;
      await known.unload();
      s.registry.remove(known.id);
      const event: ReloadEvent = {
        id: known.id,
        outcome: "removed",
        fromVersion: known.version,
        durationMs: performance.now() - t0,
        trigger: "watch",
        at: Date.now(),
      };
      s.registry.events.emit("reload", event);
      return;
    }
    if (known) return void await this.#reloadPlugin(known, "watch");
    await this.#add(folder, "watch");
  }

  /**
   * A bundle from the fleet, verified and in its folder: a new version of the plugin that runs from `folder`
   * (restarted even when not HotReloadable: the operator published it), or a new plugin.
   */
  async install(folder: string): Promise<ReloadEvent | { readonly refused: string }> {
    const known = this.#s.registry.at(folder);
    if (known) return await this.#reloadPlugin(known, "fleet");
    return await this.#add(folder, "fleet");
  }

  /** Adds the plugin of a new folder, or refuses it (a discovery failure) and says why. */
  async #add(
    folder: string,
    trigger: ReloadEvent["trigger"],
  ): Promise<ReloadEvent | { readonly refused: string }> {
    const s = this.#s;
    const t0 = performance.now();
    // What discovery said of this folder before no longer holds: it is inspected again below.
    s.registry.forgetFailures(folder);
    // A new folder: it is refused when another folder claims its id too (src/host/_trust.ts).
    const report = await inspectNewFolder(folder, s.dir, s.config());
    if (!report.ok) {
      const { message } = report.error;
      s.registry.refuse({ dir: folder, message, at: Date.now(), ...(report.id ? { id: report.id } : {}) });
      return { refused: message };
    }
    const id = report.plugin.manifest.id;
    const running = s.registry.plugins.get(id);
    if (running) {
      const why = "where it runs: this folder is refused";
      const { message } = duplicateIdError(report.plugin, [running.discovered], why);
      s.registry.refuse({ dir: folder, id, message, at: Date.now() });
      return { refused: message };
    }
    const plugin = s.definitions.create(report.plugin);
    s.registry.add(plugin);
    await s.control.startIfEnabled(plugin);
    const event: ReloadEvent = {
      id,
      outcome: "added",
      toVersion: plugin.version,
      durationMs: performance.now() - t0,
      trigger,
      at: Date.now(),
      ...(plugin.lastError ? { error: plugin.lastError.message } : {}),
    };
    s.registry.events.emit("reload", event);
    return event;
  }
}
