// Budgets for what the whole process shares (issue 17 item 4): a plugin granted nothing opened its own module
// 20,000 times and exhausted the host process's file descriptors (the admin API stopped answering, no plugin
// could start). Each attack runs in a real plugin; the host's own descriptors are read from /proc/self/fd.
import assert from "node:assert/strict";
import { join } from "node:path";
import { attackHost, CONFIG, MOD } from "./_attack.ts";
import { type PluginSource, pollUntil } from "../_helpers.ts";
import { HOST_FD_RESERVE } from "../../src/isolation/fd_reserve.ts";

const BUDGET = /Plugin budget exhausted: .*ResourceLimits\.MaxHandles raises it/;
const TIMERS = /Plugin budget exhausted: setTimeout: .*ResourceLimits\.MaxTimers raises it/;

const fds = (): number => [...Deno.readDirSync("/proc/self/fd")].length;

/** Opens (or starts) `n` of something until refused; closes what it got; answers how many and why it stopped. */
const flood = (make: string, close: string) =>
  `async (n) => { const got = []; let why = "none";
    try { for (let i = 0; i < n; i++) got.push(${make}); } catch (e) { why = e.name + ": " + e.message; }
    const count = got.length; await Promise.allSettled(got.map(async (x) => { ${close} }));
    return JSON.stringify({ count, why }); }`;

const attacks = {
  openSync: flood("Deno.openSync(new URL(import.meta.url))", "(await x).close()"),
  // Kept open: the host's descriptor count is read while the plugin holds them, and after it stops.
  holdSync:
    `(n) => { globalThis.kept = []; try { for (let i = 0; i < n; i++) kept.push(Deno.openSync(new URL(import.meta.url))); } catch (e) { return JSON.stringify({ count: kept.length, why: e.message }); } return JSON.stringify({ count: kept.length, why: "none" }); }`,
  open: flood("await Deno.open(new URL(import.meta.url))", "x.close()"),
  readFile: flood("Deno.readFile(new URL(import.meta.url))", "await x"),
  // A directory being read is an open descriptor until its iteration ends (Deno 2.9: a "readDir" resource).
  readDir: flood(
    "((it) => it.next().then(() => it))(Deno.readDir(new URL('.', import.meta.url))[Symbol.asyncIterator]())",
    "await (await x).return()",
  ),
  timers: flood("setTimeout(() => {}, 1e6)", "clearTimeout(x)"),
  intervals: flood("setInterval(() => {}, 1e6)", "clearInterval(x)"),
  timersClosed:
    `(n) => { for (let round = 0; round < 3; round++) { const t = []; for (let i = 0; i < n; i++) t.push(setTimeout(() => {}, 1e6)); for (const x of t) x.close(); } return "ok"; }`,
  // One listener on the granted port, then connections to it until refused (each connection is a handle).
  connect:
    `async (port) => { const l = Deno.listen({ hostname: "127.0.0.1", port }); const got = []; let why = "none";
    try { for (let i = 0; i < 20000; i++) got.push(await Deno.connect({ hostname: "127.0.0.1", port })); }
    catch (e) { why = e.name + ": " + e.message; }
    for (const c of got) c.close(); l.close(); return JSON.stringify({ count: got.length, why }); }`,
  fetch: flood("fetch(new URL(import.meta.url))", "await (await x).body?.cancel()"),
};

/** A plugin whose methods are `table`'s functions (answers are not cut, unlike _attack.ts' attacker). */
function budgeted(
  id: string,
  table: Record<string, string>,
  manifest: Record<string, unknown> = {},
): PluginSource {
  const methods = Object.entries(table).map(([k, f]) => `  ${JSON.stringify(k)}: ${f},`).join("\n");
  return {
    manifest: { id, ...manifest },
    code: `export default { methods: {\n${methods}\n  ping: () => "pong",\n} };`,
  };
}

