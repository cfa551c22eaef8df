// GET /metrics of a real host, parsed back by a strict parser of the Prometheus text exposition format 0.0.4.
import assert from "node:assert/strict";
import { createAdminApp, PluginCrashedError } from "../mod.ts";
import { hostWith, type PluginSource } from "./_helpers.ts";

// ---------------------------------------------------------------------------------------------------------
// A strict parser of the text format, version 0.0.4. It throws on anything the format does not allow.

type MetricType = "counter" | "gauge" | "summary" | "histogram" | "untyped";
interface ParsedSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestamp?: number;
}
interface ParsedFamily {
  readonly name: string;
  type?: MetricType;
  help?: string;
  readonly samples: ParsedSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;
const INT = /^-?\d+$/;
const TYPES = new Set<MetricType>(["counter", "gauge", "summary", "histogram", "untyped"]);

function parseFloatStrict(text: string, where: string): number {
  if (!FLOAT.test(text)) throw new SyntaxError(`${where}: bad number ${JSON.stringify(text)}`);
  return text.endsWith("Inf") ? (text.startsWith("-") ? -Infinity : Infinity) : Number(text);
}

/** Unescapes HELP text: only `\\` and `\n` are escapes. */
function unescapeHelp(text: string, where: string): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    throw new SyntaxError(`${where}: bad escape \\${c} in HELP`);
  });
}

