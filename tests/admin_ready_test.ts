// GET /ready (issue 18 item 10): the readiness probe. 503 until start() has run and while an enabled plugin is
// still Loading or Starting (the list of those in the body); 200 once each has left them, a Failed one too
// (/health reports failures). Like /health it needs no token. A real host, over real HTTP.
import assert from "node:assert/strict";
import { hostWith, nextEvent } from "./_helpers.ts";

// Its start waits until the test lets it go (its own folder is readable: a file appearing there).
const slow = {
  manifest: { id: "slow" },
  code: `export default {
    async start() {
      const go = new URL("./go", import.meta.url);
      for (;;) { try { Deno.statSync(go); return; } catch { await new Promise((r) => setTimeout(r, 20)); } }
    },
    methods: { ping: () => "pong" },
  };`,
};
const broken = { manifest: { id: "broken" }, code: "export default { methods: { x( } };" };

const TOKEN = "a-token-of-24-bytes-0123";

async function ready(
  url: string,
  token?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${url}/ready`, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
  return { status: res.status, body: await res.json() };
}

Deno.test("GET /ready: 503 before start and while a plugin starts, naming it; 200 after, a failed one too", async () => {
  await using t = await hostWith({ slow, broken }, {
    Plugins: { Admin: { Token: TOKEN } },
  });
  await using admin = await t.host.serveAdmin({ port: 0 });
  assert.deepEqual(await ready(admin.url), {
    status: 503,
    body: { ready: false, starting: 0, started: false },
  });
  const starting = nextEvent(t.host, "state", (e) =>
    (e as { id: string; to: string }).id === "slow" &&
    (e as { to: string }).to === "Starting");
  const started = t.host.start();
  await starting;
  // With the token, the ids of those still starting; without it (a probe), only how many.
  const during = await ready(admin.url, TOKEN);
  assert.equal(during.status, 503);
  // slow is starting (broken may still be loading at this moment: it fails on its own time).
  assert.ok((during.body.starting as string[]).includes("slow"), JSON.stringify(during.body));
  const probed = await ready(admin.url);
  assert.equal(probed.status, 503);
  assert.equal(typeof probed.body.starting, "number", JSON.stringify(probed.body));
  await Deno.writeTextFile(`${t.root}/plugins/slow/go`, "");
  await started;
  assert.equal(t.host.getPlugin("broken")!.state, "Failed");
  assert.deepEqual(await ready(admin.url), { status: 200, body: { ready: true } });
  // The token guards the other routes, not the probes.
  assert.equal(
    await fetch(`${admin.url}/plugins`).then(async (r) => (await r.body?.cancel(), r.status)),
    401,
  );
  await t.host.stop();
});
