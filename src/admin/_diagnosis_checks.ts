/**
 * The checks of a diagnosis that read a plugin's failure and its permissions (see `diagnosis.ts`).
 *
 * @module
 */

import { within } from "../_common/paths.ts";
import { pluginConfigFor, securityFor } from "../config/config.ts";
import type { PluginHost } from "../host/types.ts";
import type { PluginHandle } from "../plugin/types.ts";
import {
  classify,
  codeOf,
  type Finding,
  type HandleExtras,
  humanDuration,
  iso,
  permissionAdvice,
  permissionFailure,
  q,
} from "./_diagnosis_advice.ts";

type ApprovalsView = {
  getPendingApprovals?(): readonly { id: string; fromVersion: string; toVersion: string }[];
};

/**
 * Why it failed: the last error, read as a permission, limit, signature, dependency, config or crash problem.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPluginHost } from "@dotcompute/plugins";
 * import { failureFindings } from "./_diagnosis_checks.ts";
 * // A plugin that asks for /data, is not granted it, and reads it as it starts.
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/reader`);
 * await Deno.writeTextFile(
 *   `${dir}/reader/plugin.jsonc`,
 *   '{ "id": "reader", "name": "reader", "version": "1.0.0", "permissions": { "read": ["/data"] } }',
 * );
 * await Deno.writeTextFile(
 *   `${dir}/reader/mod.ts`,
 *   'export default { start: () => Deno.readTextFile("/data") };',
 * );
 * const host = await createPluginHost({
 *   Plugins: { PluginsDirectory: dir },
 *   PluginSecurity: { reader: { AllowFileSystemAccess: true } },
 * }, { restartPolicy: false, fallbackReport: false });
 * await host.start();
 * assert.equal(
 *   failureFindings(host, host.getPlugin("reader")!)[0]?.action,
 *   'add "/data" to PluginSecurity.reader.AllowedPaths',
 * );
 * await host.stop();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function failureFindings(host: PluginHost, p: PluginHandle): Finding[] {
  const error = p.lastError;
  const running = p.state === "Running";
  if (!error) {
    if (p.state !== "Failed") return [];
    return [{
      kind: "lifecycle",
      severity: "error",
      message: "is Failed",
      action: `POST /plugins/${p.id}/start`,
    }];
  }
  if (codeOf(error) === "QUARANTINED") {
    const cause = error.cause instanceof Error ? error.cause : undefined;
    return [{
      kind: "crash",
      severity: running ? "info" : "error",
      message: `is quarantined: self-healing gave up restarting it (${error.message})`,
      action:
        `fix the cause${cause ? " (next finding)" : ""}, then POST /plugins/${p.id}/start: an operator's ` +
        "start lifts the quarantine",
    }, ...(cause ? explain(host, p, cause) : [])];
  }
  return explain(host, p, error);
}

/** One error, read as a permission, limit, signature, dependency, config, crash or lifecycle problem. */
function explain(host: PluginHost, p: PluginHandle, error: Error): Finding[] {
  const running = p.state === "Running";
  const exit = (p as PluginHandle & HandleExtras).lastExit;
  const code = codeOf(error);
  const kind = classify(error.message, code, exit?.kind);
  const cfg = pluginConfigFor(host.config, p.id);
  const retry = `then POST /plugins/${p.id}/start`;
  const finding = (message: string, action: string): Finding => ({
    kind,
    severity: running ? "info" : "error",
    message: running ? `recovered from an earlier failure: ${message}` : message,
    action: running ? "nothing to do now; if it repeats, follow: " + action : action,
  });
  switch (kind) {
    case "permission": {
      const pf = permissionFailure(error.message);
      if (!pf && /AllowGpu/.test(error.message) && !p.permissions.gpu) {
        return [finding(
          `failed: it needs WebGPU, which it was not granted: ${error.message}`,
          `set PluginSecurity.${p.id}.AllowGpu to true, ${retry}`,
        )];
      }
      if (!pf) {
        return [finding(`was refused: ${error.message}`, `grant what it needs in PluginSecurity.${p.id}`)];
      }
      const denied = p.permissions.denied.find((d) => covers(d, pf));
      const never = ["run", "ffi", "sys", "import"].includes(pf.kind);
      const action = never
        ? `the sandbox never grants ${pf.kind} to a plugin: remove that use from the plugin`
        : denied
        ? permissionAdvice(p.id, denied)
        : `ask for it in the manifest (permissions.${pf.kind}: [${q(pf.value)}]) and ` +
          permissionAdvice(p.id, { ...pf, reason: missingReason(host, p.id, pf.kind) });
      return [
        finding(`failed: it reached for ${pf.kind} access to ${q(pf.value)}: ${error.message}`, action),
      ];
    }
    case "limit": {
      const limits = { ...host.config.resourceLimits, ...cfg.resourceLimits };
      const cpu = exit?.kind === "cpu" || /cpu/i.test(error.message);
      const key = cpu ? "MaxCpuPercent" : "MaxMemoryMB";
      const now = cpu ? limits.maxCpuPercent : limits.maxMemoryMB;
      return [finding(
        `was ended for exceeding its ${cpu ? "CPU" : "memory"} limit (${key} ${
          now ?? "unset"
        }): ${error.message}`,
        `raise Plugins.${p.id}.ResourceLimits.${key} or find what ${
          cpu ? "keeps it busy" : "holds the memory"
        }, ${retry}`,
      )];
    }
    case "signature":
      return [finding(
        `failed signature verification: ${error.message}`,
        `sign the folder ("deno task cli sign ${p.dir} --key KEY") and trust the key in Plugins.TrustedCertificateThumbprints`,
      )];
    case "dependency":
      return [finding(`failed: ${error.message}`, `start or fix the dependency it names, ${retry}`)];
    case "config":
      return [finding(
        `failed: ${error.message}`,
        /Isolation/.test(error.message)
          ? `set Plugins.${p.id}.Isolation to "worker" (this host has no "${cfg.isolation}" tier), ${retry}`
          : `fix Plugins.${p.id}.Settings in the host config, ${retry}`,
      )];
    case "crash":
      return [finding(
        `crashed${exit ? ` (${exit.kind}) at ${iso(exit.at)}` : ""}: ${error.message}`,
        `read the host log lines tagged [${p.id}] before the crash and fix the cause, ${retry}`,
      )];
    default:
      if (
        code === "CALL_TIMEOUT" || exit?.kind === "timeout" ||
        /took longer than|timed out/i.test(error.message)
      ) {
        return [finding(
          `did not finish loading or a lifecycle hook within CallTimeout ` +
            `(${humanDuration(host.config.callTimeoutMs)}): ${error.message}`,
          `look for a top-level await or hook that never settles, or raise Plugins.CallTimeout, ${retry}`,
        )];
      }
      return [finding(
        `failed: ${error.name}: ${error.message}`,
        `fix the error (the host log has its lines tagged [${p.id}]), ${retry} or /reload`,
      )];
  }
}

