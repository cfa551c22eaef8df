/**
 * Services: finding the Running plugin that offers a name (a plugin id or a capability from `provides`) in the
 * highest version a range accepts, and the one gate every call between plugins goes through.
 *
 * A plugin may call plugin `x` when it declared `x` in `dependencies` or `optionalDependencies`, or when it
 * declared a capability that `x` provides in a version its range accepts. It may look up a service only by a
 * name it declared. A lookup from a plugin travels as a call to the reserved target {@linkcode SERVICE_TARGET},
 * which no plugin id can be (src/rpc/protocol.ts).
 *
 * @module
 */

import semver from "../_npm/semver.ts";
import { PluginHostError } from "../errors.ts";
import type { PluginManifest } from "../manifest/manifest.ts";
import type { PluginHandle } from "../plugin/types.ts";
import type { UntypedMethods } from "../plugin_api.ts";
import { SERVICE_TARGET } from "../rpc/protocol.ts";
import type { RemotePlugins } from "./remote.ts";
import { byVersionDesc, satisfiesRange } from "../_common/semver.ts";

const validRange = semver.validRange as (range: string) => string | null;

/**
 * A handle on the Running plugin that offers a service; `M` types its calls (see `host.getService<P>`).
 * `call` and `request` are the provider handle's own.
 */
export interface ServiceHandle<M = UntypedMethods> extends Pick<PluginHandle<M>, "call" | "request"> {
  /** The name looked up: a capability id or a plugin id. */
  readonly name: string;
  /** The id of the plugin that offers it. */
  readonly id: string;
  /** The version of `name` it offers. */
  readonly version: string;
  /** Where it runs: `"local"` (this host), or the id of the fleet's host that runs it (`Plugins.Cluster`). */
  readonly location: string;
  /** The provider's plugin handle; undefined when it runs on another host. */
  readonly plugin: PluginHandle<M> | undefined;
}

/**
 * The version of `name` that plugin `p` offers: its own version when `name` is its id, else what its
 * `provides` says; undefined when it offers nothing by that name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseManifest } from "@dotcompute/plugins";
 * import { offeredVersion } from "./services.ts";
 * const manifest = parseManifest(
 *   '{ "id": "kv.memory", "name": "kv", "version": "1.0.0", "provides": { "storage.kv": "2.1.0" } }',
 *   "plugin.jsonc",
 * );
 * const kv = { id: manifest.id, version: manifest.version, manifest }; // or host.getPlugin("kv.memory")!
 * assert.equal(offeredVersion(kv, "storage.kv"), "2.1.0");
 * assert.equal(offeredVersion(kv, "kv.memory"), "1.0.0");
 * assert.equal(offeredVersion(kv, "compute.vector"), undefined);
 * ```
 */
export function offeredVersion(
  p: Pick<PluginHandle, "id" | "version" | "manifest">,
  name: string,
): string | undefined {
  if (p.id === name) return p.version;
  return Object.hasOwn(p.manifest.provides, name) ? p.manifest.provides[name] : undefined;
}

/**
 * The range under which `manifest` declared `name` (required first, then optional); undefined when it did not.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseManifest } from "@dotcompute/plugins";
 * import { declaredRange } from "./services.ts";
 * const manifest = parseManifest(
 *   '{ "id": "app", "name": "app", "version": "1.0.0", "dependencies": { "storage.kv": "^2.0.0" } }',
 *   "plugin.jsonc",
 * );
 * assert.equal(declaredRange(manifest, "storage.kv"), "^2.0.0");
 * assert.equal(declaredRange(manifest, "host.metrics"), undefined);
 * ```
 */
export function declaredRange(manifest: PluginManifest, name: string): string | undefined {
  if (Object.hasOwn(manifest.dependencies, name)) return manifest.dependencies[name];
  const optional = manifest.optionalDependencies ?? {};
  return Object.hasOwn(optional, name) ? optional[name] : undefined;
}

/**
 * The Running plugin that offers `name` in the highest version accepted by every range given (ties go to the
 * lower id); undefined when none does.
 *
 * @throws {PluginHostError} `INVALID_RANGE` when a range is not a semver range.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { testPlugin } from "@dotcompute/plugins/testing";
 * import { findService } from "./services.ts";
 * // The bundled storage plugin provides "storage.kv" 2.0.0.
 * await using storage = await testPlugin("plugins/storage", { permissions: "manifest" });
 * const kv = findService(storage.host.getPlugins(), "storage.kv", "^2.0.0");
 * assert.equal(kv?.id, "dotcompute.storage");
 * await kv?.call("set", "key", 42);
 * assert.equal(await kv?.call("get", "key"), 42);
 * assert.equal(findService(storage.host.getPlugins(), "storage.kv", "^3.0.0"), undefined);
 * ```
 */
