/**
 * The admin API (CONTRACT §5) as a Hono app: plugin state, metrics, lifecycle operations, calls and a
 * server-sent event stream of the host's events. Serve it with `host.serveAdmin()`, or mount it anywhere.
 *
 * @module
 */

import { getLogger } from "../_npm/logtape.ts";
import { Hono } from "../_npm/hono.ts";
import { HTTPException } from "../_npm/hono.ts";
import { hostnameOf, isLoopback } from "./_loopback.ts";
import { bodyLimit } from "../_npm/hono.ts";
import { type SSEMessage, type SSEStreamingApi, streamSSE } from "../_npm/hono.ts";
import { timingSafeEqual } from "../_npm/hono.ts";
import type { ContentfulStatusCode } from "../_npm/hono.ts";
import { PluginHostError, type PluginHostErrorCode } from "../errors.ts";
import type { HostEventMap } from "../events/events.ts";
import type { PluginHost } from "../host/types.ts";
import type { PluginHandle } from "../plugin/types.ts";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "./_prometheus.ts";
import { describePlugin, hostHealth, notReady, summarize, toJson } from "./views.ts";
import { HealthWatch } from "./health_events.ts";
import { mountOperatorRoutes } from "./_operator_routes.ts";

/**
 * The admin app: a fetch handler (give it to `Deno.serve`) and `request()` for in-process use. It is a Hono app;
 * this type keeps Hono's own types out of the package's public surface.
 */
export interface AdminApp {
  /** Answers one HTTP request. */
  fetch(request: Request): Response | Promise<Response>;
  /** Answers a request given as a path or URL, without a socket (for tests and embedding). */
  request(input: string | Request | URL, init?: RequestInit): Response | Promise<Response>;
}

/** Options of {@linkcode createAdminApp}. */
export interface AdminAppOptions {
  /**
   * The bearer token every route but `/health` requires. `undefined` (default): the host's
   * `Plugins.Admin.Token`; `null` or `""`: no token.
   */
  readonly token?: string | null;
  /** When aborted, every open `/events` stream ends (the server aborts it on shutdown). Default: none. */
  readonly signal?: AbortSignal;
  /** Interval of the keep-alive comments on `/events`, in ms; default 15000. */
  readonly heartbeatMs?: number;
  /** The largest request body a call accepts, in bytes; default 64 MiB. A larger one answers 413. */
  readonly maxBodyBytes?: number;
  /**
   * Names besides the loopback ones (`localhost`, `127.0.0.0/8`, `::1`) that a request's `Host` may carry when
   * there is no token. Default: none. Without a token every other `Host` answers 403, so a web page whose name
   * was re-pointed at 127.0.0.1 (DNS rebinding) cannot drive the API from a browser. With a token: not checked.
   */
  readonly allowedHosts?: readonly string[];
}

/** How each error code answers; a code not here answers 500. */
const STATUS: Readonly<Partial<Record<PluginHostErrorCode, ContentfulStatusCode>>> = {
  PLUGIN_NOT_FOUND: 404,
  METHOD_NOT_FOUND: 404,
  PLUGIN_NOT_RUNNING: 409,
  ILLEGAL_TRANSITION: 409,
  DUPLICATE_ID: 409,
  PERMISSION_DENIED: 403,
  CONFIG_INVALID: 400,
  MANIFEST_INVALID: 400,
  CALL_TIMEOUT: 504,
  PLUGIN_CRASHED: 502,
  PROTOCOL_ERROR: 502,
  CALL_ABORTED: 503,
  HOST_STOPPED: 503,
  SIGNATURE_INVALID: 403,
  PIN_MISMATCH: 403,
  APPROVAL_REQUIRED: 409,
  APPROVAL_NOT_FOUND: 404,
  DEPENDENCY_FAILED: 409,
  INVALID_RANGE: 400,
  REPLICA_LOST: 502,
  HOST_LOST: 502,
  QUEUE_TIMEOUT: 503,
};

/** Every host event, forwarded on `/events` under its own name. A Record, so a new event fails type checking. */
const EVENTS: Readonly<Record<keyof HostEventMap, true>> = {
  state: true,
  crash: true,
  shutdown: true,
  protocolError: true,
  discoveryFailure: true,
  config: true,
  reload: true,
  heal: true,
  approval: true,
  dependency: true,
  fleet: true,
  bundle: true,
};

/** Events queued for one slow `/events` client before its stream is closed. */
const MAX_QUEUED = 1000;

const log = getLogger(["dotcompute", "admin"]);

const HTTP_NAMES: Readonly<Record<number, string>> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  413: "PayloadTooLarge",
};

