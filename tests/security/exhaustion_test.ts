// Resource limits the host survives, in the worker tier: a heap cap that ends only the plugin, and a plugin
// stuck in a busy loop that is ended after its call times out — after which the host still exits by itself.
import assert from "node:assert/strict";
import { join } from "node:path";
import { PluginCrashedError } from "../../mod.ts";
import { captureLogs, hostWith, type PluginSource, pollUntil } from "../_helpers.ts";

const hog: PluginSource = {
  manifest: { id: "hog" },
  code: `export default { methods: {
    ping: () => "pong",
    // Keeps ~2 GiB of small objects reachable: a heap cap must end it long before.
    eat() { const keep = []; for (let i = 0; i < 2 ** 31 / 64; i++) keep.push({ i, s: "x" + i }); return keep.length; },
    spin() { for (;;) {} },
  } };`,
};
const bystander: PluginSource = {
  manifest: { id: "bystander" },
  code: `export default { methods: { ping: () => "pong" } };`,
};

Deno.test("a plugin allocating 2 GiB under MaxMemoryMB 64 is stopped with reason memory; the rest answer", async () => {
  await using t = await hostWith({ hog, bystander }, {
    Plugins: { hog: { ResourceLimits: { MaxMemoryMB: 64 } } },
  }, { restartPolicy: false });
  await t.host.start();
  const p = t.host.getPlugin("hog")!;
  assert.equal(await p.call("ping"), "pong");
  const crashed = new Promise((resolve) => t.host.on("crash", resolve));
  await assert.rejects(p.call("eat"), PluginCrashedError);
  await crashed;
  assert.equal(p.state, "Failed");
  assert.equal(p.lastExit?.kind, "memory");
  assert.match(p.lastExit!.reason, /heap limit of 64 MiB/);
  assert.equal(await t.host.getPlugin("bystander")!.call("ping"), "pong");
  // And it can be started again.
  await t.host.startPlugin("hog");
  assert.equal(await p.call("ping"), "pong");
});

Deno.test("a spinning plugin is ended after its call times out, and the rest keep answering", async () => {
  await using t = await hostWith({ hog, bystander }, {
    Plugins: { hog: { ResourceLimits: { MaxMemoryMB: 128 } } },
  }, { restartPolicy: false });
  await t.host.start();
  const p = t.host.getPlugin("hog")!;
  const crashed = new Promise((resolve) => t.host.on("crash", resolve));
  await assert.rejects(
    p.request("spin", [], { timeoutMs: 300 }),
    (e: Error) => e.name === "CallTimeoutError",
  );
  await crashed;
  assert.equal(p.state, "Failed");
  assert.equal(p.lastExit?.kind, "timeout");
  assert.match(p.lastExit!.reason, /unresponsive/);
  assert.equal(await t.host.getPlugin("bystander")!.call("ping"), "pong");
});

Deno.test("after a plugin spun, the host still stops and its process exits by itself", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir());
  const dir = join(root, "plugins", "spinner");
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "plugin.jsonc"), '{ "id": "spinner", "name": "s", "version": "1.0.0" }');
  await Deno.writeTextFile(join(dir, "mod.ts"), "export default { methods: { spin() { for (;;) {} } } };");
  const script = join(root, "host.ts");
  await Deno.writeTextFile(
    script,
    `import { createPluginHost } from ${JSON.stringify(new URL("../../mod.ts", import.meta.url).href)};
     const host = await createPluginHost({ Plugins: { PluginsDirectory: ${
      JSON.stringify(join(root, "plugins"))
    },
       CallTimeout: 200, ResourceLimits: { MaxMemoryMB: 128 } } });
     await host.start();
     await host.getPlugin("spinner").call("spin").catch((e) => console.log("call:", e.name));
     await new Promise((r) => host.on("crash", r));
     await host.stop();
     console.log("stopped; state", host.getPlugin("spinner").state);`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--unstable-worker-options",
      "--no-prompt",
      "-A",
      "--config",
      new URL("../../deno.json", import.meta.url).pathname,
      script,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Bounded: a host that cannot exit is killed after 20 s and the test fails on its exit status.
  const guard = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const out = await child.output();
  clearTimeout(guard);
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.signal, null, `the host did not exit by itself: ${text}`);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(text, /call: CallTimeoutError/);
  assert.match(text, /stopped; state (Failed|Unloaded)/);
  await Deno.remove(root, { recursive: true });
});

