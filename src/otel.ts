/**
 * OpenTelemetry metrics for a plugin host: observable instruments on a `Meter` of `npm:@opentelemetry/api`,
 * read from the host's own per-plugin metrics each time the meter collects. Nothing is recorded on the call
 * path, so instrumenting a host costs nothing between collections.
 *
 * Run with `OTEL_DENO=true` and Deno's built-in exporter ships them over OTLP (see the README).
 *
 * @module
 */

import { metrics, ValueType } from "./_npm/otel.ts";
import type { PluginHost } from "./host/host.ts";

/** An instrument made by an {@linkcode ObservableMeter}; an OpenTelemetry `Observable` fits. */
export type ObservableInstrument = object;

/** Attributes of an observation. */
export type ObservationAttributes = Readonly<Record<string, string | number | boolean>>;

/** What a batch callback is handed at each collection; an OpenTelemetry `BatchObservableResult` fits. */
export interface ObservationResult {
  /** Reports one value of one instrument. */
  observe(instrument: ObservableInstrument, value: number, attributes?: ObservationAttributes): void;
}

/** How an instrument is described. */
export interface ObservableInstrumentOptions {
  /** What it measures. */
  readonly description?: string;
  /** Its unit (UCUM). */
  readonly unit?: string;
  /** An OpenTelemetry `ValueType`: 0 for integers, 1 for doubles. */
  readonly valueType?: number;
}

/**
 * The part of an OpenTelemetry `Meter` (from `npm:@opentelemetry/api`) that {@linkcode instrumentHost} uses;
 * any `Meter` fits.
 */
export interface ObservableMeter {
  /** Makes a monotonic observable counter. */
  createObservableCounter(name: string, options?: ObservableInstrumentOptions): ObservableInstrument;
  /** Makes an observable up-down counter. */
  createObservableUpDownCounter(name: string, options?: ObservableInstrumentOptions): ObservableInstrument;
  /** Makes an observable gauge. */
  createObservableGauge(name: string, options?: ObservableInstrumentOptions): ObservableInstrument;
  /** Runs `callback` at each collection for `observables`. */
  addBatchObservableCallback(
    callback: (result: ObservationResult) => void | Promise<void>,
    observables: ObservableInstrument[],
  ): void;
  /** Stops running `callback`. */
  removeBatchObservableCallback(
    callback: (result: ObservationResult) => void | Promise<void>,
    observables: ObservableInstrument[],
  ): void;
}

/** Where a meter comes from; any OpenTelemetry `MeterProvider` fits. */
export interface ObservableMeterProvider {
  /** The meter named `name`. */
  getMeter(name: string): ObservableMeter;
}
import { PluginState } from "./lifecycle/lifecycle.ts";

/** Options of {@linkcode instrumentHost}. */
export interface InstrumentHostOptions {
  /** The meter to register the instruments on; default: one from `meterProvider`. */
  readonly meter?: ObservableMeter;
  /** Where to get the meter from; default: the global provider (`metrics.getMeterProvider()`). */
  readonly meterProvider?: ObservableMeterProvider;
  /** Prefix of every instrument name; default `"dotcompute"`. */
  readonly prefix?: string;
}

/** What {@linkcode instrumentHost} returns: disposing it removes the callbacks, so nothing more is observed. */
export interface HostInstrumentation extends Disposable, AsyncDisposable {
  /** The meter the instruments live on. */
  readonly meter: ObservableMeter;
  /** The instruments by name (without the prefix), e.g. `plugin.calls`. */
  readonly instruments: Readonly<Record<string, ObservableInstrument>>;
}

const METER_NAME = "@dotcompute/plugins";
const STATES = Object.values(PluginState);
const QUANTILES = [["0.5", "p50"], ["0.95", "p95"], ["0.99", "p99"]] as const;

