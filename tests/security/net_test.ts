// The network beyond the allowlist: a plugin granted exactly one loopback endpoint reaches it and nothing next to
// it (other ports, other loopback addresses, names, IPv6, a redirect out of the allowed server, raw sockets,
// listening), and the forbidden servers never see a request.
import assert from "node:assert/strict";
import { attacker, attackHost } from "./_attack.ts";

const NET = (host: string) =>
  new RegExp(`Requires net access to "${host.replace(/[.[\]]/g, (c) => `\\${c}`)}`);

const prober = attacker("net-prober", {
  fetchAllowed: `async (u) => (await fetch(u)).text()`,
  fetch: `async (u) => (await fetch(u)).text()`,
  tcpConnect: `async ([hostname, port]) => { const c = await Deno.connect({ hostname, port }); c.close(); }`,
  listen: `() => Deno.listen({ hostname: "127.0.0.1", port: 0 }).close()`,
  webSocket: `(u) => new Promise((res, rej) => { const w = new WebSocket(u); w.onopen = () => res("open");
    w.onerror = (e) => rej(new Error(e.message)); })`,
  nodeNet: `async ([host, port]) => { const net = await import("node:net");
    return await new Promise((res, rej) => net.connect({ host, port }).on("connect", () => res("connected")).on("error", rej)); }`,
  nodeHttp: `async (u) => { const http = await import("node:http");
    return await new Promise((res, rej) => http.get(u, (r) => res(String(r.statusCode))).on("error", rej)); }`,
  resolveDns: `() => Deno.resolveDns("example.com", "A")`,
}, { manifest: { permissions: { net: ["127.0.0.1"] } } });

Deno.test("network: a plugin granted one endpoint reaches nothing else", async (t) => {
  const hits: string[] = [];
  const serve = (hostname: string, name: string, answer?: (port: number) => Response) => {
    const s: Deno.HttpServer<Deno.NetAddr> = Deno.serve({ hostname, port: 0, onListen() {} }, () => {
      hits.push(name);
      return answer ? answer(s.addr.port) : new Response(name);
    });
    return s;
  };
  await using forbidden = serve("127.0.0.1", "forbidden");
  await using otherLoopback = serve("127.0.0.2", "127.0.0.2");
  // The allowed server answers /go with a redirect to the forbidden one.
  await using allowed = serve("127.0.0.1", "allowed", () => new Response("allowed"));
  await using redirector = serve(
    "127.0.0.1",
    "redirector",
    () => Response.redirect(`http://127.0.0.1:${forbidden.addr.port}/`, 302),
  );
  const ok = `127.0.0.1:${allowed.addr.port}`, hop = `127.0.0.1:${redirector.addr.port}`;
  await using h = await attackHost({ "net-prober": prober }, {
    config: {
      PluginSecurity: {
        "net-prober": {
          AllowNetworkAccess: true,
          AllowedNetworkEndpoints: [`http://${ok}`, `http://${hop}`],
        },
      },
    },
  });
  const p = h.plugin("net-prober");
  assert.deepEqual([...p.permissions.net].sort(), [ok, hop].sort());
  await t.step("net: the allowed endpoint answers", async () => {
    assert.deepEqual(await p.call("fetchAllowed", `http://${ok}/`), { ok: true, value: "allowed" });
  });
  const f = forbidden.addr.port, a = allowed.addr.port;
  const cases: [string, string, RegExp, unknown][] = [
    ["otherPort", "fetch", NET(`127.0.0.1:${f}`), `http://127.0.0.1:${f}/`],
    ["otherLoopbackAddress", "fetch", NET(`127.0.0.2:`), `http://127.0.0.2:${otherLoopback.addr.port}/`],
    ["otherLoopbackSamePort", "fetch", NET(`127.0.0.2:${a}`), `http://127.0.0.2:${a}/`],
    ["localhostName", "fetch", NET(`localhost:${a}`), `http://localhost:${a}/`],
    ["ipv6Loopback", "fetch", NET(`[::1]:${a}`), `http://[::1]:${a}/`],
    ["externalName", "fetch", NET("example.com"), "https://example.com/"],
    ["redirectOut", "fetch", NET(`127.0.0.1:${f}`), `http://${hop}/go`],
    ["tcpConnect", "tcpConnect", NET(`127.0.0.1:${f}`), ["127.0.0.1", f]],
    ["listen", "listen", NET("127.0.0.1:0"), null],
    ["webSocket", "webSocket", NET(`127.0.0.1:${f}`), `ws://127.0.0.1:${f}/`],
    ["nodeNet", "nodeNet", NET(`127.0.0.1:${f}`), ["127.0.0.1", f]],
    ["nodeHttp", "nodeHttp", NET(`127.0.0.1:${f}`), `http://127.0.0.1:${f}/`],
    ["resolveDns", "resolveDns", /Requires net access/, null],
  ];
  for (const [name, attack, denial, arg] of cases) {
    await t.step(`net: ${name}`, () => h.denied("net-prober", attack, denial, arg).then(() => {}));
  }
  assert.deepEqual(hits.filter((x) => x !== "redirector"), ["allowed"], "no forbidden server saw a request");
  assert.ok(hits.includes("redirector"), "the redirect itself was served by the allowed endpoint");
});
