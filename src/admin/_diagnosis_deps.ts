/**
 * The dependency check of a diagnosis: each declared dependency against the plugins present (see
 * `diagnosis.ts`).
 *
 * @module
 */

import { join } from "node:path";
import semver from "../_npm/semver.ts";
import { pluginConfigFor } from "../config/config.ts";
import { startOrder } from "../deps/graph.ts";
import type { PluginHost } from "../host/types.ts";
import type { PluginHandle } from "../plugin/types.ts";
import type { Finding, HandleExtras } from "./_diagnosis_advice.ts";

const satisfies = semver.satisfies as (version: string, range: string) => boolean;
const rcompare = semver.rcompare as (a: string, b: string) => number;

/**
 * Each declared dependency against the plugins present: missing, out of range, not running; and cycles.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPluginHost } from "@dotcompute/plugins";
 * import { dependencyFindings } from "./_diagnosis_deps.ts";
 * // Two plugins: "app" depends on "kv".
 * const dir = await Deno.makeTempDir();
 * for (const [id, deps] of [["kv", {}], ["app", { kv: "^1.0.0" }]] as const) {
 *   await Deno.mkdir(`${dir}/${id}`);
 *   await Deno.writeTextFile(
 *     `${dir}/${id}/plugin.jsonc`,
 *     JSON.stringify({ id, name: id, version: "1.0.0", dependencies: deps }),
 *   );
 *   await Deno.writeTextFile(`${dir}/${id}/mod.ts`, "export default {};");
 * }
 * const host = await createPluginHost({ Plugins: { PluginsDirectory: dir } });
 * await host.start();
 * await host.stopPlugin("kv"); // stops app too: dependents first
 * assert.equal(
 *   dependencyFindings(host, host.getPlugin("app")!)[0]?.action,
 *   "start dependency kv: POST /plugins/kv/start",
 * );
 * await host.stop();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function dependencyFindings(host: PluginHost, p: PluginHandle): Finding[] {
  const plugins = host.getPlugins();
  const manifestFile = (p as PluginHandle & HandleExtras).discovered?.manifestPath ??
    join(p.dir, "plugin.jsonc");
  const running = p.state === "Running";
  const declared = [
    ...Object.entries(p.manifest.dependencies).map(([name, range]) => ({ name, range, optional: false })),
    ...Object.entries(p.manifest.optionalDependencies ?? {}).map(([name, range]) => ({
      name,
      range,
      optional: true,
    })),
  ];
  const findings: Finding[] = [];
  for (const { name, range, optional } of declared) {
    const severity = optional ? "info" : running ? "warning" : "error";
    const label = optional ? "optional dependency" : "dependency";
    const candidates = plugins.flatMap((c) =>
      c.id === name
        ? [{ c, version: c.version }]
        : Object.hasOwn(c.manifest.provides, name)
        ? [{ c, version: c.manifest.provides[name] }]
        : []
    );
    if (candidates.length === 0) {
      const failed = host.getDiscoveryFailures().find((f) => f.id === name);
      findings.push({
        kind: "dependency",
        severity,
        message: `needs ${label} ${name} ${range}, but no plugin is or provides ${name}` +
          (failed ? ` (its folder ${failed.dir} failed discovery: ${failed.message})` : ""),
        action: failed
          ? `fix dependency ${name} first (GET /plugins/${name}/diagnosis)`
          : `install a plugin ${name} matching ${range} in ${host.config.pluginsDirectory}, or remove it from ${manifestFile}`,
      });
      continue;
    }
    const inRange = candidates.filter((x) => satisfies(x.version, range)).toSorted((a, b) =>
      rcompare(a.version, b.version)
    );
    if (inRange.length === 0) {
      const found = candidates.map((x) => x.c.id === name ? x.version : `${x.version} (${x.c.id})`).join(
        ", ",
      );
      findings.push({
        kind: "dependency",
        severity,
        message: `needs ${label} ${name} ${range}, found ${found}`,
        action: `install ${name} at a version matching ${range}, or change the range in ${manifestFile}`,
      });
      continue;
    }
    if (inRange.some((x) => x.c.state === "Running")) continue;
    const best = inRange[0].c;
    const action = !pluginConfigFor(host.config, best.id).enabled
      ? `enable dependency ${best.id}: set Plugins.${best.id}.Enabled to true`
      : best.state === "Failed"
      ? `fix dependency ${best.id} first (GET /plugins/${best.id}/diagnosis), then POST /plugins/${p.id}/start`
      : `start dependency ${best.id}: POST /plugins/${best.id}/start`;
    findings.push({
      kind: "dependency",
      severity,
      message: `${label} ${best.id} ${best.version} is ${best.state}, not Running`,
      action,
    });
  }
  const order = startOrder(
    plugins.map((c) => ({ id: c.id, dependencies: Object.keys(c.manifest.dependencies) })),
  );
  if (order.cyclic.includes(p.id)) {
    findings.push({
      kind: "dependency",
      severity: running ? "warning" : "error",
      message: `sits on or behind a dependency cycle among ${order.cyclic.join(", ")}`,
      action: `break the cycle: remove one of the dependencies between ${order.cyclic.join(", ")}`,
    });
  }
  return findings;
}
