// The admin API: every route through app.request(), errors, the token, events; and once over a real socket.
import assert from "node:assert/strict";
import {
  CallTimeoutError,
  ConfigError,
  createAdminApp,
  ManifestError,
  type PluginHandle,
  type PluginHost,
  PluginHostError,
} from "../mod.ts";
import { escapeLabelValue, renderPrometheus } from "../src/admin/_prometheus.ts";
import { isLoopback } from "../src/admin/server.ts";
import { hostWith, type PluginSource } from "./_helpers.ts";

const echo: PluginSource = {
  manifest: { id: "echo", name: 'Echo "the\\great"\nplugin', capabilities: ["ComputeBackend"] },
  code: `
    export default {
      health() { return { status: "degraded", details: { queue: 3 } }; },
      methods: {
        ping() { return "pong"; },
        add(a, b) { return a + b; },
        bytes() { return new Uint8Array([1, 2, 3]); },
        fail() { const e = new RangeError("out of range"); e.code = "E_RANGE"; throw e; },
        async die() { setTimeout(() => Deno.exit(3), 10); await new Promise(() => {}); },
      },
    };`,
};

type Json = Record<string, unknown>;
const post = (body?: string): RequestInit => ({ method: "POST", ...(body === undefined ? {} : { body }) });

/** Reads an event stream until `pred` holds for an event; returns that event. */
async function readEvent(
  reader: ReadableStreamDefaultReader<string>,
  pred: (event: string, data: Json) => boolean,
): Promise<{ event: string; data: Json }> {
  let buffer = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended; got: ${buffer}`);
    buffer += value;
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event !== undefined && data !== undefined && pred(event, JSON.parse(data))) {
        return { event, data: JSON.parse(data) };
      }
    }
  }
}

/** A host whose `on` counts live listeners; resolves `idle` once every listener is removed again. */
function countingHost(host: PluginHost): { host: PluginHost; active: () => number; idle: Promise<void> } {
  let active = 0;
  const idle = Promise.withResolvers<void>();
  const stub = {
    config: host.config,
    on: (type: "state", listener: (e: unknown) => void) => {
      active++;
      const off = host.on(type, listener);
      return () => {
        off();
        if (--active === 0) idle.resolve();
      };
    },
  };
  return { host: stub as unknown as PluginHost, active: () => active, idle: idle.promise };
}

Deno.test("the read routes answer the contract's shapes", async () => {
  await using t = await hostWith({ echo });
  const app = createAdminApp(t.host, { token: null });
  assert.deepEqual(await (await app.request("/health")).json(), { status: "healthy" });
  await t.host.start();

  let res = await app.request("/plugins");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), [{
    id: "echo",
    name: 'Echo "the\\great"\nplugin',
    version: "1.0.0",
    state: "Running",
    health: "healthy",
    capabilities: ["ComputeBackend"],
    isolation: "worker",
  }]);

  res = await app.request("/plugins/echo/call/add", post("[2, 3]"));
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { result: 5 });
  assert.deepEqual(await (await app.request("/plugins/echo/call/bytes", post("[]"))).json(), {
    result: [1, 2, 3],
  });
  assert.deepEqual(await (await app.request("/plugins/echo/call/ping", post())).json(), { result: "pong" });

  const detail = await (await app.request("/plugins/echo")).json();
  assert.equal(detail.health, "degraded", "the detail asks the plugin itself");
  assert.deepEqual(detail.healthDetails, { queue: 3 });
  assert.equal(detail.state, "Running");
  assert.deepEqual(detail.dependencies, {});
  assert.equal(detail.permissions.run, false);
  assert.deepEqual(detail.permissions.net, []);
  assert.equal(detail.restarts, 0);
  assert.equal(detail.lastError, null);
  assert.equal(detail.metrics.calls, 3);
  assert.deepEqual(detail.methods.toSorted(), ["add", "bytes", "die", "fail", "ping"]);

  const metrics = await (await app.request("/plugins/echo/metrics")).json();
  assert.equal(metrics.id, "echo");
  assert.equal(metrics.calls, 3);
  assert.equal(metrics.errors, 0);
  assert.equal(metrics.latencyMs.count, 3);
  assert.ok(metrics.latencyMs.p99 >= metrics.latencyMs.p50);
  assert.ok(metrics.uptimeMs >= 0);
  assert.equal(metrics.memory, null);

  res = await app.request("/metrics");
  assert.equal(res.headers.get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const text = await res.text();
  for (
    const line of [
      "# TYPE dotcompute_plugin_calls_total counter",
      'dotcompute_plugin_calls_total{plugin="echo"} 3',
      'dotcompute_plugin_errors_total{plugin="echo"} 0',
      "# TYPE dotcompute_plugin_in_flight gauge",
      'dotcompute_plugin_in_flight{plugin="echo"} 0',
      'dotcompute_plugin_restarts_total{plugin="echo"} 0',
      'dotcompute_plugin_state{plugin="echo",state="Running"} 1',
      'dotcompute_plugin_state{plugin="echo",state="Failed"} 0',
      "# TYPE dotcompute_plugin_call_latency_seconds summary",
      'dotcompute_plugin_call_latency_seconds_count{plugin="echo"} 3',
      'dotcompute_plugin_info{plugin="echo",name="Echo \\"the\\\\great\\"\\nplugin",version="1.0.0",isolation="worker"} 1',
    ]
  ) assert.ok(text.split("\n").includes(line), `missing ${line} in\n${text}`);
  assert.match(text, /^dotcompute_plugin_call_latency_seconds\{plugin="echo",quantile="0\.99"\} [\d.e-]+$/m);
  assert.match(text, /^dotcompute_plugin_uptime_seconds\{plugin="echo"\} [\d.e-]+$/m);
  assert.match(text, /^# HELP dotcompute_plugin_calls_total .+$/m);

  res = await app.request("/no/such/route");
  assert.equal(res.status, 404);
  assert.deepEqual(await res.json(), { error: { name: "NotFound", message: "No such route" } });
});

Deno.test("operations and calls answer with the mapped status and an error body", async () => {
  await using t = await hostWith({ echo });
  await t.host.start();
  const app = createAdminApp(t.host, { token: null });
  const error = async (path: string, init: RequestInit, status: number): Promise<Json> => {
    const res = await app.request(path, init);
    assert.equal(res.status, status, `${path}: ${res.status}`);
    return (await res.json()).error;
  };

  assert.deepEqual(await error("/plugins/echo/call/fail", post("[]"), 500), {
    name: "RangeError",
    message: "out of range",
    code: "E_RANGE",
  });
  assert.equal((await error("/plugins/echo/call/nope", post("[]"), 404)).code, "METHOD_NOT_FOUND");
  assert.deepEqual(await error("/plugins/nope", {}, 404), {
    name: "PluginHostError",
    message: 'No plugin "nope"',
    code: "PLUGIN_NOT_FOUND",
  });
  assert.equal((await error("/plugins/nope/call/x", post("[]"), 404)).code, "PLUGIN_NOT_FOUND");
  assert.equal((await error("/plugins/nope/start", post(), 404)).code, "PLUGIN_NOT_FOUND");
  const badJson = await error("/plugins/echo/call/add", post("[1, "), 400);
  assert.equal(badJson.name, "BadRequest");
  assert.match(String(badJson.message), /^The request body is not valid JSON: /);
  assert.match(String((await error("/plugins/echo/call/add", post('{"a": 1}'), 400)).message), /JSON array/);

  let res = await app.request("/plugins/echo/stop", post());
  assert.deepEqual(await res.json(), { id: "echo", state: "Unloaded" });
  res = await app.request("/health");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: "degraded" });
  assert.equal((await error("/plugins/echo/call/ping", post(), 409)).code, "PLUGIN_NOT_RUNNING");
  assert.deepEqual(await (await app.request("/plugins/echo/start", post())).json(), {
    id: "echo",
    state: "Running",
  });
  assert.deepEqual(await (await app.request("/plugins/echo/reload", post())).json(), {
    id: "echo",
    state: "Running",
  });

  assert.equal((await error("/plugins/echo/call/die", post(), 502)).code, "PLUGIN_CRASHED");
  res = await app.request("/health");
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), { status: "unhealthy" });
  const detail = await (await app.request("/plugins/echo")).json();
  assert.equal(detail.state, "Failed");
  assert.equal(detail.health, "unhealthy");
  assert.match(detail.lastError.message, /crashed|exit/i);
});

Deno.test("every error code maps to its status in one place", async () => {
  const cases: [Error, number][] = [
    [new CallTimeoutError("stub", "m", 10), 504],
    [new PluginHostError("PERMISSION_DENIED", "no"), 403],
    [new ConfigError([{ file: "host.jsonc", line: 1, column: 1, message: "bad" }]), 400],
    [new ManifestError("stub", [{ file: "plugin.jsonc", message: "bad" }]), 400],
    [new PluginHostError("PLUGIN_NOT_RUNNING", "no"), 409],
    [new PluginHostError("PLUGIN_CRASHED", "no"), 502],
    [new PluginHostError("START_FAILED", "no"), 500],
    [Object.assign(new Error("custom"), { name: "QuotaError" }), 500],
  ];
  for (const [thrown, status] of cases) {
    const handle = { id: "stub", request: () => Promise.reject(thrown) } as unknown as PluginHandle;
    const host = { config: { admin: { token: null } }, getPlugin: () => handle } as unknown as PluginHost;
    const res = await createAdminApp(host).request("/plugins/stub/call/m", post("[]"));
    assert.equal(res.status, status, thrown.message);
    const { error } = await res.json();
    assert.equal(error.name, thrown.name);
    assert.equal(error.message, thrown.message);
    assert.equal(error.code, (thrown as { code?: string }).code);
  }
});

Deno.test("a token guards every route but /health, compared in full", async () => {
  await using t = await hostWith({ echo }, { Plugins: { Admin: { Token: "s3cret-token-0123" } } });
  for (const app of [createAdminApp(t.host), createAdminApp(t.host, { token: "s3cret-token-0123" })]) {
    assert.equal((await app.request("/health")).status, 200);
    for (
      const auth of [
        undefined,
        "Bearer wrong",
        "Bearer s3cre",
        "Bearer s3cret-token-01232",
        "Basic s3cret-token-0123",
        "s3cret-token-0123",
      ]
    ) {
      const res = await app.request(
        "/plugins",
        auth === undefined ? {} : { headers: { Authorization: auth } },
      );
      assert.equal(res.status, 401, String(auth));
      assert.equal(res.headers.get("WWW-Authenticate"), 'Bearer realm="dotcompute"');
      assert.equal((await res.json()).error.name, "Unauthorized");
    }
    const ok = await app.request("/plugins", { headers: { Authorization: "bearer s3cret-token-0123" } });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const events = await app.request("/events");
    assert.equal(events.status, 401);
    await events.body?.cancel();
  }
  const open = await createAdminApp(t.host, { token: null }).request("/plugins");
  assert.equal(open.status, 200);
  await open.body?.cancel();
});

Deno.test("/events streams host events and lets go of its listeners when the client leaves", async () => {
  await using t = await hostWith({ echo });
  await t.host.start();
  const counting = countingHost(t.host);
  const res = await createAdminApp(counting.host, { token: null }).request("/events");
  assert.equal(res.headers.get("Content-Type"), "text/event-stream");
  assert.equal(
    counting.active(),
    13,
    "state, crash, shutdown, protocolError, discoveryFailure, config, reload, approval, dependency, heal, " +
      "fleet, bundle; " +
      "state for health",
  );
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  await t.host.stopPlugin("echo");
  const { data } = await readEvent(reader, (event, d) => event === "state" && d.to === "Unloaded");
  assert.equal(data.id, "echo");
  await reader.cancel();
  await counting.idle;

  // The app's signal (aborted by the server on shutdown) ends every open stream.
  const closing = new AbortController();
  const again = countingHost(t.host);
  const res2 = await createAdminApp(again.host, { token: null, signal: closing.signal }).request("/events");
  const reader2 = res2.body!.pipeThrough(new TextDecoderStream()).getReader();
  assert.equal((await reader2.read()).value, ": connected\n\n");
  closing.abort();
  assert.equal((await reader2.read()).done, true);
  await again.idle;
});

Deno.test("serveAdmin answers over a real socket on 127.0.0.1 and stops with the host", async () => {
  await using t = await hostWith({ echo });
  await t.host.start();
  let listened: { hostname: string; port: number } | undefined;
  const server = await t.host.serveAdmin({ hostname: "127.0.0.1", port: 0, onListen: (a) => listened = a });
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.deepEqual(listened, server.addr);
  assert.notEqual(server.addr.port, 0);

  const plugins = await (await fetch(`${server.url}/plugins`)).json();
  assert.deepEqual(plugins.map((p: Json) => [p.id, p.state]), [["echo", "Running"]]);
  const events = await fetch(`${server.url}/events`);
  assert.equal(events.status, 200);
  const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
  const stopped = await fetch(`${server.url}/plugins/echo/stop`, { method: "POST" });
  assert.deepEqual(await stopped.json(), { id: "echo", state: "Unloaded" });
  const { data } = await readEvent(reader, (e, d) => e === "state" && d.to === "Stopping");
  assert.deepEqual([data.id, data.from], ["echo", "Running"]);
  await reader.cancel();

  await t.host.stop();
  await server.finished;
  await assert.rejects(fetch(`${server.url}/health`), TypeError);
});

Deno.test("serveAdmin refuses to listen beyond loopback without a token", async () => {
  await using t = await hostWith({});
  for (const hostname of ["0.0.0.0", "::", "192.168.1.10", "example.com"]) {
    await assert.rejects(
      t.host.serveAdmin({ hostname, port: 0 }),
      (e) => e instanceof PluginHostError && e.code === "CONFIG_INVALID" && /without a token/.test(e.message),
    );
  }
  for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"]) assert.ok(isLoopback(h), h);
  for (const h of ["0.0.0.0", "128.0.0.1", "127.0.0.256", "::", "localhost.example.com"]) {
    assert.ok(!isLoopback(h), h);
  }
});

Deno.test("the Prometheus text escapes label values and shows a plugin's own metrics", () => {
  assert.equal(escapeLabelValue('a "b"\nc\\d'), 'a \\"b\\"\\nc\\\\d');
  const metrics = {
    calls: 0,
    errors: 0,
    inFlight: 0,
    latencyMs: { count: 0, p50: 0, p95: 0, p99: 0, max: 0 },
    restarts: 1,
    uptimeMs: 1500,
    protocolErrors: 0,
    custom: { counters: { jobs: 7 }, histograms: { size: { count: 2, sum: 30, min: 10, max: 20 } } },
  };
  const handle = {
    id: "p",
    name: "P",
    version: "1.0.0",
    isolation: "worker",
    state: "Running",
    getMetrics: () => metrics,
  };
  const host = { getPlugins: () => [handle], getDiscoveryFailures: () => [{}] } as unknown as PluginHost;
  const lines = renderPrometheus(host).split("\n");
  for (
    const line of [
      'dotcompute_plugin_custom_total{plugin="p",metric="jobs"} 7',
      'dotcompute_plugin_custom_histogram_sum{plugin="p",metric="size"} 30',
      'dotcompute_plugin_custom_histogram_count{plugin="p",metric="size"} 2',
      'dotcompute_plugin_uptime_seconds{plugin="p"} 1.5',
      'dotcompute_plugin_restarts_total{plugin="p"} 1',
      "dotcompute_host_discovery_failures 1",
    ]
  ) assert.ok(lines.includes(line), line);
});

/** Sends one raw HTTP/1.1 request with the given Host header (fetch would set its own) and returns the status. */
async function statusWithHost(
  addr: { hostname: string; port: number },
  path: string,
  host: string,
): Promise<number> {
  const conn = await Deno.connect({ hostname: addr.hostname, port: addr.port });
  try {
    await conn.write(
      new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    );
    const text = await new Response(conn.readable).text();
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  } catch (e) {
    conn.close();
    throw e;
  }
}

Deno.test("without a token, only loopback Host names are answered (DNS rebinding), over a real socket too", async () => {
  await using t = await hostWith({ echo });
  await t.host.start();
  const app = createAdminApp(t.host, { token: null, allowedHosts: ["admin.internal"] });
  for (const host of ["localhost:8080", "127.0.0.1:8080", "[::1]:8080", "127.9.9.9", "admin.internal:80"]) {
    assert.equal((await app.request("/plugins", { headers: { Host: host } })).status, 200, host);
  }
  for (const host of ["evil.example:8080", "localhost.evil.example", "127.0.0.1.nip.io", "", "a b"]) {
    const res = await app.request("/plugins", { headers: { Host: host } });
    assert.equal(res.status, 403, host);
    assert.match((await res.json()).error.message, /not a loopback name/);
  }
  // With a token the token is the guard, whatever the name.
  const guarded = createAdminApp(t.host, { token: "s3cret-token-0123" });
  const res = await guarded.request("/plugins", {
    headers: { Host: "evil.example", Authorization: "Bearer s3cret-token-0123" },
  });
  assert.equal(res.status, 200);

  const server = await t.host.serveAdmin({ hostname: "127.0.0.1", port: 0 });
  assert.equal(await statusWithHost(server.addr, "/plugins", `localhost:${server.addr.port}`), 200);
  assert.equal(await statusWithHost(server.addr, "/plugins", `rebound.example:${server.addr.port}`), 403);
  assert.equal(await statusWithHost(server.addr, "/health", "rebound.example"), 403);
});
