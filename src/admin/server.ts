/**
 * Serves the admin API with `Deno.serve`, on loopback unless a token guards it.
 *
 * @module
 */

import { PluginHostError } from "../errors.ts";
import type { PluginHost } from "../host/host.ts";
import { createAdminApp } from "./app.ts";
import { isLoopback } from "./_loopback.ts";
import { adminToken } from "./_token.ts";

export { isLoopback };

/** Options of `host.serveAdmin()`; every one defaults to the host's `Plugins.Admin` configuration. */
export interface ServeAdminOptions {
  /** Interface to listen on; default `Plugins.Admin.Hostname` (`127.0.0.1`). */
  readonly hostname?: string;
  /** Port; default `Plugins.Admin.Port` (8080); 0 picks a free one. */
  readonly port?: number;
  /**
   * Bearer token (16 bytes or more); default `Plugins.Admin.Token`, `Plugins.Admin.TokenFile`'s content or the
   * environment's `DOTCOMPUTE_ADMIN_TOKEN`, in that order; `null` or `""` for none (loopback only).
   */
  readonly token?: string | null;
  /** Shuts the server down when aborted. */
  readonly signal?: AbortSignal;
  /** Names besides loopback ones a request's `Host` may carry when there is no token (see `AdminAppOptions`). */
  readonly allowedHosts?: readonly string[];
  /** Called once the server listens, with the address it really got. Default: prints nothing. */
  onListen?(addr: { hostname: string; port: number }): void;
}

/** A running admin server. Dispose it (`await using`) or call {@linkcode AdminServer.shutdown}. */
export interface AdminServer extends AsyncDisposable {
  /** `http://HOST:PORT`, with an IPv6 host in brackets. */
  readonly url: string;
  /** The address it listens on. */
  readonly addr: { readonly hostname: string; readonly port: number };
  /** Settles once the server has stopped. */
  readonly finished: Promise<void>;
  /** Ends every event stream, lets pending requests finish and stops listening. Safe to call twice. */
  shutdown(): Promise<void>;
}

/**
 * Serves `host`'s admin API (what `host.serveAdmin()` does). Throws a `PluginHostError` with code
 * `CONFIG_INVALID` when asked to listen beyond loopback without a token, or when it cannot listen.
 *
 * @example
 * ```ts ignore
 * import { startAdminServer } from "./server.ts";
 * await using server = await startAdminServer(host, { port: 0 });
 * console.log(`admin listening on ${server.url}`);
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