// Deno's own meter (OTEL_DENO=true) refuses every valueType but DOUBLE ("Only valueType: DOUBLE is supported"),
// and the type is only advice to an exporter: counts are exported as doubles that hold whole numbers.
const VALUE_TYPE = ValueType.DOUBLE;

/**
 * Registers observable instruments for every plugin of `host` (calls, errors, in flight, latency quantiles,
 * restarts, uptime, CPU, heap, throttled, state) and for the host (plugins by state, calls, errors, workers,
 * discovery failures). Every instrument is read in one batch callback per collection, from `getMetrics()` and
 * `getStatistics()`. Plugins added later are picked up at the next collection.
 *
 * Per plugin (attribute `dotcompute.plugin.id`): `plugin.calls`, `plugin.errors`, `plugin.restarts`,
 * `plugin.protocol_errors` (counters), `plugin.in_flight` (up-down counter), `plugin.call_latency` (gauge in
 * ms with attribute `quantile` 0.5, 0.95, 0.99), `plugin.uptime` (s), `plugin.cpu` (percent of one core),
 * `plugin.heap_used` (bytes; only when sampled), `plugin.throttled` (0/1), `plugin.state` (1 for the current
 * state, 0 for the others, attribute `dotcompute.plugin.state`). Host-wide: `host.plugins` (by state),
 * `host.calls`, `host.errors`, `host.workers`, `host.discovery_failures`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { instrumentHost, type ObservableMeter, type ObservationResult } from "@dotcompute/plugins";
 * import { testPlugin } from "@dotcompute/plugins/testing";
 * await using hello = await testPlugin("plugins/hello");
 * await hello.call("greet", "Ada");
 * // Without `meter`, the global one is used: OTEL_DENO=true deno run ... exports them over OTLP. This one
 * // collects when asked.
 * let collect: ((result: ObservationResult) => void | Promise<void>) | undefined;
 * const meter: ObservableMeter = {
 *   createObservableCounter: (name) => ({ name }),
 *   createObservableUpDownCounter: (name) => ({ name }),
 *   createObservableGauge: (name) => ({ name }),
 *   addBatchObservableCallback: (callback) => (collect = callback),
 *   removeBatchObservableCallback: () => (collect = undefined),
 * };
 * const seen = new Map<string, number>();
 * {
 *   using otel = instrumentHost(hello.host, { meter });
 *   assert.ok("plugin.calls" in otel.instruments);
 *   await collect?.({
 *     observe: (instrument, value, attributes) => {
 *       if (attributes?.["dotcompute.plugin.id"] === "hello.world") {
 *         seen.set((instrument as { name: string }).name, value);
 *       }
 *     },
 *   });
 * } // disposed: nothing more is observed
 * assert.equal(seen.get("dotcompute.plugin.calls"), 1);
 * assert.equal(collect, undefined);
 * ```
 */