/**
 * Creates the admin API over `host`. Errors of every route are mapped to statuses in one place:
 * `PLUGIN_NOT_FOUND` and `METHOD_NOT_FOUND` 404, `PLUGIN_NOT_RUNNING` 409, `PERMISSION_DENIED` 403,
 * `CONFIG_INVALID` / `MANIFEST_INVALID` and a bad request body 400, `CALL_TIMEOUT` 504, `PLUGIN_CRASHED` 502,
 * and anything else (an error a plugin method threw, say) 500; the body is always
 * `{ error: { name, message, code? } }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAdminApp, createPluginHost } from "@dotcompute/plugins";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/hello`);
 * await Deno.writeTextFile(
 *   `${dir}/hello/plugin.jsonc`,
 *   '{ "id": "hello.world", "name": "hello", "version": "1.0.0" }',
 * );
 * await Deno.writeTextFile(
 *   `${dir}/hello/mod.ts`,
 *   'export default { methods: { greet: (n) => "hello " + n } };',
 * );
 * const host = await createPluginHost({ Plugins: { PluginsDirectory: dir } });
 * await host.start();
 * const app = createAdminApp(host, { token: null });
 * const res = await app.request("/plugins");
 * assert.deepEqual((await res.json()).map((p: { id: string; state: string }) => [p.id, p.state]), [
 *   ["hello.world", "Running"],
 * ]);
 * const missing = await app.request("/plugins/no.such.plugin");
 * assert.equal(missing.status, 404);
 * await host.stop();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function createAdminApp(host: PluginHost, options: AdminAppOptions = {}): AdminApp {
  const token = (options.token === undefined ? host.config.admin.token : options.token) || null;
  const plugin = (id: string): PluginHandle => {
    const p = host.getPlugin(id);
    if (!p) throw new PluginHostError("PLUGIN_NOT_FOUND", `No plugin "${id}"`, { pluginId: id });
    return p;
  };
  const app = new Hono();
  /** Whether the request carries the token (always true when there is none). */
  const authorized = async (header: string | undefined): Promise<boolean> => {
    if (token === null) return true;
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
    return match !== null && await timingSafeEqual(match[1], token);
  };

  const allowedHosts = new Set((options.allowedHosts ?? []).map((h) => hostnameOf(h)));
  app.use(async (c, next) => {
    if (token === null) {
      const hostHeader = c.req.header("Host") ?? new URL(c.req.url).host;
      const name = hostnameOf(hostHeader);
      if (!isLoopback(name) && !allowedHosts.has(name)) {
        throw new HTTPException(403, {
          message: `Host "${hostHeader}" is not a loopback name: without Plugins.Admin.Token the admin API ` +
            `answers only loopback names (a guard against DNS rebinding); set a token or list the name in allowedHosts`,
        });
      }
    }
    // The dashboard page (GET /) holds no data; it asks for the token and sends it itself.
    // Probes (/health, /ready) need no token: a kubelet or a load balancer asks them with no header.
    const probe = c.req.path === "/health" || c.req.path === "/ready";
    if (token === null || probe || (c.req.path === "/" && c.req.method === "GET")) {
      return await next();
    }
    if (!(await authorized(c.req.header("Authorization")))) {
      throw new HTTPException(401, { message: "This route needs the header 'Authorization: Bearer TOKEN'" });
    }
    await next();
  });

  mountOperatorRoutes(app, host);
  const health = new HealthWatch(host);

  app.get("/health", (c) => {
    const status = hostHealth(host);
    return c.json({ status }, status === "unhealthy" ? 503 : 200);
  });
  app.get("/ready", async (c) => {
    const waiting = notReady(host);
    if (waiting === null) return c.json({ ready: true });
    // The ids of the plugins still starting only to a caller with the token; a probe gets their count.
    const named = await authorized(c.req.header("Authorization"));
    const starting = named ? waiting.starting : waiting.starting.length;
    return c.json({ ready: false, started: waiting.started, starting }, 503);
  });
  app.get("/plugins", (c) => c.json(host.getPlugins().map(summarize)));
  app.get("/plugins/:id", async (c) => c.json(await describePlugin(plugin(c.req.param("id")))));
  app.get("/plugins/:id/metrics", (c) => {
    const p = plugin(c.req.param("id"));
    // Per-plugin memory is not measurable for a worker sharing the host's process: null until a tier reports it.
    return c.json({ id: p.id, state: p.state, memory: null, ...p.getMetrics() });
  });
  app.get(
    "/metrics",
    (c) => c.body(renderPrometheus(host), 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE }),
  );

  const operations = {
    start: (id: string) => host.startPlugin(id),
    stop: (id: string) => host.stopPlugin(id),
    reload: (id: string) => host.reload(id),
  } as const;
  for (const [name, run] of Object.entries(operations)) {
    app.post(`/plugins/:id/${name}`, async (c) => {
      const p = await run(plugin(c.req.param("id")).id);
      return c.json({ id: p.id, state: p.state });
    });
  }

  app.get("/approvals", (c) => c.json(host.getPendingApprovals()));
  app.post("/plugins/:id/approve", async (c) => {
    const p = await host.approve(plugin(c.req.param("id")).id);
    return c.json({ id: p.id, state: p.state, version: p.version });
  });
  app.post("/plugins/:id/reject", (c) => c.json(host.reject(plugin(c.req.param("id")).id)));

  const limit = bodyLimit({
    maxSize: options.maxBodyBytes ?? 64 * 1024 * 1024,
    onError: () => {
      throw new HTTPException(413, { message: "The request body is too large" });
    },
  });
  app.post("/plugins/:id/call/:method", limit, async (c) => {
    const id = c.req.param("id");
    // A plugin of this host, else the same id offered by another host of the fleet.
    const remote = host.getPlugin(id) ? undefined : host.getService(id);
    const p = remote?.id === id ? remote : plugin(id);
    const args = parseArguments(await c.req.text());
    // Bounded by the call timeout. Not by request.signal: Deno.serve also aborts it after every response.
    const result = await p.request(c.req.param("method"), args);
    return c.body(toJson({ result }), 200, { "Content-Type": "application/json" });
  });

  // The fleet (Plugins.Cluster) as host.cluster.hosts() sees it; null ids when the host is in none.
  app.get("/cluster", async (c) => {
    const cluster = host.cluster;
    if (!cluster) return c.json({ hostId: null, name: null, hosts: [] });
    return c.json({ hostId: cluster.hostId, name: cluster.name, hosts: await cluster.hosts() });
  });

  app.get("/events", (c) => streamSSE(c, (stream) => forwardEvents(host, stream, options, health)));

  app.notFound(() => {
    throw new HTTPException(404, { message: "No such route" });
  });
  app.onError((error, c) => {
    const { status, body } = describeError(error);
    if (status >= 500) {
      log.warn("{method} {path}: {message}", {
        method: c.req.method,
        path: c.req.path,
        message: error.message,
      });
    }
    if (status === 401) c.header("WWW-Authenticate", 'Bearer realm="dotcompute"');
    return c.json({ error: body }, status);
  });
  return app;
}

