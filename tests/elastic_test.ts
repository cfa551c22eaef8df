// Elastic plugins against real Workers: replicas (a killed one restarts alone, its calls REPLICA_LOST or retried),
// the concurrency cap's queue, lazy activation, idle stop and restart, a soft memory limit, and Replicas refused
// for a plugin that does not declare Scalable.
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createPluginHost,
  type HealEvent,
  parseConfig,
  PluginHostError,
  type ShutdownEvent,
} from "../mod.ts";
import { renderPrometheus } from "../src/admin/_prometheus.ts";
import { captureLogs, hostWith, type PluginSource, writePlugins } from "./_helpers.ts";

const pool: PluginSource = {
  manifest: { id: "pool", capabilities: ["Scalable"], idempotent: ["get"] },
  code: `const worker = crypto.randomUUID();
    const keep = [];
    export default {
      retiring(reason, ctx) { ctx.log.info("retiring: " + reason); },
      methods: {
        who: () => worker,
        hold: (ms) => new Promise((r) => setTimeout(() => r(worker), ms)),
        get: (ms) => new Promise((r) => setTimeout(() => r(worker), ms)),
        dieSoon(ms) { setTimeout(() => Deno.exit(3), ms); return new Promise(() => {}); },
        grow(mb) { keep.push(new Uint8Array(mb * 2 ** 20).fill(1)); return worker; },
      },
    };`,
};

/** The next event of `name` that `match` accepts. */
function next<T>(
  host: { on(name: string, l: (e: T) => void): () => void },
  name: string,
  match: (e: T) => boolean = () => true,
): Promise<T> {
  return new Promise((resolve) => {
    const off = host.on(name, (e: T) => {
      if (!match(e)) return;
      off();
      resolve(e);
    });
  });
}

Deno.test("a killed replica restarts alone: its call is REPLICA_LOST, an idempotent one is retried", async () => {
  await using t = await hostWith({ pool }, { Plugins: { pool: { Replicas: 2 } } });
  await t.host.start();
  const p = t.host.getPlugin("pool")!;
  assert.equal(p.getMetrics().replicas?.length, 2);
  const lost = next<ShutdownEvent>(t.host as never, "shutdown", (e) => e.reason === "crash");
  const healed = next<HealEvent>(t.host as never, "heal", (e) => e.action === "restarted");
  // Least in flight, ties to the lower slot: dieSoon and get land on replica 0, hold on replica 1.
  const dying = p.call("dieSoon", 300);
  const held = p.call("hold", 600) as Promise<string>;
  const retried = p.call("get", 1000) as Promise<string>;
  await assert.rejects(dying, (e) => e instanceof PluginHostError && e.code === "REPLICA_LOST");
  const other = await held;
  assert.equal(await retried, other, "the idempotent call was answered by the replica that lived");
  assert.equal((await lost).replica, 0);
  const heal = await healed;
  assert.equal(heal.replica, 0);
  assert.equal(p.state, "Running", "the plugin never stopped serving");
  const replicas = p.getMetrics().replicas!;
  assert.deepEqual(replicas.map((r) => [r.index, r.restarts]), [[0, 1], [1, 0]]);
  const answers = new Set(await Promise.all([p.call("hold", 50), p.call("hold", 50)]));
  assert.equal(answers.size, 2, "both replicas serve again");
  assert.ok(answers.has(other));
  assert.equal(p.getMetrics().shutdowns?.crash, 1);
});

Deno.test("MaxConcurrency queues calls; one that waits past QueueTimeout rejects with QUEUE_TIMEOUT", async () => {
  await using t = await hostWith({ pool }, { Plugins: { pool: { MaxConcurrency: 1, QueueTimeout: 200 } } });
  await t.host.start();
  const p = t.host.getPlugin("pool")!;
  const first = p.call("hold", 800);
  const t0 = performance.now();
  await assert.rejects(p.call("who"), (e) => e instanceof PluginHostError && e.code === "QUEUE_TIMEOUT");
  const waited = performance.now() - t0;
  assert.ok(waited >= 190 && waited < 700, `waited ${waited} ms`);
  await first;
  const queue = p.getMetrics().queue!;
  assert.equal(queue.timeouts, 1);
  assert.equal(queue.length, 0);
  // With room again, a queued call goes in as soon as the one ahead of it ends.
  const [a, b] = [p.call("hold", 100), p.call("who")];
  assert.equal(await b, await a);
  assert.equal(p.getMetrics().queue!.queued, 2);
  assert.equal(p.getMetrics().inFlight, 0);
});

