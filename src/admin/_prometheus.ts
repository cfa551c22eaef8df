/**
 * The host's metrics in the Prometheus text exposition format, version 0.0.4.
 *
 * @module
 */

import type { PluginHost } from "../host.ts";
import { PluginState } from "../lifecycle.ts";

/** The `Content-Type` of {@linkcode renderPrometheus}'s output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Readonly<Record<string, string>>;
type Sample = readonly [suffix: string, labels: Labels, value: number];

/**
 * Escapes a label value: backslash, double quote and line feed, as the exposition format requires.
 *
 * @example
 * ```ts
 * import { escapeLabelValue } from "./_prometheus.ts";
 * escapeLabelValue('a "b"\nc\\d'); // 'a \\"b\\"\\nc\\\\d'
 * ```
 */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

const escapeHelp = (text: string): string => text.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));

const formatValue = (v: number): string =>
  Number.isNaN(v) ? "NaN" : v === Infinity ? "+Inf" : v === -Infinity ? "-Inf" : String(v);

const formatLabels = (labels: Labels): string => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
};

/** One metric family: its HELP and TYPE lines, then its samples. */
function family(
  name: string,
  type: "counter" | "gauge" | "summary",
  help: string,
  samples: readonly Sample[],
): string {
  const lines = [`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`];
  for (const [suffix, labels, value] of samples) {
    lines.push(`${name}${suffix}${formatLabels(labels)} ${formatValue(value)}`);
  }
  return lines.join("\n");
}

const STATES = Object.values(PluginState);
const QUANTILES = [["0.5", "p50"], ["0.95", "p95"], ["0.99", "p99"]] as const;

/**
 * Renders every plugin's metrics (and the host's) as Prometheus text. Call latency is a summary in seconds
 * with the 0.5, 0.95 and 0.99 quantiles and `_count` (the host keeps no `_sum`); a plugin's own histograms are
 * summaries with `_sum` and `_count` only. Each plugin's state is a gauge that is 1 for its current state and
 * 0 for the others.
 *
 * @example
 * ```ts ignore
 * import { renderPrometheus } from "./_prometheus.ts";
 * console.log(renderPrometheus(host));
 * ```
 */
export function renderPrometheus(host: PluginHost): string {
  const plugins = host.getPlugins().map((p) => ({ p, m: p.getMetrics(), l: { plugin: p.id } }));
  const per = (value: (x: typeof plugins[number]) => number): Sample[] =>
    plugins.map((x) => ["", x.l, value(x)] as const);
  const families = [
    family(
      "dotcompute_plugin_info",
      "gauge",
      "Constant 1, labelled with the plugin's name, version and isolation.",
      plugins.map((
        { p },
      ) => ["", { plugin: p.id, name: p.name, version: p.version, isolation: p.isolation }, 1]),
    ),
    family(
      "dotcompute_plugin_state",
      "gauge",
      "1 for the state the plugin is in, 0 for every other state.",
      plugins.flatMap(({ p }) =>
        STATES.map((s): Sample => ["", { plugin: p.id, state: s }, +(p.state === s)])
      ),
    ),
    family(
      "dotcompute_plugin_calls_total",
      "counter",
      "Calls made to the plugin's methods.",
      per((x) => x.m.calls),
    ),
    family("dotcompute_plugin_errors_total", "counter", "Calls that failed.", per((x) => x.m.errors)),
    family("dotcompute_plugin_in_flight", "gauge", "Calls pending now.", per((x) => x.m.inFlight)),
    family(
      "dotcompute_plugin_uptime_seconds",
      "gauge",
      "Seconds since the plugin last reached Running; 0 when it is not running.",
      per((x) => x.m.uptimeMs / 1000),
    ),
    family(
      "dotcompute_plugin_restarts_total",
      "counter",
      "Times the plugin was started again after its first start.",
      per((x) => x.m.restarts),
    ),
    family(
      "dotcompute_plugin_protocol_errors_total",
      "counter",
      "Malformed messages from the plugin that were dropped.",
      per((x) => x.m.protocolErrors),
    ),
    family(
      "dotcompute_plugin_call_latency_seconds",
      "summary",
      "Latency of calls to the plugin's methods.",
      plugins.flatMap(({ m, l }): Sample[] => [
        ...QUANTILES.map(([q, k]): Sample => ["", { ...l, quantile: q }, m.latencyMs[k] / 1000]),
        ["_count", l, m.latencyMs.count],
      ]),
    ),
    family(
      "dotcompute_plugin_custom_total",
      "counter",
      "The plugin's own counters (ctx.metrics.counter), by name.",
      plugins.flatMap(({ m, l }) =>
        Object.entries(m.custom.counters).map(([metric, v]): Sample => ["", { ...l, metric }, v])
      ),
    ),
    family(
      "dotcompute_plugin_custom_histogram",
      "summary",
      "The plugin's own histograms (ctx.metrics.histogram), by name.",
      plugins.flatMap(({ m, l }) =>
        Object.entries(m.custom.histograms).flatMap(([metric, h]): Sample[] => [
          ["_sum", { ...l, metric }, h.sum],
          ["_count", { ...l, metric }, h.count],
        ])
      ),
    ),
    family(
      "dotcompute_host_discovery_failures",
      "gauge",
      "Plugin folders that discovery could not use.",
      [["", {}, host.getDiscoveryFailures().length]],
    ),
  ];
  return `${families.join("\n")}\n`;
}