/** The request body of a call: a JSON array of arguments; an empty body means none. */
function parseArguments(text: string): unknown[] {
  if (text.trim() === "") return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new HTTPException(400, { message: `The request body is not valid JSON: ${reason}` });
  }
  if (!Array.isArray(value)) {
    throw new HTTPException(400, {
      message: "The request body must be a JSON array of the method's arguments",
    });
  }
  return value;
}

/** The one mapping from an error to a status and an error body. */
function describeError(
  error: Error,
): { status: ContentfulStatusCode; body: { name: string; message: string; code?: string } } {
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    return { status, body: { name: HTTP_NAMES[status] ?? "HttpError", message: error.message } };
  }
  const code = (error as { code?: unknown }).code;
  const body = { name: error.name, message: error.message, ...(typeof code === "string" ? { code } : {}) };
  const status = error instanceof PluginHostError ? STATUS[error.code] ?? 500 : 500;
  return { status, body };
}

/** Streams the host's events until the client goes away, the app's signal aborts or the client lags too far. */
async function forwardEvents(
  host: PluginHost,
  stream: SSEStreamingApi,
  options: AdminAppOptions,
  health: HealthWatch,
): Promise<void> {
  const queue: (SSEMessage | "heartbeat")[] = [];
  let wake = (): void => {};
  let open = true;
  const close = (): void => {
    open = false;
    wake();
  };
  const push = (m: SSEMessage | "heartbeat"): void => {
    if (queue.push(m) > MAX_QUEUED) close();
    wake();
  };
  const offs = (Object.keys(EVENTS) as (keyof HostEventMap)[]).map((type) =>
    host.on(type, (event) => push({ event: type, data: JSON.stringify(event) }))
  );
  offs.push(health.subscribe((event) => push({ event: "health", data: JSON.stringify(event) })));
  const timer = setInterval(() => push("heartbeat"), options.heartbeatMs ?? 15_000);
  stream.onAbort(close); // the client went away: Deno cancelled the response body
  options.signal?.addEventListener("abort", close);
  if (options.signal?.aborted) close();
  try {
    await stream.write(": connected\n\n");
    while (open) {
      for (let m = queue.shift(); m !== undefined && open; m = queue.shift()) {
        await (m === "heartbeat" ? stream.write(": keep-alive\n\n") : stream.writeSSE(m));
      }
      if (open) await new Promise<void>((resolve) => wake = resolve);
    }
  } finally {
    clearInterval(timer);
    for (const off of offs) off();
    options.signal?.removeEventListener("abort", close);
  }
}