const plain = budgeted("hog", attacks);
const other = budgeted("other", { ok: `() => "ok"` });
/** A port free now, for a listener the plugin is granted. */
const PORT = (() => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
})();
const net = budgeted("listener", attacks, { permissions: { net: [`127.0.0.1:${PORT}`] } });

const counted = (r: unknown): { count: number; why: string } => JSON.parse(r as string);

Deno.test("handles: a plugin granted nothing opening its module 20,000 times is refused at MaxHandles; the host keeps serving", async (t) => {
  await using h = await attackHost({ hog: plain, other });
  const admin = await h.host.serveAdmin({ hostname: "127.0.0.1", port: 0 });
  const hog = h.plugin("hog");
  const before = fds();

  await t.step("sync route (Deno.openSync): refused at 256 with the budget and its key named", async () => {
    const r = counted(await hog.call("openSync", 20_000));
    assert.equal(r.count, 256);
    assert.match(r.why, /^BudgetExceeded: /);
    assert.match(r.why, BUDGET);
  });
  await t.step("async routes (Deno.open, readFile and readDir in flight): refused at 256", async () => {
    // A readDir whose first entry has come holds a directory descriptor and its next read in flight: two
    // handles each, so its floor is half the budget (how many have come by the refusal depends on timing).
    for (const [attack, floor] of [["open", 200], ["readFile", 200], ["readDir", 128]] as const) {
      const r = counted(await hog.call(attack, 20_000));
      assert.ok(r.count <= 256 && r.count >= floor, `${attack}: ${r.count}`);
      assert.match(r.why, BUDGET, attack);
    }
  });
  await t.step(
    "while the plugin holds its whole budget, the admin API answers and others reload and start",
    async () => {
      const r = counted(await hog.call("holdSync", 20_000));
      assert.equal(r.count, 256);
      assert.ok(fds() - before >= 250, "the plugin really holds the descriptors");
      assert.ok(fds() - before < 300, `held ${fds() - before}: no more than its budget`);
      const plugins = await (await fetch(`${admin.url}/plugins`)).json() as { id: string }[];
      assert.ok(plugins.some((p) => p.id === "hog"));
      const reloaded = await fetch(`${admin.url}/plugins/other/reload`, { method: "POST" });
      assert.equal(reloaded.status, 200, await reloaded.text());
      assert.equal(await h.plugin("other").call("ok"), "ok");
      await h.host.stopPlugin("other");
      await h.host.startPlugin("other");
      assert.equal(h.plugin("other").state, "Running");
      await h.healthy({ hog: "Running" });
    },
  );
  await t.step("after the attacker stops, the host's descriptor count is back", async () => {
    await h.host.stopPlugin("hog");
    const after = await pollUntil(fds, (n) => n <= before); // a Worker's table is dropped as it ends
    assert.ok(after <= before, `${after} descriptors open, ${before} before the attack`);
    await h.host.startPlugin("hog");
    // Released: a new run has its whole budget again.
    assert.equal(counted(await hog.call("openSync", 20_000)).count, 256);
  });
});

Deno.test("handles: timers are budgeted by MaxTimers; cleared, fired and closed timers are released", async () => {
  await using h = await attackHost({ hog: plain });
  const hog = h.plugin("hog");
  for (const attack of ["timers", "intervals", "timers"]) {
    const r = counted(await hog.call(attack, 20_000));
    assert.equal(r.count, 1024, attack);
    assert.match(r.why, attack === "intervals" ? /setInterval: .*MaxTimers/ : TIMERS);
  }
  assert.equal(await hog.call("timersClosed", 1000), "ok");
  await h.healthy({ hog: "Running" });
});

