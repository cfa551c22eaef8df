/**
 * Serves the admin API with `Deno.serve`, on loopback unless a token guards it.
 *
 * @module
 */

import { PluginHostError } from "../errors.ts";
import type { PluginHost } from "../host/types.ts";
import { createAdminApp } from "./app.ts";
import { isLoopback } from "./_loopback.ts";
import { adminToken } from "./_token.ts";
import type { AdminServer, ServeAdminOptions } from "../host/types.ts";
export type { AdminServer, ServeAdminOptions } from "../host/types.ts";

export { isLoopback };

/**
 * Serves `host`'s admin API (what `host.serveAdmin()` does). Throws a `PluginHostError` with code
 * `CONFIG_INVALID` when asked to listen beyond loopback without a token, or when it cannot listen.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { testPlugin } from "@dotcompute/plugins/testing";
 * import { startAdminServer } from "./server.ts";
 * await using hello = await testPlugin("plugins/hello");
 * await using server = await startAdminServer(hello.host, { port: 0 }); // 0: any free port
 * assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
 * const res = await fetch(`${server.url}/health`);
 * assert.deepEqual(await res.json(), { status: "healthy" });
 * ```
 */
export function startAdminServer(host: PluginHost, options: ServeAdminOptions = {}): Promise<AdminServer> {
  const hostname = options.hostname ?? host.config.admin.hostname;
  const port = options.port ?? host.config.admin.port;
  let token: string | null;
  try {
    token = adminToken(host.config.admin, options.token);
  } catch (e) {
    return Promise.reject(e);
  }
  if (token === null && !isLoopback(hostname)) {
    return Promise.reject(
      new PluginHostError(
        "CONFIG_INVALID",
        `Refusing to serve the admin API on "${hostname}" without a token: set Plugins.Admin.Token or ` +
          `TokenFile (or DOTCOMPUTE_ADMIN_TOKEN), ` +
          `or listen on a loopback address (127.0.0.1, ::1, localhost)`,
      ),
    );
  }
  const closing = new AbortController();
  const app = createAdminApp(host, {
    token,
    signal: closing.signal,
    ...(options.allowedHosts ? { allowedHosts: options.allowedHosts } : {}),
  });
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname, port, onListen: () => {} }, app.fetch);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return Promise.reject(
      new PluginHostError("CONFIG_INVALID", `The admin API cannot listen on ${hostname}:${port}: ${reason}`, {
        cause: e,
      }),
    );
  }
  const addr = { hostname: server.addr.hostname, port: server.addr.port };
  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    stopping ??= (async () => {
      options.signal?.removeEventListener("abort", onAbort);
      closing.abort();
      await server.shutdown();
    })();
  const onAbort = (): void => void shutdown();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) void shutdown();
  options.onListen?.(addr);
  return Promise.resolve({
    url: `http://${addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname}:${addr.port}`,
    addr,
    finished: server.finished,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  });
}