Deno.test("IdleTimeout stops a plugin (reason idle, worker ended) and the next call starts it again", async () => {
  await using t = await hostWith({ pool }, { Plugins: { pool: { IdleTimeout: 300 } } });
  await t.host.start();
  const p = t.host.getPlugin("pool")!;
  const idle = next<ShutdownEvent>(t.host as never, "shutdown");
  const before = await p.call("who");
  assert.equal((await idle).reason, "idle");
  assert.equal(p.state, "Stopped");
  assert.equal(p.dormant, "idle");
  assert.equal(p.lastShutdown?.reason, "idle");
  const after = await p.call("who");
  assert.notEqual(after, before, "a fresh worker answered");
  assert.equal(p.state, "Running");
  assert.equal(p.dormant, undefined);
});

Deno.test("Activation lazy: Loaded with no worker until the first call", async () => {
  await using t = await hostWith({ pool }, { Plugins: { Activation: "lazy" } });
  await t.host.start();
  const p = t.host.getPlugin("pool")!;
  assert.equal(p.state, "Loaded");
  assert.equal(p.dormant, "lazy");
  assert.deepEqual(p.methods, [], "nothing loaded yet");
  assert.equal(typeof await p.call("who"), "string");
  assert.equal(p.state, "Running");
  assert.equal(p.dormant, undefined);
});

Deno.test("a soft memory limit retires the instance: its call in flight finishes, a fresh one takes new calls", async () => {
  await using logs = await captureLogs();
  await using t = await hostWith({ pool }, { Plugins: { pool: { ResourceLimits: { SoftMemoryMB: 48 } } } });
  await t.host.start();
  const p = t.host.getPlugin("pool")!;
  const retired = next<ShutdownEvent>(t.host as never, "shutdown");
  const old = await p.call("who");
  const inFlight = p.call("hold", 1500);
  await p.call("grow", 64);
  const event = await retired;
  assert.equal(event.reason, "retired:memory");
  assert.match(event.detail ?? "", /SoftMemoryMB 48/);
  assert.equal(await inFlight, old, "the old instance finished its call");
  const fresh = await p.call("who");
  assert.notEqual(fresh, old);
  assert.equal(p.state, "Running");
  assert.equal(p.getMetrics().errors, 0);
  assert.ok(logs.records.some((r) => String(r.message.join("")).includes("retiring: retired:memory")));
});

