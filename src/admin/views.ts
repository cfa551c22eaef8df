/**
 * What the admin API answers about the host and its plugins, as plain JSON-ready objects.
 *
 * @module
 */

import { pluginConfigFor } from "../config/config.ts";
import type { PluginHost } from "../host/types.ts";
import type { PluginHandle } from "../plugin/types.ts";

/** A health status: the plugin's own report, or, where none was asked for, what its state implies. */
export type HealthStatus = "healthy" | "degraded" | "unhealthy" | "unknown";

/** A plugin as `GET /plugins` lists it. */
export interface PluginSummary {
  /** The manifest id. */
  readonly id: string;
  /** The manifest name. */
  readonly name: string;
  /** The version loaded. */
  readonly version: string;
  /** The lifecycle state. */
  readonly state: string;
  /** Last known health, from the state: Running is healthy, Failed unhealthy, anything else unknown. */
  readonly health: HealthStatus;
  /** The manifest's capabilities. */
  readonly capabilities: readonly string[];
  /** Where it runs: `worker` or `process`. */
  readonly isolation: string;
  /** `lazy` or `idle` when it has no worker but serves (the next call starts it). */
  readonly dormant?: "lazy" | "idle";
}

/**
 * The health a plugin's state implies, without asking the plugin: `Running` is healthy, `Failed` is unhealthy,
 * every other state is unknown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { testPlugin } from "@dotcompute/plugins/testing";
 * import { healthFromState } from "./views.ts";
 * await using hello = await testPlugin("plugins/hello");
 * assert.equal(healthFromState(hello.handle), "healthy");
 * await hello.host.stopPlugin("hello.world");
 * assert.equal(healthFromState(hello.handle), "unknown");
 * ```
 */
export function healthFromState(p: PluginHandle): HealthStatus {
  // A dormant plugin (lazy, or stopped for being idle) serves: the next call starts it.
  return p.state === "Running" || p.dormant ? "healthy" : p.state === "Failed" ? "unhealthy" : "unknown";
}

/**
 * A plugin as `GET /plugins` lists it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { testPlugin } from "@dotcompute/plugins/testing";
 * import { summarize } from "./views.ts";
 * await using hello = await testPlugin("plugins/hello");
 * assert.deepEqual(hello.host.getPlugins().map(summarize), [{
 *   id: "hello.world",
 *   name: "Hello World",
 *   version: "1.2.0",
 *   state: "Running",
 *   health: "healthy",
 *   capabilities: ["HotReloadable"],
 *   isolation: "worker",
 * }]);
 * ```
 */
export function summarize(p: PluginHandle): PluginSummary {
  return {
    id: p.id,
    name: p.name,
    version: p.version,
    state: p.state,
    health: healthFromState(p),
    capabilities: p.manifest.capabilities,
    isolation: p.isolation,
    ...(p.dormant ? { dormant: p.dormant } : {}),
  };
}

/**
 * A plugin as `GET /plugins/:id` shows it: the summary with the health the plugin reports now (asked with a
 * 2 s bound when it runs), its effective permissions, dependencies, restarts, last error, whether it is dormant
 * (lazy or idle), its last shutdown with its typed reason, its replicas and its metrics.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { testPlugin } from "@dotcompute/plugins/testing";
 * import { describePlugin } from "./views.ts";
 * await using hello = await testPlugin("plugins/hello");
 * const view = await describePlugin(hello.handle);
 * assert.equal(view.health, "healthy"); // what the plugin's own health() answered
 * assert.deepEqual(view.methods, ["greet", "sum"]);
 * assert.equal(view.lastError, null);
 * ```
 */
export async function describePlugin(p: PluginHandle): Promise<Record<string, unknown>> {
  const report = p.state === "Running" ? await p.checkHealth({ timeoutMs: 2000 }) : undefined;
  const metrics = p.getMetrics();
  const error = p.lastError ?? metrics.lastError;
  return {
    ...summarize(p),
    ...(report ? { health: report.status, healthDetails: report.details ?? {} } : {}),
    description: p.manifest.description ?? null,
    dir: p.dir,
    methods: p.methods,
    permissions: p.permissions,
    dependencies: p.manifest.dependencies,
    optionalDependencies: p.manifest.optionalDependencies ?? {},
    provides: p.manifest.provides,
    restarts: metrics.restarts,
    lastError: error ? { name: error.name, message: error.message } : null,
    lastReload: p.lastReload ?? null,
    dormant: p.dormant ?? null,
    lastShutdown: p.lastShutdown ?? null,
    replicas: metrics.replicas ?? null,
    metrics,
  };
}

/**
 * The host's overall health, from its plugins' states alone (no plugin is called):
 * `unhealthy` when an enabled plugin is Failed; `degraded` when an enabled plugin is not Running (stopped,
 * still starting) or a plugin folder failed discovery; `healthy` otherwise (also with no plugins at all).
 * Disabled plugins do not count.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { testPlugin } from "@dotcompute/plugins/testing";
 * import { hostHealth } from "./views.ts";
 * await using hello = await testPlugin("plugins/hello");
 * assert.equal(hostHealth(hello.host), "healthy");
 * await hello.host.stopPlugin("hello.world");
 * assert.equal(hostHealth(hello.host), "degraded"); // enabled but not Running
 * ```
 */
/**
 * Readiness (`GET /ready`): the host has finished `start()` and every enabled plugin has left `Loading` and
 * `Starting` (a Failed one is done starting: /health reports it). The ids still starting, or null when ready.
 */
export function notReady(
  host: PluginHost,
): { readonly starting: readonly string[]; readonly started: boolean } | null {
  const starting = host.getPlugins()
    .filter((p) =>
      pluginConfigFor(host.config, p.id).enabled && (p.state === "Loading" || p.state === "Starting") &&
      !p.dormant // waking on a call: the host is ready, that call waits
    )
    .map((p) => p.id);
  return host.started && starting.length === 0 ? null : { starting, started: host.started };
}

export function hostHealth(host: PluginHost): "healthy" | "degraded" | "unhealthy" {
  const enabled = host.getPlugins().filter((p) => pluginConfigFor(host.config, p.id).enabled);
  if (enabled.some((p) => p.state === "Failed")) return "unhealthy";
  const down = enabled.some((p) => p.state !== "Running" && !p.dormant);
  if (down || host.getDiscoveryFailures().length > 0) return "degraded";
  return "healthy";
}

/**
 * `JSON.stringify` for plugin results: typed arrays and `ArrayBuffer`s become arrays of numbers, `bigint`s
 * strings, `Map`s arrays of entries, `Set`s arrays, and `undefined` (at the top) `null`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toJson } from "./views.ts";
 * assert.equal(toJson({ result: new Float32Array([1, 2]) }), '{"result":[1,2]}');
 * assert.equal(toJson(undefined), "null");
 * ```
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value ?? null, (_key, v: unknown) => {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof ArrayBuffer) return Array.from(new Uint8Array(v));
    if (ArrayBuffer.isView(v)) {
      return v instanceof DataView
        ? Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))
        : Array.from(v as unknown as ArrayLike<number | bigint>, (x) =>
          typeof x === "bigint" ? x.toString() : x);
    }
    if (v instanceof Map) return [...v];
    if (v instanceof Set) return [...v];
    return v;
  });
}
