/**
 * The host's events, typed, with listeners that cannot break the emitter.
 *
 * @module
 */

import type { ManifestPermissions } from "../manifest/manifest.ts";

import type { StateChange } from "../lifecycle/lifecycle.ts";
import type { ShutdownEvent } from "../lifecycle/shutdown.ts";
import type { DependencyChange } from "../plugin_api.ts";
import type { HealEvent } from "../health/self_heal.ts";

/** A plugin's worker or process died without being asked to. */
export interface CrashEvent {
  /** The plugin's id. */
  readonly id: string;
  /** How it died, in words for an operator. */
  readonly reason: string;
  /** When it happened (epoch ms). */
  readonly at: number;
}

/** A message from a plugin was malformed and dropped. */
export interface ProtocolErrorEvent {
  /** The plugin's id. */
  readonly id: string;
  /** Why the message was rejected. */
  readonly reason: string;
  /** When it happened (epoch ms). */
  readonly at: number;
}

/** A plugin folder that discovery could not use. */
export interface DiscoveryFailureEvent {
  /** The plugin folder's path. */
  readonly dir: string;
  /** The plugin id, when the manifest declares a valid one. */
  readonly id?: string;
  /** What was wrong with the folder. */
  readonly message: string;
  /** When it happened (epoch ms). */
  readonly at: number;
}

/** What a configuration change did to one plugin. */
export interface ConfigChange {
  /** The plugin concerned. */
  readonly id: string;
  /** `configure`: new settings pushed live; `restart`: permissions, isolation or limits changed; `enable`/`disable`. */
  readonly action: "configure" | "restart" | "enable" | "disable";
  /** What changed, in words. */
  readonly reason: string;
  /** Whether the action succeeded; when not, `error` says why and the plugin keeps its old configuration. */
  readonly ok: boolean;
  /** Why the action failed. */
  readonly error?: string;
}

/** A new host configuration was applied, or refused. */
export interface ConfigEvent {
  /** `applied` (possibly with no change to any plugin) or `rejected` (the last good configuration stays). */
  readonly outcome: "applied" | "rejected";
  /** The file it came from, when there is one. */
  readonly file?: string;
  /** For `rejected`: every problem, as `file:line:col: message`. */
  readonly problems?: readonly string[];
  /** For `applied`: what happened to each plugin affected. */
  readonly changes: readonly ConfigChange[];
  /** When, in ms since the epoch. */
  readonly at: number;
}

/** A plugin was reloaded (or added, or removed) because its folder changed or an operator asked. */
export interface ReloadEvent {
  /** The plugin. */
  readonly id: string;
  /**
   * `swapped`: the new version took over without dropping a call (blue/green); `restarted`: stopped and started
   * again (a plugin not marked HotReloadable, or not running); `rolled-back`: the new version failed and the old
   * one keeps serving; `restart-required`: a file changed but the plugin is not HotReloadable, so nothing was
   * done; `added` / `removed`: a plugin folder appeared or went away; `held`: the new version asks for more
   * permissions than the running one and waits for approval (see `approval` events), the old one keeps serving.
   */
  readonly outcome:
    | "swapped"
    | "restarted"
    | "rolled-back"
    | "restart-required"
    | "added"
    | "removed"
    | "held";
  /** The version before, when there was one. */
  readonly fromVersion?: string;
  /** The version after (or attempted). */
  readonly toVersion?: string;
  /** How long the reload took, in ms. */
  readonly durationMs: number;
  /** What triggered it: a file change, an API call, or a bundle from the fleet (`Plugins.Cluster.Bundles`). */
  readonly trigger: "watch" | "api" | "fleet";
  /** Why it failed, for `rolled-back`. */
  readonly error?: string;
  /** When, in ms since the epoch. */
  readonly at: number;
}

/** A dependent was told that one of its dependencies stopped, failed, started again or was reloaded. */
export interface DependencyEvent extends DependencyChange {
  /** The dependent told. */
  readonly id: string;
  /** When, in ms since the epoch. */
  readonly at: number;
}

/** A plugin version asking for more permissions than the running one: held, approved or rejected. */
export interface ApprovalEvent extends PendingApproval {
  /** `requested`: held for approval; `approved`: it is being loaded; `rejected`: dropped, the old one stays. */
  readonly action: "requested" | "approved" | "rejected";
}

