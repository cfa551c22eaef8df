/**
 * Dependencies at run time: which plugins may start (the resolver's verdict, and every required dependency
 * Running), and what happens to dependents when a dependency stops, fails, starts again or is reloaded.
 *
 * - A dependency that stops or fails: its dependents are told (their `dependencyChanged` hook and a host
 *   `dependency` event). Every Running plugin left with a required dependency that no Running plugin satisfies is
 *   then stopped, dependents first, with a reason naming the dependency, and remembered.
 * - A dependency that is Running again: its dependents are told, and the plugins remembered start again, in
 *   order, as soon as all they need runs.
 * - A blue/green reload (`reload` event, outcome `swapped`): nothing stops; dependents are told `reloaded`.
 *   When the new version no longer satisfies a dependent's range, that dependent is stopped and marked Failed.
 *
 * @module
 */

import { getLogger } from "../_npm/logtape.ts";
import { PluginHostError } from "../errors.ts";
import type { Emitter, HostEventMap, ReloadEvent } from "../events/events.ts";
import type { StateChange } from "../lifecycle/lifecycle.ts";
import type { PluginManifest } from "../manifest/manifest.ts";
import type { Plugin } from "../plugin/plugin.ts";
import type { DependencyChange } from "../plugin_api.ts";
import { type DependencyBinding, type Resolution, resolveDependencies } from "./resolver.ts";
import { satisfiesRange } from "../_common/semver.ts";
import { offeredVersion } from "./services.ts";
import type { RemotePlugins } from "./remote.ts";

const log = getLogger(["dotcompute", "host", "dependencies"]);
const NONE: ReadonlySet<string> = new Set();

/** What {@linkcode Dependencies} needs of its host. */
export interface DependencyHost {
  /** Every plugin the host knows, by id (live: the host adds and removes). */
  readonly plugins: ReadonlyMap<string, Plugin>;
  /** The ids of the disabled plugins (live). */
  readonly disabled: ReadonlySet<string>;
  /** The host's events: read for state changes and reloads, written with `dependency` events. */
  readonly events: Emitter<HostEventMap>;
  /** The plugins other hosts of the fleet offer, when the host is in one: they satisfy dependencies too. */
  readonly remote?: () => RemotePlugins | undefined;
}

