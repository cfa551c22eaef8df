// instrumentHost: a real host observed through a small in-test MeterProvider set as the OpenTelemetry global.
import assert from "node:assert/strict";
import {
  type Attributes,
  type BatchObservableCallback,
  type Counter,
  createNoopMeter,
  type Gauge,
  type Histogram,
  type Meter,
  type MeterProvider,
  type MetricOptions,
  metrics,
  type Observable,
  type ObservableCallback,
  type ObservableCounter,
  type ObservableGauge,
  type ObservableUpDownCounter,
  type UpDownCounter,
} from "@opentelemetry/api";
import { instrumentHost, PluginCrashedError } from "../mod.ts";
import { hostWith, type PluginSource } from "./_helpers.ts";

/** An observable instrument that remembers its name, options and callbacks. */
class CapturedObservable implements ObservableGauge, ObservableCounter, ObservableUpDownCounter {
  readonly callbacks = new Set<ObservableCallback>();
  constructor(
    readonly kind: "gauge" | "counter" | "upDownCounter",
    readonly name: string,
    readonly options: MetricOptions | undefined,
  ) {}
  addCallback(callback: ObservableCallback): void {
    this.callbacks.add(callback);
  }
  removeCallback(callback: ObservableCallback): void {
    this.callbacks.delete(callback);
  }
}

interface Observation {
  readonly value: number;
  readonly attributes: Attributes;
}

/** A Meter that captures observable instruments and their callbacks, and runs them on `collect()`. */
class CapturingMeter implements Meter {
  readonly #noop = createNoopMeter();
  readonly instruments = new Map<string, CapturedObservable>();
  readonly batches = new Map<BatchObservableCallback, readonly Observable[]>();

  createGauge(name: string, options?: MetricOptions): Gauge {
    return this.#noop.createGauge(name, options);
  }
  createHistogram(name: string, options?: MetricOptions): Histogram {
    return this.#noop.createHistogram(name, options);
  }
  createCounter(name: string, options?: MetricOptions): Counter {
    return this.#noop.createCounter(name, options);
  }
  createUpDownCounter(name: string, options?: MetricOptions): UpDownCounter {
    return this.#noop.createUpDownCounter(name, options);
  }
  #observable(kind: CapturedObservable["kind"], name: string, options?: MetricOptions): CapturedObservable {
    assert.ok(!this.instruments.has(name), `instrument ${name} created twice`);
    const o = new CapturedObservable(kind, name, options);
    this.instruments.set(name, o);
    return o;
  }
  createObservableGauge(name: string, options?: MetricOptions): ObservableGauge {
    return this.#observable("gauge", name, options);
  }
  createObservableCounter(name: string, options?: MetricOptions): ObservableCounter {
    return this.#observable("counter", name, options);
  }
  createObservableUpDownCounter(name: string, options?: MetricOptions): ObservableUpDownCounter {
    return this.#observable("upDownCounter", name, options);
  }
  addBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    this.batches.set(callback, observables);
  }
  removeBatchObservableCallback(callback: BatchObservableCallback, _observables: Observable[]): void {
    this.batches.delete(callback);
  }

  /** Runs every callback once, as an SDK's collection would; observations by instrument name. */
  async collect(): Promise<Map<string, Observation[]>> {
    const out = new Map<string, Observation[]>();
    const push = (o: Observable, value: number, attributes: Attributes = {}): void => {
      assert.ok(o instanceof CapturedObservable, "observed an instrument of another meter");
      assert.ok(Number.isFinite(value), `${o.name} observed ${value}`);
      out.set(o.name, [...(out.get(o.name) ?? []), { value, attributes }]);
    };
    for (const [callback, observables] of this.batches) {
      await callback({
        observe: (o, value, attributes) => {
          assert.ok(
            observables.includes(o),
            `${(o as CapturedObservable).name} was not registered in the batch`,
          );
          push(o, value, attributes);
        },
      });
    }
    for (const o of this.instruments.values()) {
      for (const cb of o.callbacks) await cb({ observe: (value, attributes) => push(o, value, attributes) });
    }
    return out;
  }
}

class CapturingMeterProvider implements MeterProvider {
  readonly meters = new Map<string, CapturingMeter>();
  getMeter(name: string): Meter {
    let m = this.meters.get(name);
    if (!m) this.meters.set(name, m = new CapturingMeter());
    return m;
  }
}

