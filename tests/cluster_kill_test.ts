// A host SIGKILLed under load (issue 21): three hosts, two of them processes serving the same Clusterable
// plugin, 64 callers on the third. The killed host's idempotent calls are retried on the survivor (0 lost),
// the others reject with HOST_LOST, and the survivor keeps serving.
import assert from "node:assert/strict";
import { join } from "node:path";
import { type PluginHost, PluginHostError } from "../mod.ts";
import { DENO_RUN, hostWith, type PluginSource, writePlugins } from "./_helpers.ts";
import { natsServerPath, startNats } from "./_nats.ts";

const kv: PluginSource = {
  manifest: { id: "fleet.kv", capabilities: ["Clusterable"], idempotent: ["get"] },
  code: `const me = crypto.randomUUID();
  export default { methods: {
    get: (ms) => new Promise((r) => setTimeout(() => r(me), ms)),
    put: (ms) => new Promise((r) => setTimeout(() => r(me), ms)),
  } };`,
};

async function spawnHost(nats: string, hostId: string, root: string): Promise<Deno.ChildProcess> {
  const pluginsDir = await writePlugins(join(root, hostId), { kv });
  const child = new Deno.Command(Deno.execPath(), {
    args: [...DENO_RUN, "tests/_fleet_host.ts", JSON.stringify({ nats, hostId, pluginsDir, name: "k" })],
    cwd: new URL("..", import.meta.url),
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`host ${hostId} ended before it was ready: ${out}`);
    out += value;
  }
  void (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  return child;
}

/** Resolves once `host` sees `count` hosts offering fleet.kv. */
function offeredBy(host: PluginHost, count: number): Promise<void> {
  return new Promise((resolve) => {
    const check = async () => {
      const hosts = await host.cluster!.hosts();
      const n = hosts.filter((h) =>
        !h.self && h.plugins.some((p) => p.id === "fleet.kv" && p.state === "Running")
      );
      if (n.length < count) return;
      off();
      resolve();
    };
    const off = host.on("fleet", () => void check());
    void check();
  });
}

Deno.test({
  name: "a host SIGKILLed under load: 0 lost idempotent calls, HOST_LOST for the others, the survivor serves",
  ignore: natsServerPath === undefined,
  async fn() {
    await using nats = await startNats();
    const root = await Deno.makeTempDir({ prefix: "dotcompute_fleet_" });
    await using caller = await hostWith(
      { other: { manifest: { id: "other" }, code: "export default {};" } },
      {
        Plugins: { Cluster: { Servers: [nats.url], Name: "k", HostId: "caller" } },
      },
    );
    await caller.host.start();
    const both = offeredBy(caller.host, 2);
    const [b, c] = await Promise.all([
      spawnHost(nats.url, "host-b", root),
      spawnHost(nats.url, "host-c", root),
    ]);
    try {
      await both;
      const results = {
        get: 0,
        put: 0,
        lostGets: 0,
        hostLost: 0,
        other: [] as string[],
        servers: new Set<string>(),
      };
      let running = true;
      const worker = async (i: number) => {
        while (running) {
          const method = i % 4 === 0 ? "put" : "get";
          const svc = caller.host.getService("fleet.kv");
          if (!svc) throw new Error("no host offers fleet.kv"); // host-c always does
          try {
            results.servers.add(await svc.call(method, 20) as string);
            results[method]++;
          } catch (e) {
            if (method === "get") results.lostGets++;
            if (e instanceof PluginHostError && e.code === "HOST_LOST") results.hostLost++;
            else results.other.push(String(e));
          }
        }
      };
      const workers = Array.from({ length: 64 }, (_, i) => worker(i));
      // Load on both hosts, then kill one.
      while (results.servers.size < 2) await new Promise((r) => setTimeout(r, 20));
      const before = results.get + results.put;
      // One long put surely in flight on host-b when it dies (the pick follows load: look until it is b).
      let onB = caller.host.getService("fleet.kv")!;
      for (let i = 0; i < 200 && onB.location !== "host-b"; i++) {
        await onB.call("get", 0).catch(() => {});
        onB = caller.host.getService("fleet.kv")!;
      }
      assert.equal(onB.location, "host-b");
      const longPut = onB.call("put", 60_000).then(
        () => "answered",
        (e) => e instanceof PluginHostError ? e.code : String(e),
      );
      b.kill("SIGKILL");
      await b.status;
      const lost = new Promise<void>((resolve) => {
        const off = caller.host.on("fleet", (e) => {
          if (e.hostId === "host-b" && e.change === "lost") off(), resolve();
        });
      });
      await lost;
      const atLoss = results.get + results.put;
      // The survivor keeps serving: 200 more calls after the loss.
      while (results.get + results.put < atLoss + 200) await new Promise((r) => setTimeout(r, 20));
      running = false;
      await Promise.all(workers);
      assert.ok(before > 0);
      assert.equal(results.lostGets, 0, `idempotent calls lost: ${results.other.join("; ")}`);
      assert.deepEqual(results.other, []);
      assert.equal(await longPut, "HOST_LOST", "a put in flight on the killed host");
      const hosts = await caller.host.cluster!.hosts();
      assert.deepEqual(hosts.map((h) => h.hostId), ["caller", "host-c"]);
    } finally {
      for (const child of [b, c]) {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
        await child.status;
      }
      await Deno.remove(root, { recursive: true });
    }
  },
});