Deno.test("Replicas for a plugin that does not declare Scalable: a located config error, the others run", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_test_" }));
  try {
    const dir = await writePlugins(root, {
      plain: { manifest: { id: "plain" }, code: `export default { methods: { hi: () => "hi" } };` },
      pool,
    });
    const file = join(root, "host.jsonc");
    await Deno.writeTextFile(
      file,
      `{\n  "Plugins": {\n    "PluginsDirectory": ${
        JSON.stringify(dir)
      },\n    "plain": {\n      "Replicas": 2\n    },\n` +
        `    "pool": { "Replicas": 2 }\n  }\n}\n`,
    );
    const host = await createPluginHost(file);
    await host.start();
    try {
      const failure = host.getDiscoveryFailures().find((f) => f.id === "plain");
      assert.ok(failure, "plain was refused");
      assert.ok(failure.message.includes(`${file}:5:7`), failure.message);
      assert.match(failure.message, /Scalable/);
      assert.equal(host.getPlugin("plain"), undefined);
      assert.equal(host.getPlugin("pool")!.state, "Running");
      assert.equal(host.getPlugin("pool")!.getMetrics().replicas?.length, 2);
    } finally {
      await host.stop();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** Keeps `depth` calls to `hold(5)` in flight until `until` settles; counts answers and failures. */
async function underLoad(
  call: () => Promise<unknown>,
  until: Promise<unknown>,
  depth = 64,
): Promise<{ ok: number; failed: Error[] }> {
  let done = false, ok = 0;
  const failed: Error[] = [];
  const finished = until.finally(() => done = true);
  const lane = async (): Promise<void> => {
    while (!done) {
      try {
        await call();
        ok++;
      } catch (e) {
        failed.push(e as Error);
      }
    }
  };
  await Promise.all([finished, ...Array.from({ length: depth }, lane)]);
  return { ok, failed };
}

Deno.test("a reload rolls 4 replicas one at a time under 64 calls in flight: 0 failed", async () => {
  const hot = { ...pool, manifest: { ...pool.manifest, capabilities: ["Scalable", "HotReloadable"] } };
  await using t = await hostWith({ pool: hot }, { Plugins: { pool: { Replicas: 4 } } });
  await t.host.start();
  const p = t.host.getPlugin("pool")!;
  const reloads: ShutdownEvent[] = [];
  t.host.on("shutdown", (e) => void (e.reason === "reload" && reloads.push(e)));
  const before = new Set(await Promise.all([1, 2, 3, 4].map(() => p.call("hold", 30))));
  assert.equal(before.size, 4);
  const manifest = join(p.dir, "plugin.jsonc");
  await Deno.writeTextFile(manifest, JSON.stringify({ ...hot.manifest, name: "pool", version: "1.1.0" }));
  const { ok, failed } = await underLoad(() => p.call("hold", 5), t.host.reload("pool"));
  assert.deepEqual(failed.map((e) => e.message), []);
  assert.ok(ok > 64, `${ok} calls answered`);
  assert.equal(p.version, "1.1.0");
  assert.deepEqual(reloads.map((e) => e.replica).sort(), [0, 1, 2, 3], "each replica replaced once");
  const after = new Set(await Promise.all([1, 2, 3, 4].map(() => p.call("hold", 30))));
  assert.equal(after.size, 4);
  assert.equal([...after].filter((w) => before.has(w)).length, 0, "every replica is a fresh worker");
});

Deno.test("MaxLifetime retires and replaces an instance under 64 calls in flight: 0 failed", async () => {
  await using t = await hostWith({ pool }, { Plugins: { pool: { ResourceLimits: { MaxLifetime: 400 } } } });
  await t.host.start();
  const p = t.host.getPlugin("pool")!;
  const retired = next<ShutdownEvent>(t.host as never, "shutdown", (e) => e.reason === "retired:lifetime");
  const { ok, failed } = await underLoad(() => p.call("hold", 5), retired);
  assert.deepEqual(failed.map((e) => e.message), []);
  assert.ok(ok > 64, `${ok} calls answered`);
  assert.equal(p.state, "Running");
});

Deno.test("a lazy plugin starts for its dependent's start, and for the getService that picks it", async () => {
  const kv: PluginSource = {
    manifest: { id: "kv", provides: { "kv.store": "1.0.0" } },
    code: `export default { methods: { get: () => 42 } };`,
  };
  const app: PluginSource = {
    manifest: { id: "app", dependencies: { kv: "^1.0.0" } },
    code: `export default { methods: { read: () => 1 } };`,
  };
  const lone: PluginSource = {
    manifest: { id: "lone", provides: { "lone.svc": "2.0.0" } },
    code: `export default { methods: { hi: () => "hi" } };`,
  };
  await using t = await hostWith({ kv, app, lone }, {
    Plugins: { kv: { Activation: "lazy" }, lone: { Activation: "lazy" } },
  });
  await t.host.start();
  assert.equal(t.host.getPlugin("kv")!.state, "Running", "app's start started it");
  assert.equal(t.host.getPlugin("app")!.state, "Running");
  const lonely = t.host.getPlugin("lone")!;
  assert.equal(lonely.state, "Loaded");
  const running = next<{ id: string; to: string }>(
    t.host as never,
    "state",
    (e) => e.id === "lone" && e.to === "Running",
  );
  const svc = t.host.getService("lone.svc", "^2.0.0");
  assert.equal(svc?.id, "lone");
  await running; // the lookup itself started it, before any call
  assert.equal(await svc!.call("hi"), "hi");
});

Deno.test("replicas in the process tier are processes of their own; Prometheus shows them", async () => {
  const proc: PluginSource = {
    manifest: { id: "proc", capabilities: ["Scalable"] },
    code:
      `export default { methods: { pid: () => new Promise((r) => setTimeout(() => r(Deno.pid), 100)) } };`,
  };
  await using t = await hostWith({ proc }, { Plugins: { proc: { Isolation: "process", Replicas: 2 } } });
  await t.host.start();
  const p = t.host.getPlugin("proc")!;
  const pids = new Set(await Promise.all([p.call("pid"), p.call("pid")]));
  assert.equal(pids.size, 2);
  assert.ok(!pids.has(Deno.pid));
  const text = renderPrometheus(t.host);
  assert.match(text, /^dotcompute_plugin_replicas\{plugin="proc",state="serving"\} 2$/m);
  assert.match(text, /^dotcompute_plugin_replica_restarts_total\{plugin="proc",replica="1"\} 0$/m);
});

Deno.test("the README's Elastic plugins example is a valid configuration that means what it says", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const section = readme.slice(readme.indexOf("## Elastic plugins"));
  const text = section.slice(
    section.indexOf("```jsonc") + 8,
    section.indexOf("```", section.indexOf("```jsonc") + 8),
  );
  const { config } = parseConfig(text, "README.md");
  assert.equal(config.activation, "lazy");
  const block = config.plugins["dotcompute.compute"];
  assert.deepEqual(
    [block.replicas, block.maxConcurrency, block.queueTimeoutMs, block.idleTimeoutMs],
    [2, 8, 2000, 600_000],
  );
  assert.deepEqual(block.resourceLimits, { softMemoryMB: 512, maxLifetimeMs: 86_400_000 });
});

Deno.test("a soft CPU limit retires a busy instance for a fresh one; no call fails", async () => {
  const busy: PluginSource = {
    manifest: { id: "busy" },
    code: `const worker = crypto.randomUUID();
      export default { methods: {
        who: () => worker,
        burn(ms) { const end = performance.now() + ms; while (performance.now() < end); return worker; },
      } };`,
  };
  await using t = await hostWith({ busy }, { Plugins: { busy: { ResourceLimits: { SoftCpuPercent: 25 } } } });
  await t.host.start();
  const p = t.host.getPlugin("busy")!;
  const retired = next<ShutdownEvent>(t.host as never, "shutdown", (e) => e.reason === "retired:cpu");
  const old = await p.call("who");
  // Short calls back to back: their run time counts, not only the usage ticks' lateness (which misses them).
  const { failed } = await underLoad(() => p.call("burn", 50), retired, 1);
  assert.deepEqual(failed.map((e) => e.message), []);
  assert.match((await retired).detail ?? "", /SoftCpuPercent 25/);
  assert.notEqual(await p.call("who"), old);
});

Deno.test("IdleTimeout on replicas: every replica ends (reason idle), the next call starts them all again", async () => {
  await using t = await hostWith({ pool }, { Plugins: { pool: { Replicas: 2, IdleTimeout: 300 } } });
  await t.host.start();
  const p = t.host.getPlugin("pool")!;
  const idle: ShutdownEvent[] = [];
  const both = new Promise<void>((resolve) =>
    t.host.on("shutdown", (e) => void (e.reason === "idle" && idle.push(e) === 2 && resolve()))
  );
  // The plugin is dormant once it is Stopped, which may come after the last replica's shutdown event.
  const stopped = new Promise<void>((resolve) =>
    t.host.on("state", (e) => void (e.id === "pool" && e.to === "Stopped" && resolve()))
  );
  const before = new Set(await Promise.all([p.call("hold", 30), p.call("hold", 30)]));
  await Promise.all([both, stopped]);
  assert.deepEqual(idle.map((e) => e.replica).sort(), [0, 1]);
  assert.equal(p.dormant, "idle");
  const after = new Set(await Promise.all([p.call("hold", 30), p.call("hold", 30)]));
  assert.equal(after.size, 2);
  assert.equal([...after].filter((w) => before.has(w)).length, 0);
  assert.equal(p.getMetrics().replicas?.length, 2);
});