export function findService(
  plugins: Iterable<PluginHandle>,
  name: string,
  ...ranges: readonly string[]
): ServiceHandle | undefined {
  for (const range of ranges) {
    if (typeof range !== "string" || validRange(range) === null) {
      throw new PluginHostError("INVALID_RANGE", `${JSON.stringify(range)} is not a semver range`);
    }
  }
  let best: { plugin: PluginHandle; version: string } | undefined;
  for (const plugin of plugins) {
    if (plugin.state !== "Running" && plugin.dormant === undefined) continue; // a dormant one starts on need
    const version = offeredVersion(plugin, name);
    if (version === undefined || !ranges.every((r) => satisfiesRange(version, r))) continue;
    const order = best ? byVersionDesc(version, best.version) : -1;
    if (order < 0 || (order === 0 && plugin.id < best!.plugin.id)) best = { plugin, version };
  }
  if (!best) return undefined;
  const { plugin, version } = best;
  return {
    name,
    id: plugin.id,
    version,
    location: "local",
    plugin,
    call: (method, ...args) => plugin.call(method, ...args),
    request: (method, args, options) => plugin.request(method, args, options),
  };
}

/** Whether `caller` may call plugin `target` (see the module documentation). */
function mayCall(
  caller: PluginHandle,
  provides: Readonly<Record<string, string>> | undefined,
  targetId: string,
): boolean {
  if (declaredRange(caller.manifest, targetId) !== undefined) return true;
  if (!provides) return false;
  return Object.entries(provides).some(([name, version]) => {
    const range = declaredRange(caller.manifest, name);
    return range !== undefined && satisfiesRange(version, range);
  });
}

/** The name of the host's read-only metrics service (see {@linkcode HostMetricsSnapshot}). */
export const HOST_METRICS_SERVICE = "host.metrics";
/** The version of it the host offers. */
export const HOST_METRICS_VERSION = "1.0.0";

/**
 * What `ctx.plugins.call("host.metrics", "snapshot")` answers: every plugin's state and metrics. A plugin
 * may read it only when its manifest declares `"host.metrics"` (under `optionalDependencies`, as no plugin
 * provides it) with a range that accepts {@linkcode HOST_METRICS_VERSION}. Read-only: nothing a plugin sends
 * reaches another plugin or changes the host.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPluginHost } from "@dotcompute/plugins";
 * const dir = await Deno.makeTempDir();
 * const plugin = async (manifest: Record<string, unknown>, code: string) => {
 *   await Deno.mkdir(`${dir}/${manifest.id}`);
 *   await Deno.writeTextFile(
 *     `${dir}/${manifest.id}/plugin.jsonc`,
 *     JSON.stringify({ version: "1.0.0", ...manifest }),
 *   );
 *   await Deno.writeTextFile(`${dir}/${manifest.id}/mod.ts`, code);
 * };
 * // A plugin whose manifest has "optionalDependencies": { "host.metrics": "^1.0.0" } reads it:
 * await plugin(
 *   { id: "watcher", name: "watcher", optionalDependencies: { "host.metrics": "^1.0.0" } },
 *   `let ctx;
 *   export default {
 *     initialize: (c) => { ctx = c; },
 *     methods: {
 *       async failed() {
 *         const snap = await ctx.plugins.call("host.metrics", "snapshot");
 *         return snap.plugins.filter((p) => p.state === "Failed").map((p) => p.id);
 *       },
 *     },
 *   };`,
 * );
 * await plugin({ id: "broken", name: "broken" }, 'export default { start() { throw new Error("no"); } };');
 * const host = await createPluginHost({ Plugins: { PluginsDirectory: dir } }, {
 *   restartPolicy: false,
 *   fallbackReport: false,
 * });
 * await host.start();
 * assert.deepEqual(await host.getPlugin("watcher")?.call("failed"), ["broken"]);
 * await host.stop();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export interface HostMetricsSnapshot {
  /** When it was taken (ms since the epoch). */
  readonly at: number;
  /** Every plugin the host knows, by id. */
  readonly plugins: readonly {
    readonly id: string;
    readonly version: string;
    readonly state: string;
    /** The last health report's status, if there was a check. */
    readonly health?: string;
    readonly metrics: ReturnType<PluginHandle["getMetrics"]>;
  }[];
}

function hostMetrics(plugins: ReadonlyMap<string, PluginHandle>, method: string): HostMetricsSnapshot {
  if (method !== "snapshot") {
    throw new PluginHostError(
      "METHOD_NOT_FOUND",
      `Service "${HOST_METRICS_SERVICE}" has no method "${method}" (methods: snapshot)`,
    );
  }
  return {
    at: Date.now(),
    plugins: [...plugins.values()].map((p) => ({
      id: p.id,
      version: p.version,
      state: p.state,
      ...(p.healthHistory.length ? { health: p.healthHistory[p.healthHistory.length - 1].status } : {}),
      metrics: p.getMetrics(),
    })),
  };
}

