/**
 * The live dashboard served at `GET /` of the admin API: one HTML page with inline CSS and a vanilla ES module,
 * no build step and no external URL. It lists every plugin (state, health, version, calls, errors, p50/p95
 * latency), follows `/events` to refetch a plugin's row when it changes, has Start, Stop, Reload and "Why?"
 * (diagnosis) buttons, and keeps the last 50 events.
 *
 * When the admin API has a token, the page itself is served without one (it holds no data), asks for the token
 * and sends it as `Authorization: Bearer` on every request, `/events` included: the event stream is read with
 * `fetch` rather than `EventSource`, which cannot send headers, so a token never travels in a URL. The token is
 * kept in `sessionStorage` (the tab's lifetime).
 *
 * @module
 */

import { DASHBOARD_SCRIPT } from "./_dashboard_script.ts";
import { DASHBOARD_FLEET_HTML, DASHBOARD_FLEET_SCRIPT } from "./_dashboard_fleet.ts";

const STYLE = `
:root { color-scheme: light dark; --ok: #16794a; --bad: #b3261e; --warn: #8a5a00; --dim: #6b6b6b;
  --line: #d0d0d0; --bg2: #f3f4f6; font: 14px/1.45 system-ui, sans-serif; }
@media (prefers-color-scheme: dark) { :root { --ok: #5fd39a; --bad: #ff8a80; --warn: #f0c060; --dim: #a0a0a0;
  --line: #444; --bg2: #23262b; } }
body { margin: 0 auto; max-width: 72rem; padding: 1rem 1.5rem; }
header { display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; }
h1 { font-size: 1.3rem; margin: 0 auto 0 0; }
h2 { font-size: 1.05rem; margin: 1.4rem 0 .5rem; }
#conn.live { color: var(--ok); } #conn.down { color: var(--bad); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: middle; }
thead th { font-weight: 600; background: var(--bg2); }
td.col-calls, td.col-errors, td.col-p50, td.col-p95 { text-align: right; font-variant-numeric: tabular-nums; }
th .id { display: block; color: var(--dim); font-size: .85em; font-weight: normal; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: .6rem; border: 1px solid currentColor;
  font-size: .85em; }
.state-Running, .health-healthy, .severity-info { color: var(--ok); }
.state-Failed, .health-unhealthy, .severity-error { color: var(--bad); }
.health-degraded, .severity-warning { color: var(--warn); }
.badge:not(.state-Running):not(.state-Failed):not([class*="health-"]):not([class*="severity-"]),
.health-unknown { color: var(--dim); }
.actions { white-space: nowrap; }
button { font: inherit; padding: .15rem .6rem; margin-right: .25rem; cursor: pointer; }
button:disabled { cursor: default; opacity: .45; }
button:focus-visible, input:focus-visible, #diagnosis:focus-visible { outline: 2px solid Highlight; outline-offset: 2px; }
#message { min-height: 1.4em; margin: .5rem 0; } #message.error { color: var(--bad); }
#events { list-style: none; padding: 0; margin: 0; font-size: .9em; }
#events li { display: flex; gap: .6rem; padding: .15rem 0; border-bottom: 1px dotted var(--line); }
#events time { color: var(--dim); font-variant-numeric: tabular-nums; }
#events .type { min-width: 7.5rem; color: var(--dim); }
.event-crash .text, .event-discoveryFailure .text { color: var(--bad); }
#diagnosis { border: 1px solid var(--line); padding: .5rem 1rem 1rem; margin-top: 1rem; background: var(--bg2); }
#findings { padding-left: 1.2rem; } #findings li { margin: .3rem 0; }
#findings .kind { color: var(--dim); margin: 0 .4rem; } #findings .action { display: block; }
form#auth { margin: 1rem 0; padding: .75rem 1rem; border: 1px solid var(--line); background: var(--bg2); }
#auth-error { color: var(--bad); }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
`;

const BODY = `
<header>
  <h1>DotCompute plugins</h1>
  <span>host: <span id="host-health">…</span></span>
  <span>events: <span id="conn" role="status" aria-live="polite">connecting…</span></span>
</header>
<form id="auth" hidden>
  <label for="token">This admin API needs its token (Plugins.Admin.Token):</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required>
  <button type="submit">Connect</button>
  <p id="auth-error" role="alert"></p>
</form>
<main>
  <section aria-labelledby="plugins-title">
    <h2 id="plugins-title">Plugins</h2>
    <table id="plugins" aria-busy="true">
      <caption class="visually-hidden">Every plugin of the host, updated live</caption>
      <thead>
        <tr>
          <th scope="col">Plugin</th><th scope="col">State</th><th scope="col">Health</th>
          <th scope="col">Version</th><th scope="col">Calls</th><th scope="col">Errors</th>
          <th scope="col"><abbr title="median call latency, ms">p50 ms</abbr></th>
          <th scope="col"><abbr title="95th percentile call latency, ms">p95 ms</abbr></th>
          <th scope="col">Actions</th>
        </tr>
      </thead>
      <tbody></tbody>
    </table>
    <p id="empty" hidden>No plugins.</p>
    <p id="message" role="status" aria-live="polite"></p>
    <section id="diagnosis" hidden tabindex="-1" aria-labelledby="diagnosis-title">
      <h2 id="diagnosis-title">Diagnosis</h2>
      <ul id="findings"></ul>
      <button type="button" id="close-diagnosis">Close</button>
    </section>
  </section>
${DASHBOARD_FLEET_HTML}
  <section aria-labelledby="events-title">
    <h2 id="events-title">Recent events</h2>
    <ol id="events"></ol>
  </section>
</main>
`;

/**
 * The dashboard page, with `nonce` on its inline style and script (the page's Content-Security-Policy allows
 * those two and nothing else; see {@linkcode dashboardHeaders}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dashboardHtml } from "./dashboard.ts";
 * const html = dashboardHtml("r4nd0m");
 * assert.ok(html.includes('<script type="module" nonce="r4nd0m">'));
 * ```
 */
export function dashboardHtml(nonce: string): string {
  if (!/^[A-Za-z0-9+/=_-]+$/.test(nonce)) throw new TypeError("A nonce is base64 text");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>DotCompute plugins</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>${BODY}<script type="module" nonce="${nonce}">${DASHBOARD_SCRIPT}${DASHBOARD_FLEET_SCRIPT}</script>
</body>
</html>
`;
}

/**
 * The response headers of the page: a Content-Security-Policy that runs only the page's own nonce-tagged style
 * and script and talks only to its own origin, no framing, no caching, no sniffing, no referrer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dashboardHeaders } from "./dashboard.ts";
 * assert.ok(dashboardHeaders("r4nd0m")["Content-Security-Policy"].includes("'nonce-r4nd0m'"));
 * ```
 */
export function dashboardHeaders(nonce: string): Record<string, string> {
  return {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src 'nonce-${nonce}'`,
      "connect-src 'self'",
      "img-src 'self' data:",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join("; "),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
  };
}
