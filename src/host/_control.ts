/**
 * Internal: an operator's control of one plugin (start, stop, enable, disable), and the host's own start of a
 * plugin unless it is disabled. Each operator action lifts a quarantine and keeps dependencies in order.
 *
 * @module
 */

import { getLogger } from "../_npm/logtape.ts";
import type { Dependencies } from "../deps/dependencies.ts";
import type { SelfHealer } from "../health/self_heal.ts";
import { failsOnEveryTry } from "../plugin/failure_kind.ts";
import type { Plugin } from "../plugin/plugin.ts";
import type { PluginHandle } from "../plugin/types.ts";
import type { Registry } from "./_registry.ts";

const log = getLogger(["dotcompute", "host"]);

/** Starts and stops single plugins, in dependency order. */
export class Control {
  readonly #registry: Registry;
  readonly #deps: Dependencies;
  readonly #healer: SelfHealer | undefined;

  constructor(registry: Registry, deps: Dependencies, healer: SelfHealer | undefined) {
    this.#registry = registry;
    this.#deps = deps;
    this.#healer = healer;
  }

  /** `PluginHost.startPlugin`. */
  async start(id: string): Promise<PluginHandle> {
    const p = this.#registry.get(id);
    this.#healer?.reset(id); // an operator's start lifts a quarantine
    await this.wakeProviders(p);
    this.#deps.assertStartable(id);
    await p.start();
    await this.#deps.idle(); // dependents waiting for it are back
    return p;
  }

  /** `PluginHost.stopPlugin`. */
  async stop(id: string): Promise<PluginHandle> {
    const p = this.#registry.get(id);
    this.#healer?.reset(id);
    const dependentsFirst = this.#deps.beforeStop(id); // dependents that need it stop first
    if (dependentsFirst) await dependentsFirst;
    await p.unload();
    return p;
  }

  /** A dependent's start starts the dormant (lazy or idle) plugins it is bound to first. */
  async wakeProviders(p: Plugin): Promise<void> {
    const dormant = this.#deps.providersOf(p.id).map((id) => this.#registry.plugins.get(id))
      .filter((d): d is Plugin => d?.dormant !== undefined);
    await Promise.all(dormant.map((d) => d.activate().catch(() => {}))); // a failure is its own, and shows
  }

  /** `PluginHost.enable`. */
  enable(id: string): Promise<PluginHandle> {
    this.#registry.enable(id);
    return this.start(id);
  }

  /** `PluginHost.disable`. */
  disable(id: string): Promise<PluginHandle> {
    this.#registry.disable(id);
    return this.stop(id);
  }

  /**
   * The host's own start of `p` (at start, when a folder appears): skipped when disabled or its dependencies are
   * not met; a failure is logged and handed to self-healing unless it would fail the same way again.
   */
  async startIfEnabled(p: Plugin): Promise<void> {
    if (this.#registry.disabled.has(p.id)) {
      log.info("plugin {id} is disabled", { id: p.id });
      return;
    }
    // Lazy: verified and resolved, shown as Loaded; its worker waits for a call, a lookup or a dependent.
    const lazy = p.activation === "lazy" && p.state !== "Running";
    if (!lazy) await this.wakeProviders(p); // first, so a provider that cannot start blocks it below
    if (!await this.#deps.admit(p)) return;
    if (lazy) return void await p.prepare();
    await p.start().catch((e) => {
      log.error("{message}", { message: e.message });
      if (failsOnEveryTry(e)) {
        log.warn(
          "plugin {id} is not retried: it fails the same way on every try (its files, or the host's own " +
            "flags); it starts again when its files change (with hot reload) or on POST /plugins/{id}/start",
          { id: p.id },
        );
        return;
      }
      this.#healer?.onDeath(p.id, e.message);
    });
  }
}