const echo: PluginSource = {
  manifest: { id: "echo" },
  code: `export default { methods: { add(a, b) { return a + b; }, fail() { throw new Error("no"); } } };`,
};
const crashy: PluginSource = {
  manifest: { id: "crashy" },
  code: `export default {
    methods: { async die() { setTimeout(() => Deno.exit(7), 10); await new Promise(() => {}); } },
  };`,
};

const find = (
  obs: Map<string, Observation[]>,
  name: string,
  attributes: Attributes,
): Observation => {
  const hits = (obs.get(name) ?? []).filter((o) =>
    Object.entries(attributes).every(([k, v]) => o.attributes[k] === v)
  );
  assert.equal(hits.length, 1, `${name} ${JSON.stringify(attributes)}: ${hits.length} observations`);
  return hits[0];
};

Deno.test("instrumentHost observes a real host through the global MeterProvider, and disposing stops it", async () => {
  const provider = new CapturingMeterProvider();
  assert.ok(metrics.setGlobalMeterProvider(provider), "the global MeterProvider was already set");
  try {
    await using t = await hostWith({ echo, crashy });
    await t.host.start();
    const e = t.host.getPlugin("echo")!;
    assert.equal(await e.call("add", 1, 2), 3);
    assert.equal(await e.call("add", 3, 4), 7);
    await assert.rejects(e.call("fail"));
    const crashed = new Promise((resolve) => t.host.on("crash", resolve));
    await assert.rejects(t.host.getPlugin("crashy")!.call("die"), PluginCrashedError);
    await crashed;

    const instrumentation = instrumentHost(t.host);
    const meter = provider.meters.get("@dotcompute/plugins");
    assert.ok(meter, "the meter comes from the global provider");
    assert.equal(instrumentation.meter, meter);
    assert.equal(meter.batches.size, 1);
    const kinds = Object.fromEntries([...meter.instruments.values()].map((o) => [o.name, o.kind]));
    assert.deepEqual(kinds, {
      "dotcompute.plugin.calls": "counter",
      "dotcompute.plugin.errors": "counter",
      "dotcompute.plugin.restarts": "counter",
      "dotcompute.plugin.logs_dropped": "counter",
      "dotcompute.plugin.protocol_errors": "counter",
      "dotcompute.plugin.in_flight": "upDownCounter",
      "dotcompute.plugin.call_latency": "gauge",
      "dotcompute.plugin.uptime": "gauge",
      "dotcompute.plugin.cpu": "gauge",
      "dotcompute.plugin.heap_used": "gauge",
      "dotcompute.plugin.throttled": "gauge",
      "dotcompute.plugin.state": "gauge",
      "dotcompute.host.plugins": "upDownCounter",
      "dotcompute.host.calls": "counter",
      "dotcompute.host.errors": "counter",
      "dotcompute.host.workers": "upDownCounter",
      "dotcompute.host.discovery_failures": "gauge",
    });
    for (const o of meter.instruments.values()) {
      assert.ok(o.options?.description, `${o.name} has a description`);
      assert.ok(o.options?.unit, `${o.name} has a unit`);
    }
    assert.equal(meter.instruments.get("dotcompute.plugin.call_latency")?.options?.unit, "ms");

    let obs = await meter.collect();
    const id = (pluginId: string): Attributes => ({ "dotcompute.plugin.id": pluginId });
    assert.equal(find(obs, "dotcompute.plugin.calls", id("echo")).value, 3);
    assert.equal(find(obs, "dotcompute.plugin.errors", id("echo")).value, 1);
    assert.equal(find(obs, "dotcompute.plugin.calls", id("crashy")).value, 1);
    assert.equal(find(obs, "dotcompute.plugin.errors", id("crashy")).value, 1);
    assert.equal(find(obs, "dotcompute.plugin.in_flight", id("echo")).value, 0);
    assert.equal(find(obs, "dotcompute.plugin.restarts", id("echo")).value, 0);
    assert.ok(find(obs, "dotcompute.plugin.uptime", id("echo")).value > 0);
    assert.equal(find(obs, "dotcompute.plugin.uptime", id("crashy")).value, 0);
    assert.ok(find(obs, "dotcompute.plugin.cpu", id("echo")).value >= 0);
    assert.equal(find(obs, "dotcompute.plugin.throttled", id("echo")).value, 0);
    const m = e.getMetrics();
    for (const [q, k] of [["0.5", "p50"], ["0.95", "p95"], ["0.99", "p99"]] as const) {
      const v = find(obs, "dotcompute.plugin.call_latency", { ...id("echo"), quantile: q }).value;
      assert.ok(v > 0, `p${q} = ${v}`);
      assert.equal(v, m.latencyMs[k]);
    }
    assert.equal(
      find(obs, "dotcompute.plugin.state", { ...id("echo"), "dotcompute.plugin.state": "Running" }).value,
      1,
    );
    assert.equal(
      find(obs, "dotcompute.plugin.state", { ...id("crashy"), "dotcompute.plugin.state": "Failed" }).value,
      1,
    );
    assert.equal(
      (obs.get("dotcompute.plugin.state") ?? []).filter((o) => o.value === 1).length,
      2,
      "one state per plugin",
    );
    assert.equal(find(obs, "dotcompute.host.plugins", { "dotcompute.plugin.state": "Running" }).value, 1);
    assert.equal(find(obs, "dotcompute.host.plugins", { "dotcompute.plugin.state": "Failed" }).value, 1);
    assert.equal(find(obs, "dotcompute.host.calls", {}).value, 4);
    assert.equal(find(obs, "dotcompute.host.errors", {}).value, 2);
    assert.equal(find(obs, "dotcompute.host.workers", {}).value, t.host.getStatistics().workers);
    assert.equal(find(obs, "dotcompute.host.discovery_failures", {}).value, 0);

    // A later call shows at the next collection.
    await e.call("add", 0, 0);
    obs = await meter.collect();
    assert.equal(find(obs, "dotcompute.plugin.calls", id("echo")).value, 4);

    // Disposing removes the callback: nothing is observed any more.
    instrumentation[Symbol.dispose]();
    assert.equal(meter.batches.size, 0);
    for (const o of meter.instruments.values()) assert.equal(o.callbacks.size, 0);
    assert.equal((await meter.collect()).size, 0);
    await instrumentation[Symbol.asyncDispose](); // a second dispose is harmless

    // `using`, with a meter passed in, and a prefix.
    const own = new CapturingMeter();
    {
      using _i = instrumentHost(t.host, { meter: own, prefix: "dc" });
      assert.equal(find(await own.collect(), "dc.plugin.calls", id("echo")).value, 4);
    }
    assert.equal(own.batches.size, 0);
  } finally {
    metrics.disable();
  }
});

