/**
 * Internal: a host's numbers, counted over its plugins and tiers.
 *
 * @module
 */

import type { PluginState } from "../lifecycle/lifecycle.ts";
import type { HostStatistics } from "./types.ts";
import type { IsolationTier } from "../isolation/tier.ts";
import type { Registry } from "./_registry.ts";

/** `PluginHost.getStatistics`. */
export function statistics(
  registry: Registry,
  tiers: Readonly<Record<string, IsolationTier>>,
): HostStatistics {
  const byState: Partial<Record<PluginState, number>> = {};
  let calls = 0, errors = 0;
  for (const p of registry.plugins.values()) {
    byState[p.state] = (byState[p.state] ?? 0) + 1;
    const m = p.getMetrics();
    calls += m.calls;
    errors += m.errors;
  }
  const workers = Object.values(tiers).reduce((n, t) => n + (t.live ?? 0), 0);
  return {
    total: registry.plugins.size,
    byState,
    calls,
    errors,
    discoveryFailures: registry.failures.length,
    workers,
  };
}
