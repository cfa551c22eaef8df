/**
 * `GET /plugins/:id/diagnosis`: why a plugin is not running (or what to watch when it is), from everything the
 * host knows of it — its state and last error, its last reload and worker exit, denied permissions with their
 * reasons, restarts and protocol errors, its dependencies against the other plugins, discovery failures of its
 * folder, and its host configuration — each finding with an action an operator can take.
 *
 * @module
 */

import { pluginConfigFor } from "../config/config.ts";
import type { DiscoveryFailureEvent } from "../events/events.ts";
import type { PluginHost } from "../host/types.ts";
import type { PluginHandle } from "../plugin/types.ts";
import { classify, type Finding, type HandleExtras, humanDuration, iso } from "./_diagnosis_advice.ts";
import { failureFindings, permissionFindings } from "./_diagnosis_checks.ts";
import { dependencyFindings } from "./_diagnosis_deps.ts";

export type { Finding, FindingKind, Severity } from "./_diagnosis_advice.ts";

/** The answer of `GET /plugins/:id/diagnosis`. */
export interface Diagnosis {
  /** The plugin id asked about. */
  readonly id: string;
  /** Its lifecycle state (`Unknown` for a folder discovery rejected). */
  readonly state: string;
  /** Whether it runs. */
  readonly running: boolean;
  /** What was found, errors first, each with an action. */
  readonly findings: readonly Finding[];
}

const RANK = { error: 0, warning: 1, info: 2 } as const;
const BUSY = new Set([
  "Loading",
  "Loaded",
  "Initializing",
  "Initialized",
  "Starting",
  "Stopping",
  "Unloading",
]);

/**
 * Diagnoses plugin `id` of `host`; `undefined` when the host knows nothing of it (neither a plugin nor a
 * folder that failed discovery with that id).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { testPlugin } from "@dotcompute/plugins/testing";
 * import { diagnosePlugin } from "./diagnosis.ts";
 * await using hello = await testPlugin("plugins/hello");
 * await hello.host.stopPlugin("hello.world");
 * const diagnosis = diagnosePlugin(hello.host, "hello.world");
 * assert.equal(diagnosis?.running, false);
 * assert.deepEqual(diagnosis?.findings.map((f) => f.action), ["POST /plugins/hello.world/start"]);
 * assert.equal(diagnosePlugin(hello.host, "no.such.plugin"), undefined);
 * ```
 */
export function diagnosePlugin(host: PluginHost, id: string): Diagnosis | undefined {
  const p = host.getPlugin(id);
  const failures = host.getDiscoveryFailures().filter((f) =>
    f.id === id || (p !== undefined && f.dir === p.dir)
  );
  if (!p) {
    if (failures.length === 0) return undefined;
    return {
      id,
      state: "Unknown",
      running: false,
      findings: failures.map((f) => discoveryFinding(f, "error")),
    };
  }
  const running = p.state === "Running";
  const findings: Finding[] = [
    ...stateFindings(host, p),
    ...failureFindings(host, p),
    ...dependencyFindings(host, p),
    ...permissionFindings(host, p),
    ...historyFindings(host, p),
    ...failures.map((f) => discoveryFinding(f, "warning")),
  ];
  return {
    id,
    state: p.state,
    running,
    findings: findings.toSorted((a, b) => RANK[a.severity] - RANK[b.severity]),
  };
}

function discoveryFinding(f: DiscoveryFailureEvent, severity: "error" | "warning"): Finding {
  const message = `discovery rejected the folder ${f.dir}: ${f.message}`;
  if (classify(f.message) === "signature") {
    return {
      kind: "signature",
      severity,
      message,
      action: `sign the folder ("deno task cli sign ${f.dir} --key KEY") and add the key's thumbprint to ` +
        `Plugins.TrustedCertificateThumbprints, or set Plugins.ValidateSignatures to false`,
    };
  }
  return {
    kind: "discovery",
    severity,
    message,
    action:
      `fix the folder ("deno task cli validate ${f.dir}" lists every problem as file:line:col); the host ` +
      `picks it up at its next start, or on save with Plugins.EnableHotReload`,
  };
}