/** Parses `{a="x",b="y"}` starting at `line[i] === "{"`; returns the labels and the index after `}`. */
function parseLabels(
  line: string,
  i: number,
  where: string,
): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  i++; // {
  while (true) {
    if (line[i] === "}") return { labels, end: i + 1 };
    const nameMatch = /^[^=]*/.exec(line.slice(i));
    if (!nameMatch) throw new SyntaxError(`${where}: bad label name at ${i}`);
    const name = nameMatch[0];
    if (!LABEL_NAME.test(name)) throw new SyntaxError(`${where}: bad label name ${JSON.stringify(name)}`);
    if (name.startsWith("__")) throw new SyntaxError(`${where}: reserved label name ${name}`);
    if (Object.hasOwn(labels, name)) throw new SyntaxError(`${where}: duplicate label ${name}`);
    i += name.length;
    if (line[i] !== "=" || line[i + 1] !== '"') throw new SyntaxError(`${where}: expected =" after ${name}`);
    i += 2;
    let value = "";
    while (true) {
      const c = line[i];
      if (c === undefined) throw new SyntaxError(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === "\\") {
        const e = line[i + 1];
        if (e === "\\") value += "\\";
        else if (e === '"') value += '"';
        else if (e === "n") value += "\n";
        else throw new SyntaxError(`${where}: bad escape \\${e ?? ""} in label value`);
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    labels[name] = value;
    i++; // closing quote
    if (line[i] === ",") i++;
    else if (line[i] !== "}") throw new SyntaxError(`${where}: expected , or } after label ${name}`);
  }
}

/** The family a sample name belongs to, given the families declared so far. */
function familyOf(name: string, families: ReadonlyMap<string, ParsedFamily>): ParsedFamily | undefined {
  const exact = families.get(name);
  if (exact) return exact;
  for (const suffix of ["_sum", "_count", "_bucket"]) {
    if (!name.endsWith(suffix)) continue;
    const f = families.get(name.slice(0, -suffix.length));
    if (f && (f.type === "histogram" || (f.type === "summary" && suffix !== "_bucket"))) return f;
  }
  return undefined;
}

/** Parses exposition text strictly; families keep the order of their TYPE lines. */
function parseExposition(text: string): Map<string, ParsedFamily> {
  if (!text.endsWith("\n")) throw new SyntaxError("the text must end with a line feed");
  const families = new Map<string, ParsedFamily>();
  const series = new Set<string>();
  const closed = new Set<string>(); // families whose group ended: none of their lines may come again
  let current: string | undefined;
  const enter = (name: string, where: string): void => {
    if (current === name) return;
    if (closed.has(name)) throw new SyntaxError(`${where}: the lines of ${name} are not one group`);
    if (current !== undefined) closed.add(current);
    current = name;
  };
  const lines = text.slice(0, -1).split("\n");
  lines.forEach((line, n) => {
    const where = `line ${n + 1}`;
    if (line.trim() === "") return; // empty lines are ignored
    if (line.startsWith("#")) {
      const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
      if (!m) return; // a comment
      const [, kind, name, rest = ""] = m;
      if (!METRIC_NAME.test(name)) throw new SyntaxError(`${where}: bad metric name ${name}`);
      let f = families.get(name);
      if (!f) families.set(name, f = { name, samples: [] });
      enter(name, where);
      if (kind === "HELP") {
        if (f.help !== undefined) throw new SyntaxError(`${where}: second HELP for ${name}`);
        f.help = unescapeHelp(rest, where);
      } else {
        if (f.type !== undefined) throw new SyntaxError(`${where}: second TYPE for ${name}`);
        if (f.samples.length > 0) throw new SyntaxError(`${where}: TYPE for ${name} after its samples`);
        if (!TYPES.has(rest as MetricType)) throw new SyntaxError(`${where}: unknown TYPE ${rest}`);
        f.type = rest as MetricType;
      }
      return;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameMatch) throw new SyntaxError(`${where}: bad sample line ${JSON.stringify(line)}`);
    const name = nameMatch[0];
    let i = name.length;
    let labels: Record<string, string> = {};
    if (line[i] === "{") ({ labels, end: i } = parseLabels(line, i, where));
    const rest = line.slice(i);
    const m = /^[ \t]+(\S+)(?:[ \t]+(\S+))?[ \t]*$/.exec(rest);
    if (!m) throw new SyntaxError(`${where}: expected a value after ${name}, got ${JSON.stringify(rest)}`);
    const value = parseFloatStrict(m[1], where);
    if (m[2] !== undefined && !INT.test(m[2])) throw new SyntaxError(`${where}: bad timestamp ${m[2]}`);
    const f = familyOf(name, families);
    if (!f || f.type === undefined) {
      throw new SyntaxError(`${where}: sample ${name} before its family's TYPE`);
    }
    enter(f.name, where);
    if (f.type === "summary") {
      const isQuantile = name === f.name;
      if (isQuantile !== Object.hasOwn(labels, "quantile")) {
        throw new SyntaxError(`${where}: ${name}: quantile label only (and always) on the quantile samples`);
      }
      if (isQuantile) parseFloatStrict(labels.quantile, `${where} quantile`);
    }
    if (f.type === "counter" && !(value >= 0)) throw new SyntaxError(`${where}: counter ${name} is ${value}`);
    const key = `${name}{${
      Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    }}`;
    if (series.has(key)) throw new SyntaxError(`${where}: duplicate series ${key}`);
    series.add(key);
    f.samples.push({ name, labels, value, ...(m[2] === undefined ? {} : { timestamp: Number(m[2]) }) });
  });
  for (const f of families.values()) {
    if (f.type === undefined) throw new SyntaxError(`${f.name} has HELP but no TYPE`);
  }
  return families;
}

// ---------------------------------------------------------------------------------------------------------

Deno.test("the strict parser rejects malformed exposition text", () => {
  const ok = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1"} 2\n';
  assert.equal(parseExposition(ok).get("a_total")?.samples[0].value, 2);
  const bad: Record<string, string> = {
    "no final newline": ok.slice(0, -1),
    "duplicate TYPE": "# TYPE a gauge\n# TYPE a gauge\na 1\n",
    "duplicate HELP": "# HELP a x\n# HELP a y\n# TYPE a gauge\na 1\n",
    "sample before TYPE": "a 1\n# TYPE a gauge\n",
    "TYPE after samples": "# TYPE a gauge\na 1\n# TYPE a gauge\n",
    "unknown TYPE": "# TYPE a meter\na 1\n",
    "bad escape in label": '# TYPE a gauge\na{x="\\t"} 1\n',
    "bad escape in HELP": "# HELP a x\\ty\n# TYPE a gauge\na 1\n",
    "unterminated label": '# TYPE a gauge\na{x="1} 1\n',
    "bad number": "# TYPE a gauge\na 1.2.3\n",
    "Infinity spelled out": "# TYPE a gauge\na Infinity\n",
    "duplicate series": '# TYPE a gauge\na{x="1",y="2"} 1\na{y="2",x="1"} 2\n',
    "duplicate label": '# TYPE a gauge\na{x="1",x="2"} 1\n',
    "bad label name": '# TYPE a gauge\na{1x="1"} 1\n',
    "bad metric name": "# TYPE 1a gauge\n1a 1\n",
    "families interleaved": "# TYPE a gauge\n# TYPE b gauge\nb 1\na 1\n",
    "summary quantile missing": "# TYPE s summary\ns 1\n",
    "negative counter": "# TYPE c_total counter\nc_total -1\n",
    "bad timestamp": "# TYPE a gauge\na 1 1.5\n",
  };
  for (const [why, text] of Object.entries(bad)) {
    assert.throws(() => parseExposition(text), SyntaxError, why);
  }
  // Allowed: +Inf, NaN, a timestamp, a trailing comma, comments, a summary with quantiles, _sum and _count.
  const fams = parseExposition(
    '# a comment\n# TYPE s summary\ns{quantile="0.5",} NaN\ns_sum +Inf\ns_count 3 1700000000000\n',
  );
  assert.equal(fams.get("s")?.samples.length, 3);
});

const TRICKY_NAME = 'Echo "the\\great"\nplugin';
const TRICKY_ERROR = 'bad "input" at C:\\tmp\\x\nsecond line';

const echo: PluginSource = {
  manifest: { id: "echo", name: TRICKY_NAME, version: "1.0.0-rc.1+build.7" },
  code: `
    export default {
      methods: {
        add(a, b) { return a + b; },
        fail() { throw new TypeError(${JSON.stringify(TRICKY_ERROR)}); },
      },
    };`,
};
const custom: PluginSource = {
  manifest: { id: "custom.metrics" },
  code: `
    let metrics;
    export default {
      initialize(ctx) { metrics = ctx.metrics; },
      methods: {
        work() {
          metrics.counter("jobs.done:ok-1").add(3);
          metrics.histogram("batch_size").record(5);
          metrics.histogram("batch_size").record(7);
          return true;
        },
      },
    };`,
};
const crashy: PluginSource = {
  manifest: { id: "crashy" },
  code: `
    export default {
      methods: {
        async die() { setTimeout(() => Deno.exit(7), 10); await new Promise(() => {}); },
      },
    };`,
};
const idle: PluginSource = { manifest: { id: "idle" }, code: "export default {};" };

const one = (f: ParsedFamily | undefined, labels: Record<string, string>, name?: string): ParsedSample => {
  assert.ok(f, "family missing");
  const hits = f.samples.filter((s) =>
    (name === undefined || s.name === name) && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  assert.equal(hits.length, 1, `${f.name} ${JSON.stringify(labels)}: ${hits.length} samples`);
  return hits[0];
};

Deno.test("GET /metrics of a real host parses strictly and reflects calls, failures and custom metrics", async () => {
  await using t = await hostWith({ echo, custom, crashy, idle }, {}, { restartPolicy: false });
  await t.host.start();
  const host = t.host;
  const e = host.getPlugin("echo")!;
  assert.equal(await e.call("add", 1, 2), 3);
  assert.equal(await e.call("add", 2, 2), 4);
  await assert.rejects(e.call("fail"), TypeError);
  assert.equal(await host.getPlugin("custom.metrics")!.call("work"), true);
  const crashed = new Promise((resolve) => host.on("crash", resolve));
  await assert.rejects(host.getPlugin("crashy")!.call("die"), PluginCrashedError);
  await crashed;
  assert.equal(host.getPlugin("crashy")!.state, "Failed");
  // The plugin's own metrics reach the host within 250 ms of a change.
  const deadline = Date.now() + 3000;
  while (host.getPlugin("custom.metrics")!.getMetrics().custom.counters["jobs.done:ok-1"] !== 3) {
    assert.ok(Date.now() < deadline, "custom metrics never arrived");
    await new Promise((r) => setTimeout(r, 25));
  }

  const res = await createAdminApp(host).request("/metrics");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const text = await res.text();
  const fams = parseExposition(text);
  assert.ok(!text.includes("\n\n"), "no empty lines");

  // Every family has HELP and TYPE; counters end in _total; every family name is ours.
  for (const f of fams.values()) {
    assert.ok(f.help && f.help.length > 0, `${f.name} has no HELP`);
    assert.match(f.name, /^dotcompute_(plugin|host)_/);
    if (f.type === "counter") assert.match(f.name, /_total$/, `counter ${f.name}`);
    else assert.doesNotMatch(f.name, /_total$/, `${f.type} ${f.name}`);
  }
  const type = (name: string): MetricType | undefined => fams.get(name)?.type;
  assert.deepEqual(
    Object.fromEntries([...fams.values()].map((f) => [f.name, f.type])),
    {
      dotcompute_plugin_info: "gauge",
      dotcompute_plugin_state: "gauge",
      dotcompute_plugin_calls_total: "counter",
      dotcompute_plugin_errors_total: "counter",
      dotcompute_plugin_in_flight: "gauge",
      dotcompute_plugin_uptime_seconds: "gauge",
      dotcompute_plugin_restarts_total: "counter",
      dotcompute_plugin_replicas: "gauge",
      dotcompute_plugin_replica_in_flight: "gauge",
      dotcompute_plugin_replica_restarts_total: "counter",
      dotcompute_plugin_queue_length: "gauge",
      dotcompute_plugin_queued_total: "counter",
      dotcompute_plugin_queue_timeouts_total: "counter",
      dotcompute_plugin_queue_wait_seconds: "gauge",
      dotcompute_plugin_shutdowns_total: "counter",
      dotcompute_plugin_protocol_errors_total: "counter",
      dotcompute_plugin_logs_dropped_total: "counter",
      dotcompute_plugin_call_latency_seconds: "summary",
      dotcompute_plugin_cpu_percent: "gauge",
      dotcompute_plugin_cpu_limit_percent: "gauge",
      dotcompute_plugin_heap_used_bytes: "gauge",
      dotcompute_plugin_memory_limit_bytes: "gauge",
      dotcompute_plugin_throttled: "gauge",
      dotcompute_plugin_last_exit_info: "gauge",
      dotcompute_plugin_last_error_timestamp_seconds: "gauge",
      dotcompute_plugin_custom_total: "counter",
      dotcompute_plugin_custom_histogram: "summary",
      dotcompute_host_plugins: "gauge",
      dotcompute_host_discovery_failures: "gauge",
    },
  );
  assert.equal(type("dotcompute_plugin_calls_total"), "counter");

  // Label values with a quote, a backslash and a line feed come back exactly.
  const info = one(fams.get("dotcompute_plugin_info"), { plugin: "echo" });
  assert.deepEqual(info.labels, {
    plugin: "echo",
    name: TRICKY_NAME,
    version: "1.0.0-rc.1+build.7",
    isolation: "worker",
  });
  const lastError = one(fams.get("dotcompute_plugin_last_error_timestamp_seconds"), { plugin: "echo" });
  assert.equal(lastError.labels.error, "TypeError");
  assert.equal(lastError.labels.message, TRICKY_ERROR);
  assert.ok(Math.abs(lastError.value - Date.now() / 1000) < 60, `${lastError.value}`);

  // Calls and errors.
  const calls = fams.get("dotcompute_plugin_calls_total");
  const errors = fams.get("dotcompute_plugin_errors_total");
  assert.equal(one(calls, { plugin: "echo" }).value, 3);
  assert.equal(one(errors, { plugin: "echo" }).value, 1);
  assert.equal(one(calls, { plugin: "custom.metrics" }).value, 1);
  assert.equal(one(calls, { plugin: "crashy" }).value, 1);
  assert.equal(one(errors, { plugin: "crashy" }).value, 1);
  assert.equal(one(calls, { plugin: "idle" }).value, 0);
  assert.equal(calls?.samples.length, 4);

  // Latency: quantiles and _count; NaN quantiles for a plugin never called.
  const latency = fams.get("dotcompute_plugin_call_latency_seconds");
  assert.equal(one(latency, { plugin: "echo" }, "dotcompute_plugin_call_latency_seconds_count").value, 3);
  for (const q of ["0.5", "0.95", "0.99"]) {
    const v = one(latency, { plugin: "echo", quantile: q }).value;
    assert.ok(v > 0 && v < 10, `echo q${q} = ${v}`);
    assert.ok(Number.isNaN(one(latency, { plugin: "idle", quantile: q }).value));
  }

  // The failed plugin: state, last exit, host-wide counts.
  const state = fams.get("dotcompute_plugin_state");
  assert.equal(one(state, { plugin: "crashy", state: "Failed" }).value, 1);
  assert.equal(one(state, { plugin: "crashy", state: "Running" }).value, 0);
  assert.equal(one(state, { plugin: "echo", state: "Running" }).value, 1);
  assert.equal(state?.samples.filter((s) => s.labels.plugin === "crashy" && s.value === 1).length, 1);
  const exitKind = host.getPlugin("crashy")!.getMetrics().resources?.lastExitKind;
  assert.ok(exitKind, "the crashed plugin has a last exit kind");
  assert.deepEqual(fams.get("dotcompute_plugin_last_exit_info")?.samples, [
    { name: "dotcompute_plugin_last_exit_info", labels: { plugin: "crashy", kind: exitKind }, value: 1 },
  ]);
  const byState = fams.get("dotcompute_host_plugins");
  assert.equal(one(byState, { state: "Running" }).value, 3);
  assert.equal(one(byState, { state: "Failed" }).value, 1);
  assert.equal(one(fams.get("dotcompute_host_discovery_failures"), {}).value, 0);

  // Resources: one sample per plugin for CPU and throttled; heap only once sampled.
  for (const id of ["echo", "custom.metrics", "crashy", "idle"]) {
    assert.ok(one(fams.get("dotcompute_plugin_cpu_percent"), { plugin: id }).value >= 0);
    assert.equal(one(fams.get("dotcompute_plugin_throttled"), { plugin: id }).value, 0);
  }
  for (const s of fams.get("dotcompute_plugin_heap_used_bytes")!.samples) assert.ok(s.value > 0);
  assert.equal(fams.get("dotcompute_plugin_cpu_limit_percent")?.samples.length, 0);

  // The plugin's own counter and histogram, by the name it chose.
  const customTotal = fams.get("dotcompute_plugin_custom_total");
  assert.deepEqual(customTotal?.samples, [
    {
      name: "dotcompute_plugin_custom_total",
      labels: { plugin: "custom.metrics", metric: "jobs.done:ok-1" },
      value: 3,
    },
  ]);
  const hist = fams.get("dotcompute_plugin_custom_histogram");
  const hl = { plugin: "custom.metrics", metric: "batch_size" };
  assert.equal(one(hist, hl, "dotcompute_plugin_custom_histogram_sum").value, 12);
  assert.equal(one(hist, hl, "dotcompute_plugin_custom_histogram_count").value, 2);
});