const burner: PluginSource = {
  manifest: { id: "burner" },
  code: `export default { methods: {
    ping: () => "pong",
    burn(ms) { const end = performance.now() + ms; while (performance.now() < end) {} return ms; },
    spinLater() { setTimeout(() => { for (;;) {} }, 0); return "spinning soon"; },
  } };`,
};

/** Resolves once the plugin's usage report shows it over budget (polls the handle on each usage report). */
async function untilThrottled(p: { getMetrics(): { resources?: { throttled: boolean } } }): Promise<void> {
  while (!p.getMetrics().resources?.throttled) await new Promise((r) => setTimeout(r, 100));
}

Deno.test("MaxCpuPercent: a plugin over its budget is refused new calls (soft); the usage shows in its metrics", async () => {
  await using t = await hostWith({ burner, bystander }, {
    Plugins: { burner: { ResourceLimits: { MaxCpuPercent: 20 } } },
  });
  await t.host.start();
  const p = t.host.getPlugin("burner")!;
  for (let i = 0; i < 3; i++) await p.call("burn", 800);
  await untilThrottled(p);
  await assert.rejects(p.call("ping"), (e: Error & { code?: string }) => {
    assert.equal(e.code, "PLUGIN_OVERLOADED");
    assert.match(e.message, /over its CPU budget \(\d+% of one core over the last 10 s; MaxCpuPercent 20\)/);
    return true;
  });
  const r = p.getMetrics().resources!;
  assert.equal(r.maxCpuPercent, 20);
  assert.ok(r.cpuPercent > 20, `cpu ${r.cpuPercent}`);
  assert.ok((r.heapUsedBytes ?? 0) > 0);
  assert.ok((r.eventLoopLagMs ?? 0) > 10, `a plugin blocking its loop shows lag: ${r.eventLoopLagMs}`);
  assert.equal(p.state, "Running", "the soft action does not stop the plugin");
  assert.equal(await t.host.getPlugin("bystander")!.call("ping"), "pong");
});

Deno.test("MaxCpuPercent: a plugin whose event loop stops turning is ended with reason cpu (hard)", async () => {
  await using t = await hostWith({ burner, bystander }, {
    Plugins: { burner: { ResourceLimits: { MaxCpuPercent: 50 } } },
  });
  await t.host.start();
  const p = t.host.getPlugin("burner")!;
  const crashed = new Promise((resolve) => t.host.on("crash", resolve));
  assert.equal(await p.call("spinLater"), "spinning soon");
  await crashed;
  assert.equal(p.lastExit?.kind, "cpu");
  assert.match(p.lastExit!.reason, /blocked for over 5 s/);
  assert.equal(p.getMetrics().resources?.lastExitKind, "cpu");
  assert.equal(await t.host.getPlugin("bystander")!.call("ping"), "pong");
});

Deno.test("a timer storm (10,000 intervals at 0 ms) in one plugin leaves the host and the others answering", async () => {
  await using t = await hostWith(
    {
      storm: {
        manifest: { id: "storm" },
        code: `export default { methods: {
        ping: () => "pong",
        storm(n) { for (let i = 0; i < n; i++) setInterval(() => {}, 0); return n; },
        microtasks() { let n = 0; const spin = () => { if (++n < 1e6) queueMicrotask(spin); }; spin(); return n; },
      } };`,
      },
      bystander,
    },
    // Past the default MaxTimers (1024) a storm is refused (handles_test.ts); here it may have them all.
    { Plugins: { storm: { ResourceLimits: { MaxTimers: 20_000 } } } },
    { restartPolicy: false },
  );
  await t.host.start();
  const s = t.host.getPlugin("storm")!, b = t.host.getPlugin("bystander")!;
  assert.equal(await s.call("storm", 10_000), 10_000);
  for (let i = 0; i < 20; i++) assert.equal(await b.call("ping"), "pong");
  assert.equal(await s.call("ping"), "pong", "its own event loop still turns");
  assert.equal(await s.call("microtasks"), 1);
  assert.equal(await b.call("ping"), "pong");
  assert.equal(s.state, "Running");
  // Stopping the plugin ends its worker with every timer in it.
  await t.host.stopPlugin("storm");
  assert.equal(await b.call("ping"), "pong");
});