/**
 * The host's dependency bookkeeping (internal to the host; see the module documentation).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   computePermissions,
 *   Emitter,
 *   type HostEventMap,
 *   loadPluginFolder,
 *   Plugin,
 *   WorkerTier,
 * } from "@dotcompute/plugins";
 * import { Dependencies } from "./dependencies.ts";
 * // The plugins as a host makes them: "app" depends on "kv".
 * const dir = await Deno.makeTempDir();
 * const events = new Emitter<HostEventMap>();
 * const plugins = new Map<string, Plugin>();
 * for (const [id, dependencies] of [["kv", {}], ["app", { kv: "^1.0.0" }]] as const) {
 *   await Deno.mkdir(`${dir}/${id}`);
 *   await Deno.writeTextFile(
 *     `${dir}/${id}/plugin.jsonc`,
 *     JSON.stringify({ id, name: id, version: "1.0.0", dependencies }),
 *   );
 *   await Deno.writeTextFile(`${dir}/${id}/mod.ts`, "export default {};");
 *   const discovered = await loadPluginFolder(`${dir}/${id}`);
 *   const { manifest, dir: pluginDir } = discovered;
 *   plugins.set(id, new Plugin({
 *     discovered,
 *     settings: {},
 *     permissions: computePermissions({
 *       manifestPermissions: manifest.permissions,
 *       pluginDir,
 *       implicitRead: [pluginDir], // a plugin may always read its own folder
 *     }),
 *     tier: new WorkerTier(),
 *     events,
 *     callTimeoutMs: 5000,
 *     drainTimeoutMs: 1000,
 *     hookTimeoutMs: 5000,
 *     onPluginCall: () => Promise.reject(new Error("no calls between these plugins")),
 *   }));
 * }
 * const disabled = new Set<string>();
 * const deps = new Dependencies({ plugins, disabled, events });
 * const levels = deps.resolve();
 * assert.deepEqual(levels, [["kv"], ["app"], []]); // start levels, then the plugins that failed (none)
 * for (const level of levels) {
 *   await Promise.all(level.map(async (id) => (await deps.admit(plugins.get(id)!)) && plugins.get(id)!.start()));
 * }
 * assert.equal(plugins.get("app")!.state, "Running");
 * await deps.close();
 * for (const id of ["app", "kv"]) await plugins.get(id)!.stop();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class Dependencies {
  readonly #host: DependencyHost;
  #resolution: Resolution = { plugins: new Map(), levels: [], failed: [] };
  /** The manifests the resolution was made from, to notice when it is stale. */
  #from = new Map<string, PluginManifest>();
  /** The fleet's generation the resolution was made at (-1: none, or no fleet). */
  #fromRemote = -1;
  /** provider id -> the plugins bound to it, with how. */
  #dependents = new Map<string, { readonly id: string; readonly binding: DependencyBinding }[]>();
  /** Plugins kept from running by a dependency: started again once all they need runs. */
  readonly #held = new Set<string>();
  /** Plugins Running whose going down has not been announced yet. */
  readonly #up = new Set<string>();
  readonly #noted = new Set<string>();
  #closed = true;
  #queue: Promise<void> = Promise.resolve();

  /** Listens to the host's `state` and `reload` events. */
  constructor(host: DependencyHost) {
    this.#host = host;
    host.events.on("state", (c) => this.#onState(c));
    host.events.on("reload", (e) => this.#onReload(e));
  }

  /** Resolves every plugin the host knows and starts reacting to changes. Returns the start levels, failed last. */
  resolve(): (readonly string[])[] {
    this.#closed = false;
    this.#held.clear();
    this.#up.clear();
    for (const p of this.#host.plugins.values()) if (p.state === "Running") this.#up.add(p.id);
    this.#refresh();
    // A provider on another host is in the resolution but is no plugin of this host to start.
    const local = (ids: readonly string[]) => ids.filter((id) => this.#host.plugins.has(id));
    return [...this.#resolution.levels.map(local), local(this.#resolution.failed)];
  }

  /** What the fleet offers changed: the plugins waiting for a dependency may find it there now. */
  fleetChanged(): void {
    if (this.#closed || this.#held.size === 0) return;
    void this.#enqueue(() => this.#retryHeld());
  }

  /** Stops reacting (the host is stopping); resolves once the work under way is done. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.idle();
  }

  /** Resolves once no dependency work is queued (dependents restarted, stopped, told). */
  async idle(): Promise<void> {
    for (let q = this.#queue;; q = this.#queue) {
      await q;
      if (q === this.#queue) return;
    }
  }

  /**
   * Whether `p` may start now. When not, it is marked Failed with the reason and remembered: it starts as soon
   * as what it needs runs.
   */
  async admit(p: Plugin): Promise<boolean> {
    const why = this.#blocker(p.id);
    if (why === undefined) {
      this.#held.delete(p.id);
      return true;
    }
    this.#held.add(p.id);
    log.error("plugin {id} cannot start: {reason}", { id: p.id, reason: why });
    await p.markFailed(why);
    return false;
  }

  /** The plugins `id` is bound to now (its resolved providers), required or optional. */
  providersOf(id: string): string[] {
    const r = this.current().plugins.get(id);
    return r?.ok ? r.bindings.flatMap((b) => b.provider === undefined ? [] : [b.provider]) : [];
  }

  /** Throws `DEPENDENCY_FAILED`, naming the cause, unless plugin `id` may start now. */
  assertStartable(id: string): void {
    const why = this.#blocker(id);
    if (why !== undefined) {
      throw new PluginHostError("DEPENDENCY_FAILED", `Cannot start plugin "${id}": ${why}`, { pluginId: id });
    }
  }

  /**
   * Before an operator stops plugin `id`: its dependents are told, and those that need it are stopped first
   * (dependents first) and remembered. `id` itself is not remembered: it stays stopped. Returns the promise to
   * wait for before stopping `id`, or undefined when no dependent has to stop first (then `id` should stop at
   * once, refusing new calls from this moment).
   */
  beforeStop(id: string): Promise<void> | undefined {
    this.#held.delete(id);
    if (this.#closed || !this.#up.delete(id)) return undefined;
    const run = this.#enqueue(() => this.#down(id, "stopped"));
    return this.#mustStop(id).size > 0 ? run : undefined;
  }

  /** The resolution in force, made again when a plugin was added, removed or redefined. */
  current(): Resolution {
    const plugins = this.#host.plugins;
    let stale = plugins.size !== this.#from.size ||
      this.#fromRemote !== (this.#host.remote?.()?.generation ?? -1);
    for (const p of plugins.values()) {
      if (stale) break;
      stale = this.#from.get(p.id) !== p.manifest;
    }
    if (stale) this.#refresh();
    return this.#resolution;
  }

  #refresh(): void {
    const plugins = [...this.#host.plugins.values()];
    this.#from = new Map(plugins.map((p) => [p.id, p.manifest]));
    const remote = this.#host.remote?.();
    this.#fromRemote = remote?.generation ?? -1;
    // This host's plugins first: a local plugin hides another host's of the same id.
    const elsewhere = (remote?.manifests() ?? []).filter((m) => !this.#from.has(m.id));
    this.#resolution = resolveDependencies([...plugins.map((p) => p.manifest), ...elsewhere]);
    this.#dependents = new Map();
    for (const r of this.#resolution.plugins.values()) {
      for (const binding of r.bindings) {
        if (binding.provider === undefined || binding.provider === r.id) continue;
        const list = this.#dependents.get(binding.provider) ?? [];
        list.push({ id: r.id, binding });
        this.#dependents.set(binding.provider, list);
      }
      for (const note of r.notes) {
        if (this.#noted.has(`${r.id}\0${note}`)) continue;
        this.#noted.add(`${r.id}\0${note}`);
        log.info("plugin {id}: {note}", { id: r.id, note });
      }
    }
  }

  #enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(() => this.#closed ? undefined : op()).catch((e) =>
      log.error("dependency handling failed: {error}", { error: e })
    );
    this.#queue = run;
    return run;
  }

  /** Whether a Running plugin outside `gone` offers what `b` asks for. */
  #available(b: DependencyBinding, gone: ReadonlySet<string> = NONE): boolean {
    const bound = b.provider === undefined ? undefined : this.#host.plugins.get(b.provider);
    if (bound && serves(bound) && !gone.has(bound.id)) return true;
    for (const p of this.#host.plugins.values()) {
      if (!serves(p) || gone.has(p.id)) continue;
      const version = offeredVersion(p, b.name);
      if (version !== undefined && satisfiesRange(version, b.range)) return true;
    }
    return this.#host.remote?.()?.find(b.name, [b.range]) !== undefined;
  }

  /** Why plugin `id` may not start now; undefined when it may. */
  #blocker(id: string): string | undefined {
    const r = this.current().plugins.get(id);
    if (!r) return undefined;
    if (!r.ok) return r.failure!.reason;
    for (const b of r.bindings) {
      if (b.optional || this.#available(b)) continue;
      const p = this.#host.plugins.get(b.provider!);
      const state = !p ? "gone" : this.#host.disabled.has(p.id) ? `${p.state}, disabled` : p.state;
      const cause = p?.state === "Failed" && p.lastError ? `: ${p.lastError.message}` : "";
      return `${id} needs ${b.name} ${b.range}, and ${b.provider} is not running (${state})${cause}`;
    }
    return undefined;
  }

  #onState(c: StateChange): void {
    if (this.#closed) return;
    // An idle stop is no going down: the next call starts it again, so its dependents keep running untold.
    if (c.to === "Stopping" && this.#host.plugins.get(c.id)?.dormant === "idle") return;
    if (c.to === "Running") {
      if (this.#up.has(c.id)) return; // back from idle
      this.#up.add(c.id);
      void this.#enqueue(async () => {
        await this.#tell(c.id, "started");
        await this.#retryHeld();
      });
    } else if ((c.to === "Stopping" || c.to === "Failed") && this.#up.delete(c.id)) {
      const failed = c.to === "Failed";
      void this.#enqueue(() =>
        this.#down(c.id, failed ? "failed" : "stopped", failed ? c.reason : undefined)
      );
    }
  }

  #onReload(e: ReloadEvent): void {
    if (this.#closed) return;
    if (e.outcome === "swapped") {
      void this.#enqueue(async () => {
        await this.#reconcile();
        await this.#tell(e.id, "reloaded");
      });
    } else if (e.outcome === "restarted" || e.outcome === "added" || e.outcome === "removed") {
      void this.#enqueue(() => this.#reconcile());
    }
  }

  /** Tells the dependents of `provider` (Running ones by their hook and an event, remembered ones by an event). */
  async #tell(provider: string, change: DependencyChange["change"], reason?: string): Promise<void> {
    const p = this.#host.plugins.get(provider);
    if (!p) return;
    this.current();
    await Promise.all((this.#dependents.get(provider) ?? []).map(({ id, binding }) => {
      const d = this.#host.plugins.get(id);
      if (!d || (d.state !== "Running" && !this.#held.has(id))) return;
      const told: DependencyChange = {
        dependency: provider,
        name: binding.name,
        change,
        optional: binding.optional,
        version: offeredVersion(p, binding.name) ?? p.version,
        ...(reason === undefined ? {} : { reason }),
      };
      this.#host.events.emit("dependency", { id, ...told, at: Date.now() });
      return d.dependencyChanged(told);
    }));
  }

  /** `id` stopped or failed: tell its dependents, then stop (dependents first) those left without a provider. */
  async #down(id: string, change: "stopped" | "failed", reason?: string): Promise<void> {
    const r = this.current();
    const cause = this.#mustStop(id);
    for (const s of cause.keys()) this.#up.delete(s);
    await this.#tell(id, change, reason);
    await Promise.all([...cause.keys()].map((s) => this.#tell(s, "stopped")));
    const what = `dependency "${id}" ${change}${reason === undefined ? "" : `: ${reason}`}`;
    for (const group of byLevel(r, [...cause.keys()]).reverse()) {
      await Promise.all(group.map(async (s) => {
        this.#held.add(s);
        const via = cause.get(s)!;
        const why = via === id ? what : `dependency "${via}" stopped (${what})`;
        log.warn("stopping plugin {id}: {why}", { id: s, why });
        await this.#host.plugins.get(s)?.unload(why).catch((e) => log.error("{error}", { error: e }));
      }));
    }
  }

  /**
   * The Running plugins that must stop when `id` goes: those left with a required dependency that no Running
   * plugin satisfies, transitively; each with the provider it lost.
   */
  #mustStop(id: string): Map<string, string> {
    const r = this.current();
    const gone = new Set([id]);
    const cause = new Map<string, string>();
    for (let grew = true; grew;) {
      grew = false;
      for (const p of this.#host.plugins.values()) {
        if (gone.has(p.id) || p.state !== "Running") continue;
        const lost = r.plugins.get(p.id)?.bindings.find((b) => !b.optional && !this.#available(b, gone));
        if (!lost) continue;
        gone.add(p.id);
        cause.set(p.id, lost.provider ?? lost.name);
        grew = true;
      }
    }
    return cause;
  }

  /** Starts, in order, the remembered plugins whose dependencies all run again. */
  async #retryHeld(): Promise<void> {
    const waiting = [...this.#held].filter((id) => {
      const p = this.#host.plugins.get(id);
      if (!p || p.state === "Running") this.#held.delete(id);
      return p !== undefined && p.state !== "Running" && !this.#host.disabled.has(id);
    });
    if (waiting.length === 0) return;
    for (const group of byLevel(this.current(), waiting)) {
      await Promise.all(group.map(async (id) => {
        if (!this.#held.has(id) || this.#blocker(id) !== undefined) return;
        this.#held.delete(id);
        log.info("starting plugin {id} again: what it needs runs", { id });
        await this.#host.plugins.get(id)?.start().catch((e) => log.error("{error}", { error: e }));
      }));
    }
  }

  /** After a reload: Running plugins the new resolution fails are stopped and marked Failed; others may start. */
  async #reconcile(): Promise<void> {
    const r = this.current();
    for (const p of [...this.#host.plugins.values()]) {
      const res = r.plugins.get(p.id);
      if (p.state !== "Running" || !res?.failure) continue;
      const reason = res.failure.reason;
      if (this.#up.delete(p.id)) await this.#down(p.id, "failed", reason);
      this.#held.add(p.id);
      log.error("plugin {id} cannot run any more: {reason}", { id: p.id, reason });
      await p.stop(reason);
      await p.markFailed(reason);
    }
    await this.#retryHeld();
  }
}

/** `ids` grouped by start level, lowest first (plugins without a level last). */
function byLevel(r: Resolution, ids: readonly string[]): string[][] {
  const groups = new Map<number, string[]>();
  for (const id of ids) {
    const level = r.plugins.get(id)?.level ?? Number.MAX_SAFE_INTEGER;
    groups.set(level, [...groups.get(level) ?? [], id]);
  }
  return [...groups.entries()].sort(([a], [b]) => a - b).map(([, g]) => g.sort());
}

/** Whether `p` serves calls: Running, or dormant (lazy or idle: a call starts it). */
function serves(p: Plugin): boolean {
  return p.state === "Running" || p.dormant !== undefined;
}
