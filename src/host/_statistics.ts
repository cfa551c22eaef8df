/**
 * Internal: a host's numbers, counted over its plugins and tiers.
 *
 * @module
 */

import type { PluginState } from "../lifecycle/lifecycle.ts";
import type { HostStatistics } from "./types.ts";
import type { HostState } from "./_state.ts";

/** `PluginHost.getStatistics`. */
export function statistics(s: HostState): HostStatistics {
  const byState: Partial<Record<PluginState, number>> = {};
  let calls = 0, errors = 0;
  for (const p of s.plugins.values()) {
    byState[p.state] = (byState[p.state] ?? 0) + 1;
    const m = p.getMetrics();
    calls += m.calls;
    errors += m.errors;
  }
  const workers = Object.values(s.tiers).reduce((n, t) => n + (t.live ?? 0), 0);
  return {
    total: s.plugins.size,
    byState,
    calls,
    errors,
    discoveryFailures: s.failures.length,
    workers,
  };
}
