// The dashboard page and what it relies on, without a browser: the page itself, its token handling, the
// origin guard on state-changing routes, and the health events it shows. (The browser test drives it for real.)
import assert from "node:assert/strict";
import { createAdminApp } from "../mod.ts";
import { isSameOriginWrite } from "../src/admin/_operator_routes.ts";
import { dashboardHtml } from "../src/admin/dashboard.ts";
import { hostWith, type PluginSource } from "./_helpers.ts";

const echo: PluginSource = {
  manifest: { id: "echo" },
  code: `export default { health() { return { status: "degraded", details: { queue: 3 } }; } };`,
};

Deno.test("GET / serves one self-contained page under a nonce-based Content-Security-Policy", async () => {
  await using t = await hostWith({ echo });
  const res = await createAdminApp(t.host, { token: null }).request("/");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("Content-Type"), "text/html; charset=utf-8");
  const csp = res.headers.get("Content-Security-Policy") ?? "";
  const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
  assert.ok(nonce, csp);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /connect-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  const html = await res.text();
  assert.ok(html.includes(`<script type="module" nonce="${nonce}">`));
  assert.ok(html.includes(`<style nonce="${nonce}">`));
  assert.doesNotMatch(html, /https?:\/\//, "no external URL");
  assert.doesNotMatch(
    html,
    /innerHTML|outerHTML|insertAdjacentHTML|document\.write/,
    "data never becomes markup",
  );
  for (const header of ["Plugin", "State", "Health", "Version", "Calls", "Actions"]) {
    assert.ok(html.includes(`<th scope="col">${header}</th>`), header);
  }
  const again = await createAdminApp(t.host, { token: null }).request("/");
  const nonce2 = /'nonce-([^']+)'/.exec(again.headers.get("Content-Security-Policy") ?? "")?.[1];
  assert.notEqual(nonce2, nonce, "a fresh nonce per response");
  await again.body?.cancel();
  assert.throws(() => dashboardHtml('"><script>'), TypeError);
});

Deno.test("with a token, the page loads without it but every data route, /events included, needs it", async () => {
  await using t = await hostWith({ echo }, { Plugins: { Admin: { Token: "s3cret-token-0123" } } });
  await t.host.start();
  const app = createAdminApp(t.host);
  const page = await app.request("/");
  assert.equal(page.status, 200);
  assert.doesNotMatch(await page.text(), /s3cret-token-0123/);
  for (const path of ["/plugins", "/events", "/plugins/echo/diagnosis", "/?token=s3cret-token-0123"]) {
    const res = await app.request(path, path.startsWith("/?") ? { method: "POST" } : {});
    assert.equal(res.status, 401, path);
    await res.body?.cancel();
  }
  const auth = { headers: { Authorization: "Bearer s3cret-token-0123" } };
  const events = await app.request("/events", auth);
  assert.equal(events.status, 200);
  assert.equal(events.headers.get("Content-Type"), "text/event-stream");
  await events.body?.cancel();
  const d = await (await app.request("/plugins/echo/diagnosis", auth)).json();
  assert.equal(d.running, true);
});

Deno.test("state-changing requests from another web origin are refused", async () => {
  await using t = await hostWith({ echo });
  await t.host.start();
  const app = createAdminApp(t.host, { token: null });
  const cases: [Record<string, string>, number][] = [
    [{ Origin: "https://evil.example" }, 403],
    [{ Origin: "null" }, 403],
    [{ "Sec-Fetch-Site": "cross-site" }, 403],
    [{ "Sec-Fetch-Site": "same-site", Origin: "http://localhost" }, 403],
    [{ Origin: "http://localhost", "Sec-Fetch-Site": "same-origin" }, 200],
    [{}, 200], // curl, scripts, the CLI
  ];
  for (const [headers, status] of cases) {
    const res = await app.request("/plugins/echo/reload", { method: "POST", headers });
    assert.equal(res.status, status, JSON.stringify(headers));
    const body = await res.json();
    if (status === 403) assert.equal(body.error.name, "Forbidden");
  }
  const read = await app.request("/plugins", { headers: { Origin: "https://evil.example" } });
  assert.equal(
    read.status,
    200,
    "reads are not writes (the browser's CORS keeps their answers from the page)",
  );
  await read.body?.cancel();
  assert.equal(isSameOriginWrite(new Request("http://127.0.0.1:1/x", { method: "DELETE" })), true);
});

Deno.test("/events reports health changes: from the state at once, from the plugin's own report on the interval", async () => {
  await using t = await hostWith({ echo }, { Plugins: { HealthCheckInterval: 200 } });
  const res = await createAdminApp(t.host, { token: null }).request("/events");
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  await t.host.start();
  const seen: string[] = [];
  let buffer = "";
  while (!seen.includes("echo healthy→degraded")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended after ${seen}`);
    buffer += value;
    for (const m of buffer.matchAll(/event: health\ndata: (.*)\n/g)) {
      const e = JSON.parse(m[1]);
      const line = `${e.id} ${e.from}→${e.to}`;
      if (!seen.includes(line)) seen.push(line);
      if (e.to === "degraded") assert.deepEqual(e.details, { queue: 3 });
    }
  }
  assert.deepEqual(seen, ["echo unknown→healthy", "echo healthy→degraded"]);
  await reader.cancel();
});
