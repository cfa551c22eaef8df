/**
 * The host's metrics in the Prometheus text exposition format, version 0.0.4.
 *
 * @module
 */

import type { PluginHost } from "../host/types.ts";
import { PluginState } from "../lifecycle/lifecycle.ts";
import type { PluginMetricsSnapshot } from "../plugin/metrics.ts";

/** The `Content-Type` of {@linkcode renderPrometheus}'s output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Readonly<Record<string, string>>;
type Sample = readonly [suffix: string, labels: Labels, value: number];

/**
 * Escapes a label value: backslash, double quote and line feed, as the exposition format requires.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeLabelValue } from "./_prometheus.ts";
 * assert.equal(escapeLabelValue('a "b"\nc\\d'), 'a \\"b\\"\\nc\\\\d');
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
/** Longest error message put in a label value; longer ones are cut. */
const MAX_MESSAGE = 200;

/**
 * Renders every plugin's metrics (and the host's) as Prometheus text. Call latency is a summary in seconds
 * with the 0.5, 0.95 and 0.99 quantiles and `_count` (the host keeps no `_sum`); a plugin's own histograms are
 * summaries with `_sum` and `_count` only. Each plugin's state is a gauge that is 1 for its current state and
 * 0 for the others. Resource usage (CPU percent, heap used, throttled, limits) is a gauge per plugin; how it last
 * ended unasked and its last error are info-style gauges (`_info` is constant 1; the last error's value is when
 * it happened, in Unix seconds). Families with nothing to report keep their HELP and TYPE lines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { testPlugin } from "@dotcompute/plugins/testing";
 * import { renderPrometheus } from "./_prometheus.ts";
 * await using hello = await testPlugin("plugins/hello");
 * await hello.call("greet", "Ada");
 * const text = renderPrometheus(hello.host);
 * assert.match(text, /^# TYPE dotcompute_plugin_calls_total counter$/m);
 * assert.match(text, /^dotcompute_plugin_calls_total\{plugin="hello.world"\} 1$/m);
 * assert.match(text, /^dotcompute_plugin_state\{plugin="hello.world",state="Running"\} 1$/m);
 * ```
 */
export function renderPrometheus(host: PluginHost): string {
  const plugins = host.getPlugins().map((p) => ({ p, m: p.getMetrics(), l: { plugin: p.id } }));
  const per = (value: (x: typeof plugins[number]) => number): Sample[] =>
    plugins.map((x) => ["", x.l, value(x)] as const);
  const some = (value: (x: typeof plugins[number]) => number | undefined): Sample[] =>
    plugins.flatMap((x): Sample[] => {
      const v = value(x);
      return v === undefined ? [] : [["", x.l, v]];
    });
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
      "dotcompute_plugin_logs_dropped_total",
      "counter",
      "Log records from the plugin dropped because it logged faster than its budget.",
      per((x) => x.m.logsDropped),
    ),
    family(
      "dotcompute_plugin_call_latency_seconds",
      "summary",
      "Latency of calls to the plugin's methods.",
      plugins.flatMap(({ m, l }): Sample[] => [
        // No observation yet: NaN, as Prometheus client libraries report an empty summary (not a 0 s latency).
        ...QUANTILES.map((
          [q, k],
        ): Sample => ["", { ...l, quantile: q }, m.latencyMs.count === 0 ? NaN : m.latencyMs[k] / 1000]),
        ["_count", l, m.latencyMs.count],
      ]),
    ),
    family(
      "dotcompute_plugin_cpu_percent",
      "gauge",
      "Percent of one core spent blocking the plugin's event loop over the last 10 s.",
      per((x) => x.m.resources?.cpuPercent ?? 0),
    ),
    family(
      "dotcompute_plugin_cpu_limit_percent",
      "gauge",
      "The plugin's CPU budget in percent of one core (ResourceLimits.MaxCpuPercent), when it has one.",
      some((x) => x.m.resources?.maxCpuPercent),
    ),
    family(
      "dotcompute_plugin_heap_used_bytes",
      "gauge",
      "The plugin's used heap in bytes, as last sampled in its thread (absent until sampled).",
      some((x) => x.m.resources?.heapUsedBytes),
    ),
    family(
      "dotcompute_plugin_memory_limit_bytes",
      "gauge",
      "The plugin's heap cap in bytes (ResourceLimits.MaxMemoryMB), when it has one.",
      some((x) => {
        const mb = x.m.resources?.maxMemoryMB;
        return mb === undefined ? undefined : mb * 1024 * 1024;
      }),
    ),
    family(
      "dotcompute_plugin_throttled",
      "gauge",
      "1 while new calls are refused for being over the CPU budget, else 0.",
      per((x) => +(x.m.resources?.throttled ?? false)),
    ),
    family(
      "dotcompute_plugin_last_exit_info",
      "gauge",
      "Constant 1, labelled with how the plugin last ended unasked (memory, cpu, timeout, exit, crash, load-failed).",
      plugins.flatMap(({ m, l }): Sample[] =>
        m.resources?.lastExitKind === undefined ? [] : [["", { ...l, kind: m.resources.lastExitKind }, 1]]
      ),
    ),
    family(
      "dotcompute_plugin_last_error_timestamp_seconds",
      "gauge",
      "When the plugin's last error (of a call or of the plugin itself) happened, labelled with its name and message.",
      plugins.flatMap(({ m, l }): Sample[] =>
        m.lastError === undefined ? [] : [[
          "",
          { ...l, error: m.lastError.name, message: m.lastError.message.slice(0, MAX_MESSAGE) },
          m.lastError.at / 1000,
        ]]
      ),
    ),
    ...elasticFamilies(plugins),
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
      "dotcompute_host_plugins",
      "gauge",
      "Plugins known to the host, by state.",
      STATES.map((s): Sample => ["", { state: s }, plugins.filter(({ p }) => p.state === s).length]),
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