Deno.test("instrumentHost under Deno's own exporter (OTEL_DENO=true): examples/otel.ts ships the host's metrics over OTLP", async () => {
  // A real OTLP/HTTP receiver on loopback: the first metrics request that names our instruments ends the wait.
  const { promise: shipped, resolve } = Promise.withResolvers<string>();
  const seen: string[] = [];
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = new TextDecoder("latin1").decode(await req.arrayBuffer());
    seen.push(new URL(req.url).pathname);
    if (new URL(req.url).pathname === "/v1/metrics" && body.includes("dotcompute.plugin.calls")) {
      resolve(body);
    }
    return new Response(null, { status: 200 });
  });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--unstable-worker-options", "--no-prompt", "-A", "examples/otel.ts"],
    cwd: new URL("..", import.meta.url),
    env: {
      OTEL_DENO: "true",
      OTEL_SERVICE_NAME: "plugin-host",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${server.addr.port}`,
      OTEL_METRIC_EXPORT_INTERVAL: "200",
      NO_COLOR: "1",
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  while (!stdout.includes("until Ctrl-C")) {
    const r = await reader.read();
    if (r.done) break;
    stdout += r.value;
  }
  const body = await Promise.race([shipped, child.status.then(() => undefined)]);
  child.kill("SIGTERM");
  const status = await child.status;
  assert.ok(
    body,
    `no metrics request named the host's instruments (requests: ${seen.join(", ")})\n${await stderr}`,
  );
  assert.equal(status.code, 0, await stderr);
  assert.match(stdout, /instruments registered for \d+ plugins/);
  for (let r = await reader.read(); !r.done; r = await reader.read());
  assert.ok(body.includes("dotcompute.plugin.id") && body.includes("hello.world"));
});