/** What the state says, and whether the configuration keeps the plugin off. */
function stateFindings(host: PluginHost, p: PluginHandle): Finding[] {
  const start = `POST /plugins/${p.id}/start`;
  if (p.state === "Running") {
    const m = p.getMetrics();
    return [{
      kind: "lifecycle",
      severity: "info",
      message: `is Running: up ${humanDuration(m.uptimeMs)}, ${m.calls} calls, ${m.errors} failed`,
      action: "nothing to do",
    }];
  }
  if (!pluginConfigFor(host.config, p.id).enabled) {
    return [{
      kind: "config",
      severity: "error",
      message: `is disabled: Plugins.${p.id}.Enabled is false in the host config`,
      action:
        `set Plugins.${p.id}.Enabled to true (a watched config file applies it live), or ${start} to run it once`,
    }];
  }
  if (BUSY.has(p.state)) {
    return [{
      kind: "lifecycle",
      severity: "info",
      message: `is ${p.state}: a lifecycle step is under way`,
      action: `wait; a step that hangs fails after CallTimeout (${humanDuration(host.config.callTimeoutMs)})`,
    }];
  }
  if (p.state === "Failed" || p.lastError) return []; // failureFindings says why
  return [{
    kind: "lifecycle",
    severity: "error",
    message: p.state === "Unknown"
      ? "has not been started (the host is still starting, or it was never started)"
      : `is ${p.state}: it was stopped (POST /plugins/${p.id}/stop or host.stopPlugin)`,
    action: start,
  }];
}

/** Restarts, protocol errors, the last unasked exit and the last reload. */
function historyFindings(_host: PluginHost, p: PluginHandle): Finding[] {
  const m = p.getMetrics();
  const findings: Finding[] = [];
  const log = `read the host log lines tagged [${p.id}]`;
  if (m.restarts > 0) {
    findings.push({
      kind: "crash",
      severity: m.restarts >= 3 ? "warning" : "info",
      message: `was started again ${m.restarts} time${m.restarts === 1 ? "" : "s"} after its first start`,
      action: `if it keeps failing, ${log}`,
    });
  }
  if (m.protocolErrors > 0) {
    findings.push({
      kind: "crash",
      severity: "warning",
      message: `sent ${m.protocolErrors} malformed message${m.protocolErrors === 1 ? "" : "s"} (dropped)`,
      action: "make sure the plugin never calls postMessage itself and uses this package's runtime",
    });
  }
  const exit = (p as PluginHandle & HandleExtras).lastExit;
  if (exit && p.state === "Running") {
    findings.push({
      kind: exit.kind === "memory" || exit.kind === "cpu" ? "limit" : "crash",
      severity: "info",
      message: `its worker last ended unasked at ${iso(exit.at)} (${exit.kind}): ${exit.reason}`,
      action: `nothing to do now; if it repeats, ${log}`,
    });
  }
  const r = p.lastReload;
  if (r?.outcome === "rolled-back") {
    findings.push({
      kind: "lifecycle",
      severity: "warning",
      message: `the reload to version ${r.toVersion ?? "?"} at ${iso(r.at)} was rolled back: ${
        r.error ?? "failed"
      }`,
      action: `fix the new version in ${p.dir}; ${
        r.fromVersion ?? "the old version"
      } keeps serving, the next save retries`,
    });
  } else if (r?.outcome === "restart-required") {
    findings.push({
      kind: "lifecycle",
      severity: "info",
      message: `its files changed at ${iso(r.at)} but it is not HotReloadable, so ${p.version} still runs`,
      action: `POST /plugins/${p.id}/reload to load version ${r.toVersion ?? "on disk"}`,
    });
  }
  return findings;
}