Deno.test("logs: a plugin flooding its log is held to its budget; the rest are dropped, counted and reported", async () => {
  await using logs = await captureLogs();
  // The flood runs inside a method (ctx.log), 20,000 records in one synchronous burst.
  const flooder: PluginSource = {
    manifest: { id: "flooder" },
    code: `let log;
    export default {
      initialize(ctx) { log = ctx.log; },
      methods: {
        ping: () => "pong",
        flood(n) { for (let i = 0; i < n; i++) log.info("flood {i}", { i }); return n; },
      },
    };`,
  };
  await using t = await hostWith({ flooder, bystander }, {}, { logRate: { perSecond: 100, burst: 500 } });
  await t.host.start();
  const p = t.host.getPlugin("flooder")!;
  assert.equal(await p.call("flood", 20_000), 20_000);
  assert.equal(await t.host.getPlugin("bystander")!.call("ping"), "pong");
  const passed = logs.records.filter((r) => /^flood \d+$/.test(r.message.join(""))).length;
  assert.ok(passed >= 500 && passed < 600, `${passed} records passed a budget of 500 at once, 100/s`);
  // Every record came before the answer, so the count is complete now; the warnings say it at most once a
  // second, the last one a second after the one before (not at some later usage report: an idle plugin has
  // none for minutes).
  assert.equal(p.getMetrics().logsDropped, 20_000 - passed);
  const reported = (): number =>
    logs.records
      .map((r) => /\(100\/s\): (\d+) records dropped/.exec(r.message.join(""))?.[1])
      .reduce((sum, n) => sum + Number(n ?? 0), 0);
  while (reported() < 20_000 - passed) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(reported(), 20_000 - passed);
  assert.equal(p.state, "Running");
});

Deno.test("MaxMemoryMB: ArrayBuffers count too: a plugin holding 256 MiB of them under a 64 MiB cap is ended", async () => {
  const hoarder: PluginSource = {
    manifest: { id: "hoarder" },
    code: `const keep = [];
      export default { methods: {
        ping: () => "pong",
        // Buffers outside the heap, touched so the pages are real: no heap cap sees them.
        hoard(mib) { for (let i = 0; i < mib; i++) keep.push(new Uint8Array(2 ** 20).fill(1)); return keep.length; },
      } };`,
  };
  await using t = await hostWith({ hoarder, bystander }, {
    Plugins: { hoarder: { ResourceLimits: { MaxMemoryMB: 64 } } },
  });
  await t.host.start();
  const p = t.host.getPlugin("hoarder")!;
  assert.equal(
    await p.call("hoard", 256),
    256,
    "the buffers were allocated (the heap cap did not stop them)",
  );
  // The next usage report (100 ms for a plugin with limits) shows them; poll the handle for the outcome.
  await pollUntil(() => p.getMetrics().resources?.lastExitKind, (kind) => kind === "memory");
  assert.equal(p.getMetrics().resources?.lastExitKind, "memory", `still ${p.state} after holding 256 MiB`);
  assert.match(
    p.lastError?.message ?? "",
    /heap and buffers reached \d+ MiB \(\d+ MiB of buffers\), over MaxMemoryMB 64/,
  );
  assert.equal(await t.host.getPlugin("bystander")!.call("ping"), "pong");
});

Deno.test("MaxMemoryMB: a plugin that sabotages its own usage reports before hoarding is still ended", async () => {
  // What the reports rest on, replaced first: the port's postMessage (reachable through workerData), timers,
  // the clock and the memory figures. The runtime took its own copies before the plugin loaded.
  const saboteur: PluginSource = {
    manifest: { id: "saboteur" },
    code: `import { workerData } from "node:worker_threads";
      const keep = [];
      export default { methods: {
        hoard(mib) {
          const port = workerData.port;
          const post = port.postMessage.bind(port);
          port.postMessage = (m, t) => m?.t === "usage" ? undefined : post(m, t);
          globalThis.postMessage = () => {};
          globalThis.setInterval = () => 0;
          performance.now = () => 0;
          Deno.memoryUsage = () => ({ rss: 0, heapTotal: 0, heapUsed: 0, external: 0 });
          for (let i = 0; i < mib; i++) keep.push(new Uint8Array(2 ** 20).fill(1));
          return keep.length;
        },
      } };`,
  };
  await using t = await hostWith({ saboteur, bystander }, {
    Plugins: { saboteur: { ResourceLimits: { MaxMemoryMB: 64 } } },
  });
  await t.host.start();
  const p = t.host.getPlugin("saboteur")!;
  assert.equal(await p.call("hoard", 256), 256);
  await pollUntil(() => p.getMetrics().resources?.lastExitKind, (kind) => kind === "memory");
  assert.equal(
    p.getMetrics().resources?.lastExitKind,
    "memory",
    `still ${p.state} after sabotage and 256 MiB`,
  );
  assert.equal(await t.host.getPlugin("bystander")!.call("ping"), "pong");
});