/** Replicas, the concurrency queue and shutdowns by reason (families with no sample keep their HELP and TYPE). */
function elasticFamilies(
  plugins: readonly { readonly m: PluginMetricsSnapshot; readonly l: Labels }[],
): string[] {
  const replicas = plugins.flatMap(({ m, l }) => (m.replicas ?? []).map((r) => ({ r, l })));
  const queued = plugins.flatMap(({ m, l }) => m.queue ? [{ q: m.queue, l }] : []);
  return [
    family(
      "dotcompute_plugin_replicas",
      "gauge",
      "Replicas of the plugin (Replicas), by state: serving, or draining before it ends.",
      plugins.flatMap(({ m, l }): Sample[] =>
        m.replicas
          ? (["serving", "draining"] as const).map((state): Sample => [
            "",
            { ...l, state },
            m.replicas!.filter((r) => r.state === state).length,
          ])
          : []
      ),
    ),
    family(
      "dotcompute_plugin_replica_in_flight",
      "gauge",
      "Calls in flight on each replica.",
      replicas.map(({ r, l }): Sample => ["", { ...l, replica: String(r.index) }, r.inFlight]),
    ),
    family(
      "dotcompute_plugin_replica_restarts_total",
      "counter",
      "Times each replica's slot was restarted alone after its replica died.",
      replicas.map(({ r, l }): Sample => ["", { ...l, replica: String(r.index) }, r.restarts]),
    ),
    family(
      "dotcompute_plugin_queue_length",
      "gauge",
      "Calls waiting for a replica with room (MaxConcurrency).",
      queued.map(({ q, l }): Sample => ["", l, q.length]),
    ),
    family(
      "dotcompute_plugin_queued_total",
      "counter",
      "Calls that had to wait for a replica with room.",
      queued.map(({ q, l }): Sample => ["", l, q.queued]),
    ),
    family(
      "dotcompute_plugin_queue_timeouts_total",
      "counter",
      "Calls that waited longer than QueueTimeout and were refused (QUEUE_TIMEOUT).",
      queued.map(({ q, l }): Sample => ["", l, q.timeouts]),
    ),
    family(
      "dotcompute_plugin_queue_wait_seconds",
      "gauge",
      "Mean and longest wait of the calls that left the queue for a replica.",
      queued.flatMap(({ q, l }): Sample[] => [
        ["", { ...l, stat: "mean" }, q.meanWaitMs / 1000],
        ["", { ...l, stat: "max" }, q.maxWaitMs / 1000],
      ]),
    ),
    family(
      "dotcompute_plugin_shutdowns_total",
      "counter",
      "Ends of the plugin's instances (workers, processes, replicas), by typed reason.",
      plugins.flatMap(({ m, l }) =>
        Object.entries(m.shutdowns ?? {}).map(([reason, n]): Sample => ["", { ...l, reason }, n ?? 0])
      ),
    ),
  ];
}