/** Whether denial `d` is what refused `failure`: the same request, or a folder holding the path reached for. */
function covers(d: { kind: string; value: string }, failure: { kind: string; value: string }): boolean {
  if (d.kind !== failure.kind) return false;
  if (d.value === failure.value) return true;
  if (d.kind !== "read" && d.kind !== "write") return false;
  return within(failure.value, d.value);
}

/** The reason a request the manifest never made would be denied: the first gate it would meet. */
function missingReason(host: PluginHost, id: string, kind: string): string {
  const entry = securityFor(host.config, id);
  if (!entry) return "no PluginSecurity entry";
  if ((kind === "read" || kind === "write") && !entry.allowFileSystemAccess) {
    return "AllowFileSystemAccess is false";
  }
  if (kind === "net" && !entry.allowNetworkAccess) return "AllowNetworkAccess is false";
  return kind === "net"
    ? "endpoint not in AllowedNetworkEndpoints"
    : kind === "env"
    ? "not in AllowedEnvironmentVariables"
    : "not inside AllowedPaths";
}

/**
 * Requests denied or narrowed, and a new version held for approval.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPluginHost } from "@dotcompute/plugins";
 * import { permissionFindings } from "./_diagnosis_checks.ts";
 * // A plugin that asks for /data and is not granted it (it runs, without it).
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/reader`);
 * await Deno.writeTextFile(
 *   `${dir}/reader/plugin.jsonc`,
 *   '{ "id": "reader", "name": "reader", "version": "1.0.0", "permissions": { "read": ["/data"] } }',
 * );
 * await Deno.writeTextFile(`${dir}/reader/mod.ts`, "export default {};");
 * const host = await createPluginHost({
 *   Plugins: { PluginsDirectory: dir },
 *   PluginSecurity: { reader: { AllowFileSystemAccess: true } },
 * });
 * await host.start();
 * assert.deepEqual(permissionFindings(host, host.getPlugin("reader")!).map((f) => f.action), [
 *   'add "/data" to PluginSecurity.reader.AllowedPaths',
 * ]);
 * await host.stop();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function permissionFindings(host: PluginHost, p: PluginHandle): Finding[] {
  const failed = p.lastError && p.state !== "Running" ? permissionFailure(p.lastError.message) : undefined;
  const findings: Finding[] = p.permissions.denied
    .filter((d) => !(failed && covers(d, failed)))
    .map((d) => ({
      kind: "permission",
      severity: "warning",
      message: `asks for ${d.kind} access to ${q(d.value)} but is not granted it: ${d.reason}`,
      action: permissionAdvice(p.id, d),
    }));
  for (const n of p.permissions.narrowed) {
    findings.push({
      kind: "permission",
      severity: "info",
      message: `asks for ${n.kind} access to ${q(n.value)} but gets only ${n.grantedAs.map(q).join(", ")}`,
      action: `if it needs all of it, allow ${q(n.value)} in PluginSecurity.${p.id}`,
    });
  }
  for (const a of (host as PluginHost & ApprovalsView).getPendingApprovals?.() ?? []) {
    if (a.id !== p.id) continue;
    findings.push({
      kind: "permission",
      severity: "warning",
      message: `version ${a.toVersion} is held: it asks for more permissions than ${a.fromVersion}`,
      action:
        `review what it adds, then approve or reject it; version ${a.fromVersion} keeps serving meanwhile`,
    });
  }
  return findings;
}