const denied = (from: string, what: string): PluginHostError =>
  new PluginHostError(
    "PERMISSION_DENIED",
    `Plugin "${from}" may not ${what}: it is not among its dependencies`,
    { pluginId: from },
  );

/**
 * Carries one call from plugin `from` to `target` (or a service lookup), after the permission check.
 * Arguments and results move with their buffers transferred, never copied. What no local plugin answers, a
 * plugin the fleet offers (`remote`) may, under the same rule: the caller declares it or what it provides.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPluginHost } from "@dotcompute/plugins";
 * import { routePluginCall } from "./services.ts";
 * // "app" depends on the capability "storage.kv", which "kv.memory" provides; "other" declares nothing.
 * const dir = await Deno.makeTempDir();
 * const plugin = async (manifest: Record<string, unknown>, code = "export default {};") => {
 *   await Deno.mkdir(`${dir}/${manifest.id}`);
 *   await Deno.writeTextFile(
 *     `${dir}/${manifest.id}/plugin.jsonc`,
 *     JSON.stringify({ version: "1.0.0", ...manifest }),
 *   );
 *   await Deno.writeTextFile(`${dir}/${manifest.id}/mod.ts`, code);
 * };
 * await plugin(
 *   { id: "kv.memory", name: "kv", provides: { "storage.kv": "2.1.0" } },
 *   'export default { methods: { get: (key) => "value of " + key } };',
 * );
 * await plugin({ id: "app", name: "app", dependencies: { "storage.kv": "^2.0.0" } });
 * await plugin({ id: "other", name: "other" });
 * const host = await createPluginHost({ Plugins: { PluginsDirectory: dir } });
 * await host.start();
 * const plugins = new Map(host.getPlugins().map((p) => [p.id, p]));
 * const signal = new AbortController().signal;
 * assert.equal(await routePluginCall(plugins, "app", "kv.memory", "get", ["key"], signal), "value of key");
 * await assert.rejects(
 *   routePluginCall(plugins, "other", "kv.memory", "get", ["key"], signal),
 *   /"other" may not call "kv.memory"/,
 * );
 * await host.stop();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function routePluginCall(
  plugins: ReadonlyMap<string, PluginHandle>,
  from: string,
  target: string,
  method: string,
  args: readonly unknown[],
  signal: AbortSignal,
  remote?: RemotePlugins,
): Promise<unknown> {
  const caller = plugins.get(from);
  if (!caller) throw new PluginHostError("PLUGIN_NOT_FOUND", `No plugin "${from}"`, { pluginId: from });
  if (target === SERVICE_TARGET) {
    const [name, range] = args;
    if (method !== "lookup" || typeof name !== "string" || (range !== null && typeof range !== "string")) {
      throw new PluginHostError("PROTOCOL_ERROR", "A service lookup takes a name and a range or null");
    }
    const declared = declaredRange(caller.manifest, name);
    if (declared === undefined) throw denied(from, `use service "${name}"`);
    if (name === HOST_METRICS_SERVICE) {
      const ok = [declared, ...(range === null ? [] : [range])].every((r) =>
        satisfiesRange(HOST_METRICS_VERSION, r)
      );
      return ok ? { name, id: name, version: HOST_METRICS_VERSION } : null;
    }
    const ranges = [declared, ...(range === null ? [] : [range])];
    const found = findService(plugins.values(), name, ...ranges) ?? remote?.find(name, ranges);
    return found ? { name, id: found.id, version: found.version } : null;
  }
  if (target === HOST_METRICS_SERVICE) {
    const declared = declaredRange(caller.manifest, target);
    if (declared === undefined || !satisfiesRange(HOST_METRICS_VERSION, declared)) {
      throw denied(from, `read "${HOST_METRICS_SERVICE}" ${HOST_METRICS_VERSION}`);
    }
    return hostMetrics(plugins, method);
  }
  const callee = plugins.get(target);
  if (!callee && remote) {
    const offer = remote.find(target, [declaredRange(caller.manifest, target) ?? "*"]);
    if (offer?.id === target) {
      if (!mayCall(caller, offer.provides, target)) throw denied(from, `call "${target}"`);
      return await remote.request(offer, method, args, { signal });
    }
  }
  if (!mayCall(caller, callee?.manifest.provides, target)) throw denied(from, `call "${target}"`);
  if (!callee) throw new PluginHostError("PLUGIN_NOT_FOUND", `No plugin "${target}"`, { pluginId: target });
  return await callee.request(method, args, { signal });
}