Deno.test("handles: a listener, its connections and fetches in flight (net granted to one port) count against MaxHandles", async () => {
  await using h = await attackHost({ listener: net }, {
    config: {
      PluginSecurity: {
        listener: { AllowNetworkAccess: true, AllowedNetworkEndpoints: [`127.0.0.1:${PORT}`] },
      },
    },
  });
  const p = h.plugin("listener");
  const before = fds();
  const r = counted(await p.call("connect", PORT));
  // The listener, each connection and the end the plugin accepts... all count: at most 255 connections.
  assert.ok(r.count >= 120 && r.count <= 255, `${r.count}`);
  assert.match(r.why, /Deno\.connect: .*MaxHandles/);
  const f = counted(await p.call("fetch", 20_000));
  assert.ok(f.count >= 50 && f.count <= 256, `${f.count}`); // in flight, then its body and file: several each
  assert.match(f.why, /fetch: .*MaxHandles/);
  assert.ok(fds() <= before + 8, "every listener was closed");
  await h.healthy({ listener: "Running" });
});

Deno.test("handles: a plugin block's MaxHandles/MaxTimers override the host-wide ones", async () => {
  await using h = await attackHost({ hog: plain, other: budgeted("other", attacks) }, {
    config: {
      Plugins: {
        ResourceLimits: { MaxHandles: 64, MaxTimers: 100 },
        hog: { ResourceLimits: { MaxHandles: 32, MaxTimers: 10 } },
      },
    },
  });
  assert.equal(counted(await h.plugin("hog").call("openSync", 1000)).count, 32);
  assert.equal(counted(await h.plugin("hog").call("timers", 1000)).count, 10);
  assert.equal(counted(await h.plugin("other").call("openSync", 1000)).count, 64);
  assert.equal(counted(await h.plugin("other").call("timers", 1000)).count, 100);
  // Budgets never turn on guarding (a node thread): the plugin runs in its Worker directly.
  assert.equal(h.plugin("hog").state, "Running");
});

Deno.test("handles: in the process tier the budget bounds the child's own descriptors", async () => {
  await using h = await attackHost({ hog: plain }, {
    config: { Plugins: { hog: { Isolation: "process", ResourceLimits: { MaxHandles: 40, MaxTimers: 50 } } } },
  });
  const before = fds();
  const hog = h.plugin("hog");
  const r = counted(await hog.call("openSync", 20_000));
  assert.equal(r.count, 40);
  assert.match(r.why, BUDGET);
  assert.equal(counted(await hog.call("readFile", 20_000)).count, 40);
  assert.equal(counted(await hog.call("timers", 20_000)).count, 50);
  assert.ok(fds() <= before + 2, "the child's descriptors are its own, not the host's");
  await h.healthy({ hog: "Running" });
});