export function instrumentHost(host: PluginHost, options: InstrumentHostOptions = {}): HostInstrumentation {
  const meter: ObservableMeter = options.meter ??
    (options.meterProvider ?? metrics.getMeterProvider()).getMeter(METER_NAME);
  const prefix = options.prefix ?? "dotcompute";
  const instruments: Record<string, ObservableInstrument> = {};
  const counter = (
    name: string,
    description: string,
    unit = "{call}",
  ): ObservableInstrument => (instruments[name] = meter.createObservableCounter(`${prefix}.${name}`, {
    description,
    unit,
    valueType: VALUE_TYPE,
  }));
  const upDown = (
    name: string,
    description: string,
    unit: string,
  ): ObservableInstrument => (instruments[name] = meter.createObservableUpDownCounter(
    `${prefix}.${name}`,
    {
      description,
      unit,
      valueType: VALUE_TYPE,
    },
  ));
  const gauge = (
    name: string,
    description: string,
    unit: string,
  ): ObservableInstrument => (instruments[name] = meter.createObservableGauge(`${prefix}.${name}`, {
    description,
    unit,
    valueType: VALUE_TYPE,
  }));

  const calls = counter("plugin.calls", "Calls made to the plugin's methods.");
  const errors = counter("plugin.errors", "Calls to the plugin's methods that failed.");
  const restarts = counter(
    "plugin.restarts",
    "Times the plugin was started again after its first start.",
    "1",
  );
  const protocolErrors = counter(
    "plugin.protocol_errors",
    "Malformed messages from the plugin that were dropped.",
    "{message}",
  );
  const logsDropped = counter(
    "plugin.logs_dropped",
    "Log records from the plugin dropped because it logged faster than its budget.",
    "{record}",
  );
  const inFlight = upDown("plugin.in_flight", "Calls to the plugin pending now.", "{call}");
  const latency = gauge("plugin.call_latency", "Latency quantiles of calls to the plugin's methods.", "ms");
  const uptime = gauge(
    "plugin.uptime",
    "Seconds since the plugin last reached Running; 0 if not running.",
    "s",
  );
  const cpu = gauge("plugin.cpu", "Percent of one core the plugin used over the last 10 s.", "%");
  const heap = gauge("plugin.heap_used", "The plugin's used heap, as last sampled.", "By");
  const throttled = gauge(
    "plugin.throttled",
    "1 while calls are refused for being over the CPU budget.",
    "1",
  );
  const state = gauge(
    "plugin.state",
    "1 for the state the plugin is in, 0 for every other state.",
    "1",
  );
  const hostPlugins = upDown("host.plugins", "Plugins known to the host, by state.", "{plugin}");
  const hostCalls = counter("host.calls", "Calls made to all plugins.");
  const hostErrors = counter("host.errors", "Calls to all plugins that failed.");
  const hostWorkers = upDown("host.workers", "Workers and processes alive now, across tiers.", "{worker}");
  const hostDiscovery = gauge(
    "host.discovery_failures",
    "Plugin folders that discovery could not use.",
    "{folder}",
  );

  const callback = (result: ObservationResult): void => {
    for (const p of host.getPlugins()) {
      const m = p.getMetrics();
      const a: ObservationAttributes = { "dotcompute.plugin.id": p.id };
      result.observe(calls, m.calls, a);
      result.observe(errors, m.errors, a);
      result.observe(restarts, m.restarts, a);
      result.observe(protocolErrors, m.protocolErrors, a);
      result.observe(logsDropped, m.logsDropped, a);
      result.observe(inFlight, m.inFlight, a);
      if (m.latencyMs.count > 0) {
        for (const [q, k] of QUANTILES) result.observe(latency, m.latencyMs[k], { ...a, quantile: q });
      }
      result.observe(uptime, m.uptimeMs / 1000, a);
      const r = m.resources;
      if (r) {
        result.observe(cpu, r.cpuPercent, a);
        if (r.heapUsedBytes !== undefined) result.observe(heap, r.heapUsedBytes, a);
        result.observe(throttled, r.throttled ? 1 : 0, a);
      }
      for (const s of STATES) {
        result.observe(state, p.state === s ? 1 : 0, { ...a, "dotcompute.plugin.state": s });
      }
    }
    const stats = host.getStatistics();
    for (const s of STATES) {
      result.observe(hostPlugins, stats.byState[s] ?? 0, { "dotcompute.plugin.state": s });
    }
    result.observe(hostCalls, stats.calls);
    result.observe(hostErrors, stats.errors);
    result.observe(hostWorkers, stats.workers);
    result.observe(hostDiscovery, stats.discoveryFailures);
  };
  const observables = Object.values(instruments);
  meter.addBatchObservableCallback(callback, observables);
  let disposed = false;
  const dispose = (): void => {
    if (disposed) return;
    disposed = true;
    meter.removeBatchObservableCallback(callback, observables);
  };
  return {
    meter,
    instruments,
    [Symbol.dispose]: dispose,
    [Symbol.asyncDispose]: (): Promise<void> => Promise.resolve(dispose()),
  };
}
