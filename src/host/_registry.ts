/**
 * Internal: the host's plugins, which of them are disabled, and the plugin folders discovery refused. The one
 * owner of those three: everything else reads them here and changes them through these methods.
 *
 * @module
 */

import { getLogger } from "../_npm/logtape.ts";
import { PluginHostError } from "../errors.ts";
import type { DiscoveryFailureEvent, Emitter, HostEventMap } from "../events/events.ts";
import type { Plugin } from "../plugin/plugin.ts";

const log = getLogger(["dotcompute", "host"]);

/** The plugins of one host, by id. */
export class Registry {
  readonly events: Emitter<HostEventMap>;
  readonly #plugins = new Map<string, Plugin>();
  readonly #disabled = new Set<string>();
  #failures: DiscoveryFailureEvent[] = [];

  constructor(events: Emitter<HostEventMap>) {
    this.events = events;
  }

  /** Live: the dependency tracker and the host's handles read it as it changes. */
  get plugins(): ReadonlyMap<string, Plugin> {
    return this.#plugins;
  }

  /** The ids of the disabled plugins (live). */
  get disabled(): ReadonlySet<string> {
    return this.#disabled;
  }

  /** The folders discovery refused, since the last discovery. */
  get failures(): readonly DiscoveryFailureEvent[] {
    return this.#failures;
  }

  /** The plugin `id`, or a `PLUGIN_NOT_FOUND` error. */
  get(id: string): Plugin {
    const p = this.#plugins.get(id);
    if (!p) throw new PluginHostError("PLUGIN_NOT_FOUND", `No plugin "${id}"`, { pluginId: id });
    return p;
  }

  /** The plugin whose folder is (or was, before a reload moved it) `folder`. */
  at(folder: string): Plugin | undefined {
    return [...this.#plugins.values()].find((p) => p.dir === folder || p.discovered.dir === folder);
  }

  add(plugin: Plugin): void {
    this.#plugins.set(plugin.id, plugin);
  }

  remove(id: string): void {
    this.#plugins.delete(id);
  }

  disable(id: string): void {
    this.#disabled.add(id);
  }

  enable(id: string): void {
    this.#disabled.delete(id);
  }

  /** Discovery refused a folder: kept for GET /plugins/failures, logged, and told to listeners. */
  refuse(failure: DiscoveryFailureEvent): void {
    this.#failures.push(failure);
    log.error("discovery: {message}", { message: failure.message });
    this.events.emit("discoveryFailure", failure);
  }

  /** Whether discovery refused `folder` (and it has not been inspected since). */
  refused(folder: string): boolean {
    return this.#failures.some((f) => f.dir === folder);
  }

  /** What discovery said of `folder` (or of every folder) no longer holds: it is inspected again. */
  forgetFailures(folder?: string): void {
    this.#failures = folder === undefined ? [] : this.#failures.filter((f) => f.dir !== folder);
  }
}