Deno.test("handles: plugins together cannot take the host's reserve (a host under ulimit -n 1024)", async () => {
  // Six plugins at the default budget (6 × 256 > 1024) each open what they can, in a host process whose limit
  // is 1024: the pool refuses past the limit less the host's reserve, and the host still serves and opens files.
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_reserve_" }));
  try {
    const ids = ["p1", "p2", "p3", "p4", "p5", "p6"];
    for (const id of ids) {
      const dir = join(root, "plugins", id);
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(join(dir, "plugin.jsonc"), JSON.stringify({ id, name: id, version: "1.0.0" }));
      await Deno.writeTextFile(
        join(dir, "mod.ts"),
        `const kept = []; export default { methods: { hold(n) { try { for (let i = 0; i < n; i++)
          kept.push(Deno.openSync(new URL(import.meta.url))); } catch (e) { return [kept.length, e.message]; }
          return [kept.length, "none"]; } } };`,
      );
    }
    const script = join(root, "host.ts");
    await Deno.writeTextFile(
      script,
      `import { createPluginHost } from ${JSON.stringify(MOD)};
       await using host = await createPluginHost({ Plugins: { PluginsDirectory: ${
        JSON.stringify(join(root, "plugins"))
      } } });
       await host.start();
       const admin = await host.serveAdmin({ hostname: "127.0.0.1", port: 0 });
       const got = [];
       for (const id of ${JSON.stringify(ids)}) got.push(await host.getPlugin(id).call("hold", 2000));
       const held = got.reduce((a, [n]) => a + n, 0);
       const fds = [...Deno.readDirSync("/proc/self/fd")].length;
       const status = (await fetch(admin.url + "/plugins")).status;
       const files = []; for (let i = 0; i < 100; i++) files.push(Deno.openSync(${JSON.stringify(script)}));
       for (const f of files) f.close();
       console.log(JSON.stringify({ got, held, fds, status }));`,
    );
    const out = await new Deno.Command("sh", {
      args: [
        "-c",
        `ulimit -n 1024 && exec "$0" run --unstable-worker-options --no-prompt -A --config "$1" "$2"`,
        Deno.execPath(),
        CONFIG,
        script,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const r = JSON.parse(text.trim().split("\n").pop()!) as {
      got: [number, string][];
      held: number;
      fds: number;
      status: number;
    };
    assert.equal(r.got[0][0], 256, "the first plugin gets its whole budget");
    assert.ok(r.got.some(([, why]) => /host's plugins hold .* descriptors together/.test(why)), text);
    assert.ok(r.fds <= 1024 - 200, `the host kept its reserve: ${r.fds} descriptors open of 1024`);
    assert.equal(r.status, 200, "the admin API answered");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** Node's routes to a descriptor (named and default imports of node:fs, require, node:fs/promises, streams). */
const nodeHog: PluginSource = {
  manifest: { id: "nodehog" },
  code: `import { openSync, closeSync, open as openCb, close as closeCb } from "node:fs";
import fsDefault from "node:fs";
import { open as openP } from "node:fs/promises";
import { createRequire } from "node:module";
const fsRequired = createRequire(import.meta.url)("fs");
const self = new URL(import.meta.url);
const routes = {
  named: [() => openSync(self, "r"), (fd) => closeSync(fd)],
  default: [() => fsDefault.openSync(self, "r"), (fd) => fsDefault.closeSync(fd)],
  required: [() => fsRequired.openSync(self, "r"), (fd) => fsRequired.closeSync(fd)],
  builtin: [() => process.getBuiltinModule("node:fs").openSync(self, "r"), (fd) => fsDefault.closeSync(fd)],
  callback: [() => new Promise((ok, no) => openCb(self, "r", (e, fd) => e ? no(e) : ok(fd))),
    (fd) => new Promise((ok) => closeCb(fd, ok))],
  promises: [() => openP(self, "r"), (fh) => fh.close()],
  fsPromises: [() => fsRequired.promises.open(self, "r"), (fh) => fh.close()],
  stream: [() => new Promise((ok, no) => { const s = fsDefault.createReadStream(self);
    s.once("open", () => ok(s)); s.once("error", no); }),
    (s) => new Promise((ok) => { s.once("close", ok); s.destroy(); })],
};
globalThis.kept = [];
export default { methods: {
  async flood(route, n) { const [make, close] = routes[route]; const got = []; let why = "none";
    try { for (let i = 0; i < n; i++) got.push(await make()); } catch (e) { why = e.name + ": " + e.message; }
    const count = got.length; for (const x of got) await close(x);
    return JSON.stringify({ count, why }); },
  hold(n) { try { for (let i = 0; i < n; i++) kept.push(openSync(self, "r")); } catch (e) {
    return JSON.stringify({ count: kept.length, why: e.name + ": " + e.message }); }
    return JSON.stringify({ count: kept.length, why: "none" }); },
  // Reads in flight: each holds a descriptor while Deno's blocking threads run it.
  async inflight(n) { for (const fd of kept.splice(0)) closeSync(fd); const all = []; for (let i = 0; i < n; i++) {
      all.push(fsDefault.promises.readFile(self));
      all.push(new Promise((ok, no) => fsDefault.readFile(self, (e) => e ? no(e) : ok())));
    }
    const r = await Promise.allSettled(all); const refused = r.filter((x) => x.status === "rejected");
    return JSON.stringify({ count: r.length - refused.length, why: refused[0]?.reason?.message ?? "none" }); },
  ping: () => "pong",
} };`,
};

/** Only `require` (node:fs is never imported, so its wrapper never loads): the module object is counted. */
const requireHog: PluginSource = {
  manifest: { id: "requirehog" },
  code: `import { createRequire } from "node:module";
const self = new URL(import.meta.url);
export default { methods: {
  flood(n) { const fs = createRequire(import.meta.url)("fs"); const got = []; let why = "none";
    try { for (let i = 0; i < n; i++) got.push(fs.openSync(self, "r")); } catch (e) { why = e.name + ": " + e.message; }
    for (const fd of got) fs.closeSync(fd); return JSON.stringify({ count: got.length, why }); },
} };`,
};

Deno.test("handles: Node's descriptors (node:fs named, default, require, promises, streams) count against MaxHandles", async (t) => {
  await using h = await attackHost({ nodehog: nodeHog, requirehog: requireHog, other });
  const admin = await h.host.serveAdmin({ hostname: "127.0.0.1", port: 0 });
  const hog = h.plugin("nodehog");
  const before = fds();
  const routes = ["named", "default", "required", "builtin", "callback", "promises", "fsPromises", "stream"];
  await t.step("every route is refused at 256 with the budget named, and closing releases it", async () => {
    for (let round = 0; round < 2; round++) {
      for (const route of routes) {
        const r = counted(await hog.call("flood", route, 20_000));
        assert.ok(r.count <= 256 && r.count >= 250, `${route}: ${r.count}`);
        assert.match(r.why, /^BudgetExceeded: /, route);
        assert.match(r.why, BUDGET, route);
      }
    }
  });
  await t.step("a plugin that only requires node:fs is refused at 256 too", async () => {
    const r = counted(await h.plugin("requirehog").call("flood", 20_000));
    assert.equal(r.count, 256);
    assert.match(r.why, BUDGET);
  });
  await t.step("while it holds its budget the admin API answers and another plugin starts", async () => {
    const r = counted(await hog.call("hold", 20_000));
    assert.ok(r.count <= 256 && r.count >= 250, `${r.count}`);
    assert.match(r.why, BUDGET);
    assert.ok(fds() - before >= 240, `the plugin really holds the descriptors: ${fds() - before}`);
    assert.ok(fds() - before < 300, `held ${fds() - before}: no more than its budget`);
    const plugins = await (await fetch(`${admin.url}/plugins`)).json() as { id: string }[];
    assert.ok(plugins.some((p) => p.id === "nodehog"));
    await h.host.stopPlugin("other");
    await h.host.startPlugin("other");
    assert.equal(await h.plugin("other").call("ok"), "ok");
    await h.healthy({ nodehog: "Running" });
  });
  await t.step(
    "40,000 reads in flight are refused past the budget; the admin API answers during them",
    async () => {
      let peak = 0, answered = 0;
      const flood = hog.call("inflight", 20_000);
      let done = false;
      void flood.finally(() => done = true);
      while (!done) {
        peak = Math.max(peak, fds() - before);
        if ((await fetch(`${admin.url}/plugins`)).status === 200) answered++;
        assert.equal(await h.plugin("other").call("ok"), "ok");
      }
      const r = counted(await flood);
      assert.ok(answered > 0);
      assert.match(r.why, BUDGET);
      assert.ok(r.count >= 200, `${r.count} reads got through`); // the budget, less the runtime's own handles
      assert.ok(peak < 256 + HOST_FD_RESERVE, `peak ${peak} descriptors over the host's own`);
    },
  );
  await t.step("after it stops, the host's descriptor count is back", async () => {
    await h.host.stopPlugin("nodehog");
    const after = await pollUntil(fds, (n) => n <= before);
    assert.ok(after <= before, `${after} descriptors open, ${before} before the attack`);
  });
});
