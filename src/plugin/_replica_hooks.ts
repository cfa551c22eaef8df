/**
 * Internal: a lifecycle hook sent to every serving replica of a plugin, answered for the set. `ping` answers when
 * any replica does (and a replica that does not is stuck: it alone ends, and restarts); `health` combines them;
 * any other hook fails when one replica's does.
 *
 * @module
 */

import { CallTimeoutError, PluginHostError } from "../errors.ts";
import type { PluginConnection } from "../isolation/tier.ts";
import type { HookName } from "../rpc/protocol.ts";
import type { CallOptions } from "../rpc/endpoint.ts";
import type { HealthReport } from "../plugin_api.ts";
import { parseHealth } from "./_health.ts";

/** Calls hook `name` on each `[slot, connection]` of `serving`, and answers for them all. */
export async function hookAll(
  id: string,
  serving: readonly (readonly [number, PluginConnection])[],
  name: HookName,
  args: readonly unknown[],
  options?: CallOptions,
): Promise<unknown> {
  const answers = await Promise.allSettled(serving.map(([, conn]) => conn.call("hook", name, args, options)));
  if (name === "ping") {
    answers.forEach((a, i) => {
      if (a.status === "rejected" && a.reason instanceof CallTimeoutError) {
        void serving[i][1].kill("timeout", "unresponsive: no answer to a health ping");
      }
    });
    if (answers.some((a) => a.status === "fulfilled")) return true;
    throw (answers[0] as PromiseRejectedResult | undefined)?.reason ??
      new PluginHostError("PLUGIN_NOT_RUNNING", `Plugin "${id}" has no replica serving`, { pluginId: id });
  }
  if (name === "health") return combinedHealth(serving.map(([index]) => index), answers);
  const failed = answers.find((a): a is PromiseRejectedResult => a.status === "rejected");
  if (failed) throw failed.reason;
  return (answers[0] as PromiseFulfilledResult<unknown> | undefined)?.value;
}

/** The set's health: healthy when every replica is, unhealthy when none is, degraded in between. */
function combinedHealth(slots: readonly number[], answers: PromiseSettledResult<unknown>[]): HealthReport {
  const reports = answers.map((a) =>
    a.status === "fulfilled"
      ? parseHealth(a.value)
      : { status: "unhealthy" as const, details: { error: String(a.reason?.message ?? a.reason) } }
  );
  const healthy = reports.filter((r) => r.status === "healthy").length;
  const status = reports.length > 0 && healthy === reports.length
    ? "healthy"
    : reports.some((r) => r.status !== "unhealthy")
    ? "degraded"
    : "unhealthy";
  return { status, details: { replicas: reports.map((r, i) => ({ index: slots[i], ...r })) } };
}