/** Another host of the fleet (`Plugins.Cluster`) joined, changed what it offers, left, or was lost. */
export interface FleetEvent {
  /** That host's id. */
  readonly hostId: string;
  /**
   * `joined`: its first beat; `offers`: the plugins it offers changed; `left`: it said goodbye; `lost`: no beat
   * for 3 s (its calls in flight rejected with `HOST_LOST`).
   */
  readonly change: "joined" | "offers" | "left" | "lost";
  /** The plugins it offers now (`id@version`), empty when it left or was lost. */
  readonly offers: readonly string[];
  /** When, in ms since the epoch. */
  readonly at: number;
}

/** A bundle from the fleet's store (`Plugins.Cluster.Bundles`): what this host did with it. */
export interface BundleEvent {
  /** The plugin the bundle holds (as the store names it). */
  readonly id: string;
  /** Its version, as the bundle says. */
  readonly version: string;
  /**
   * `installed`: Running (or ready, when lazy) here; `held`: it asks for more permissions than the running
   * version and waits for approval; `refused`: its signature is not trusted here, it is malformed, or a local
   * folder holds the same plugin; `failed`: it was installed but did not start.
   */
  readonly outcome: "installed" | "held" | "refused" | "failed";
  /** Why, for `refused` and `failed`. */
  readonly reason?: string;
  /** The thumbprint of the key that signed it, as its signature file says. */
  readonly thumbprint?: string;
  /** When, in ms since the epoch. */
  readonly at: number;
}

/** Every event the host emits, by name. */
export interface HostEventMap {
  /** A plugin changed state. */
  state: StateChange;
  /** A plugin died unasked. */
  crash: CrashEvent;
  /** A plugin's instance (or one replica) ended, with the typed reason why. */
  shutdown: ShutdownEvent;
  /** A plugin sent a malformed message. */
  protocolError: ProtocolErrorEvent;
  /** A plugin folder failed discovery. */
  discoveryFailure: DiscoveryFailureEvent;
  /** The configuration was reloaded (applied or rejected). */
  config: ConfigEvent;
  /** A plugin was reloaded, added or removed. */
  reload: ReloadEvent;
  /** Self-healing: a restart scheduled, done or failed; a plugin quarantined. */
  heal: HealEvent;
  /** A new version asking for more permissions was held for approval, or an operator approved or rejected it. */
  approval: ApprovalEvent;
  /** A dependent was told about a change of one of its dependencies. */
  dependency: DependencyEvent;
  /** The fleet changed: a host joined, left or was lost, or changed what it offers. */
  fleet: FleetEvent;
  /** A bundle published to the fleet was installed, held, refused, or failed to start here. */
  bundle: BundleEvent;
}

/**
 * A typed event emitter. A listener that throws is reported to `onListenerError` and never stops the others.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Emitter, type HostEventMap } from "@dotcompute/plugins";
 * const events = new Emitter<HostEventMap>();
 * const seen: string[] = [];
 * const off = events.on("crash", (e) => seen.push(`${e.id}: ${e.reason}`));
 * events.emit("crash", { id: "hello.world", reason: "exited with code 1", at: Date.now() });
 * off();
 * events.emit("crash", { id: "hello.world", reason: "exited again", at: Date.now() }); // no listener now
 * assert.deepEqual(seen, ["hello.world: exited with code 1"]);
 * ```
 */
export class Emitter<M extends object> {
  readonly #listeners = new Map<keyof M, Set<(event: never) => void>>();
  readonly #onListenerError: (error: unknown) => void;

  /** `onListenerError` receives what a listener throws (default: `console.error`). */
  constructor(onListenerError: (error: unknown) => void = (e) => console.error(e)) {
    this.#onListenerError = onListenerError;
  }

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof M>(type: K, listener: (event: M[K]) => void): () => void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, set = new Set());
    set.add(listener as (event: never) => void);
    return () => void set.delete(listener as (event: never) => void);
  }

  /** Calls every listener of `type` with `event`. */
  emit<K extends keyof M>(type: K, event: M[K]): void {
    const set = this.#listeners.get(type);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as (event: M[K]) => void)(event);
      } catch (e) {
        this.#onListenerError(e);
      }
    }
  }
}

export type { HealEvent };

/** A new version of a plugin held because it asks for more permissions than the running one. */
export interface PendingApproval {
  /** The plugin. */
  readonly id: string;
  /** The running version. */
  readonly fromVersion: string;
  /** The held version. */
  readonly toVersion: string;
  /** The plugin folder. */
  readonly dir: string;
  /** What the held version asks for beyond the running one, as its manifest writes it. */
  readonly added: ManifestPermissions;
  /** Everything the held version's manifest asks for. */
  readonly requested: ManifestPermissions;
  /** When it was held (epoch ms). */
  readonly at: number;
}
