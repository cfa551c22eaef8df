/**
 * The operator's routes of the admin API: the dashboard at `GET /`, `GET /plugins/:id/diagnosis`, and a guard
 * that refuses state-changing requests sent by another web origin.
 *
 * @module
 */

import type { Hono } from "../_npm/hono.ts";
import { HTTPException } from "../_npm/hono.ts";
import { PluginHostError } from "../errors.ts";
import type { PluginHost } from "../host/types.ts";
import { dashboardHeaders, dashboardHtml } from "./dashboard.ts";
import { diagnosePlugin } from "./diagnosis.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Whether a request may change state: safe methods always; others unless a browser says another site sent them
 * (`Sec-Fetch-Site: cross-site` / `same-site`, or an `Origin` whose host is not the one addressed). Clients that
 * are not browsers (curl, scripts, the CLI) send neither header and pass. This stops a web page the operator
 * happens to visit from POSTing to an admin API on loopback that has no token.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isSameOriginWrite } from "./_operator_routes.ts";
 * const r = new Request("http://127.0.0.1:8080/plugins/a/stop", {
 *   method: "POST",
 *   headers: { Origin: "https://evil.example" },
 * });
 * assert.equal(isSameOriginWrite(r), false);
 * // curl, scripts and the CLI send no Origin: they pass.
 * assert.equal(isSameOriginWrite(new Request(r.url, { method: "POST" })), true);
 * ```
 */
export function isSameOriginWrite(request: Request): boolean {
  if (SAFE_METHODS.has(request.method)) return true;
  const site = request.headers.get("Sec-Fetch-Site");
  if (site === "cross-site" || site === "same-site") return false;
  const origin = request.headers.get("Origin");
  if (origin === null) return true;
  try {
    return new URL(origin).host === new URL(request.url).host;
  } catch {
    return false; // "null" (a sandboxed frame, a file) or garbage
  }
}

/**
 * Adds the operator's routes to `app`; call it right after the authentication middleware, before the other
 * routes, so the origin guard runs first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Hono } from "hono";
 * import { testPlugin } from "@dotcompute/plugins/testing";
 * import { mountOperatorRoutes } from "./_operator_routes.ts";
 * await using hello = await testPlugin("plugins/hello");
 * const app = new Hono();
 * mountOperatorRoutes(app, hello.host);
 * const res = await app.request("/plugins/hello.world/diagnosis");
 * assert.equal((await res.json()).state, "Running");
 * const forged = await app.request("/plugins/hello.world/stop", {
 *   method: "POST",
 *   headers: { Origin: "https://evil.example" },
 * });
 * assert.equal(forged.status, 403);
 * ```
 */
export function mountOperatorRoutes(app: Hono, host: PluginHost): void {
  app.use(async (c, next) => {
    if (!isSameOriginWrite(c.req.raw)) {
      throw new HTTPException(403, {
        message: "Refused a state-changing request sent by another web origin",
      });
    }
    await next();
  });
  app.get("/", (c) => {
    const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    return c.body(dashboardHtml(nonce), 200, dashboardHeaders(nonce));
  });
  app.get("/plugins/:id/diagnosis", (c) => {
    const id = c.req.param("id");
    const diagnosis = diagnosePlugin(host, id);
    if (!diagnosis) throw new PluginHostError("PLUGIN_NOT_FOUND", `No plugin "${id}"`, { pluginId: id });
    return c.json(diagnosis);
  });
}
