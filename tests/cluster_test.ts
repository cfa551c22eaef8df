// The fleet on NATS against a real nats-server (tests/_nats.ts) and real hosts: a Clusterable plugin on one
// host answers getService calls from two others (buffers included), the fleet's view, what is not offered,
// malformed messages from NATS, a host that leaves, and a server restart.
import assert from "node:assert/strict";
import { type FleetEvent, type PluginHost, PluginHostError } from "../mod.ts";
import { encodeFrame } from "../src/cluster/_codec.ts";
import { connect } from "../src/_npm/nats.ts";
import { hostWith, type PluginSource } from "./_helpers.ts";
import { natsServerPath, startNats } from "./_nats.ts";

const vector: PluginSource = {
  manifest: {
    id: "vector.math",
    capabilities: ["Clusterable"],
    provides: { "compute.vector": "1.2.0" },
    idempotent: ["sum"],
  },
  code: `export default { methods: {
    sum: (xs) => xs.reduce((a, b) => a + b, 0),
    scale: (v, k) => v.map((x) => x * k),
    where: () => Deno.pid,
    fail: () => { throw new RangeError("out of range"); },
  } };`,
};
const hidden: PluginSource = {
  manifest: { id: "local.only", provides: { "compute.hidden": "1.0.0" } },
  code: "export default { methods: { hi: () => 1 } };",
};

const other: PluginSource = { manifest: { id: "other.local" }, code: "export default {};" };

const cluster = (url: string, hostId: string, name = "t") => ({
  Plugins: { Cluster: { Servers: [url], Name: name, HostId: hostId } },
});

/** Resolves once `host` sees the fleet offer `name` (a fleet event, checked at each one). */
function offered(host: PluginHost, name: string): Promise<void> {
  return new Promise((resolve) => {
    if (host.getService(name)) return resolve();
    const off = host.on("fleet", () => {
      if (!host.getService(name)) return;
      off();
      resolve();
    });
  });
}
function fleetEvent(host: PluginHost, match: (e: FleetEvent) => boolean): Promise<FleetEvent> {
  return new Promise((resolve) => {
    const off = host.on("fleet", (e) => {
      if (!match(e)) return;
      off();
      resolve(e);
    });
  });
}

Deno.test({
  name: "three hosts: a Clusterable plugin on one answers getService calls from the other two",
  ignore: natsServerPath === undefined,
  async fn() {
    await using nats = await startNats();
    await using a = await hostWith({ vector, hidden }, cluster(nats.url, "host-a"));
    await using b = await hostWith({ other }, cluster(nats.url, "host-b"));
    await using c = await hostWith({ other }, cluster(nats.url, "host-c"));
    const seen = Promise.all([offered(b.host, "compute.vector"), offered(c.host, "compute.vector")]);
    await Promise.all([a.host.start(), b.host.start(), c.host.start()]);
    await seen;

    for (const h of [b.host, c.host]) {
      const svc = h.getService("compute.vector", "^1.0.0")!;
      assert.equal(svc.location, "host-a");
      assert.equal(svc.id, "vector.math");
      assert.equal(svc.version, "1.2.0");
      assert.equal(svc.plugin, undefined);
      assert.equal(await svc.call("sum", [1, 2, 3]), 6);
      // Buffers cross as bytes and come back as the same kind.
      const scaled = await svc.call("scale", new Float32Array([1, 2, 3]), 2);
      assert.ok(scaled instanceof Float32Array);
      assert.deepEqual([...scaled as Float32Array], [2, 4, 6]);
      // The plugin's own error, with its class.
      await assert.rejects(
        svc.call("fail"),
        (e: Error) => e instanceof RangeError && /out of range/.test(e.message),
      );
      await assert.rejects(
        svc.call("nope"),
        (e: unknown) => e instanceof PluginHostError && e.code === "METHOD_NOT_FOUND",
      );
    }
    // Local first: host-a's own lookup is its plugin.
    assert.equal(a.host.getService("compute.vector")!.location, "local");
    // A plugin that does not declare Clusterable is not offered; a range nobody meets finds nothing.
    assert.equal(b.host.getService("compute.hidden"), undefined);
    assert.equal(b.host.getService("compute.vector", "^2.0.0"), undefined);

    // The admin API of host-b: the fleet, and a call to the plugin host-a runs.
    await using admin = await b.host.serveAdmin({ hostname: "127.0.0.1", port: 0 });
    const view = await (await fetch(`${admin.url}/cluster`)).json();
    assert.deepEqual([view.hostId, view.hosts.map((h: { hostId: string }) => h.hostId)], [
      "host-b",
      ["host-b", "host-a", "host-c"],
    ]);
    const res = await fetch(`${admin.url}/plugins/vector.math/call/sum`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "[[1, 2, 3, 4]]",
    });
    assert.deepEqual([res.status, await res.json()], [200, { result: 10 }]);

    const hosts = await b.host.cluster!.hosts();
    assert.deepEqual(hosts.map((h) => [h.hostId, h.self]), [["host-b", true], ["host-a", false], [
      "host-c",
      false,
    ]]);
    assert.deepEqual(
      hosts[1].plugins.map((p) => [p.id, p.state]).sort(),
      [["local.only", "Running"], ["vector.math", "Running"]],
    );
  },
});

Deno.test({
  name: "messages from NATS are untrusted: malformed calls and beats are refused, the host keeps serving",
  ignore: natsServerPath === undefined,
  async fn() {
    await using nats = await startNats();
    await using a = await hostWith({ vector, hidden }, cluster(nats.url, "host-a"));
    await using b = await hostWith({ other }, cluster(nats.url, "host-b"));
    const seen = offered(b.host, "compute.vector");
    await Promise.all([a.host.start(), b.host.start()]);
    await seen;
    const nc = await connect({ servers: nats.url });
    try {
      const ask = async (bytes: Uint8Array) => {
        const reply = await nc.request("dc.t.call.host-a", bytes, { timeout: 5000 });
        return new TextDecoder().decode(reply.data.subarray(7));
      };
      assert.match(await ask(new Uint8Array([1, 2, 3])), /bad magic.*PROTOCOL_ERROR/);
      assert.match(
        await ask(encodeFrame({ v: 1, caller: "x", plugin: "vector.math", method: "sum" })),
        /args.{0,3} must be an array/,
      );
      assert.match(await ask(encodeFrame({ v: 2 })), /v.{0,3} must be 1/);
      const call = { v: 1, caller: "x", method: "hi", args: [], timeoutMs: 1000 };
      // Not Clusterable: not reachable from the fleet even by a well-formed request.
      assert.match(await ask(encodeFrame({ ...call, plugin: "local.only" })), /PLUGIN_NOT_FOUND/);
      // A header that lies about its length, a buffer past the end.
      const lying = encodeFrame({ v: 1 });
      new DataView(lying.buffer).setUint32(3, 1 << 30);
      assert.match(await ask(lying), /claims/);
      const past = new TextEncoder().encode(
        JSON.stringify({
          ...call,
          plugin: "vector.math",
          method: "sum",
          args: [{ "\u0000": "buf", t: "Uint8Array", o: 0, n: 99 }],
        }),
      );
      const frame = new Uint8Array(7 + past.length);
      frame.set([0x44, 0x43, 1]);
      new DataView(frame.buffer).setUint32(3, past.length);
      frame.set(past, 7);
      assert.match(await ask(frame), /past the message's end/);
      // Beats: garbage and a forged beat with a bad field are ignored; the real offer stays.
      nc.publish("dc.t.beat", new Uint8Array([9, 9, 9]));
      nc.publish("dc.t.beat", encodeFrame({ v: 1, hostId: "evil", seq: 1, plugins: [{ id: "x" }] }));
      await nc.flush();
      assert.equal(await b.host.getService("compute.vector")!.call("sum", [2, 3]), 5);
      assert.ok(!(await b.host.cluster!.hosts()).some((h) => h.hostId === "evil"));
    } finally {
      await nc.close();
    }
  },
});

Deno.test({
  name: "a host that stops leaves the fleet at once; a server restart: hosts reconnect and offer again",
  ignore: natsServerPath === undefined,
  async fn() {
    await using nats = await startNats();
    const a = await hostWith({ vector }, cluster(nats.url, "host-a"));
    await using b = await hostWith({ other }, cluster(nats.url, "host-b"));
    const seen = offered(b.host, "compute.vector");
    await Promise.all([a.host.start(), b.host.start()]);
    await seen;
    const left = fleetEvent(b.host, (e) => e.hostId === "host-a" && e.change === "left");
    await a[Symbol.asyncDispose]();
    await left;
    assert.equal(b.host.getService("compute.vector"), undefined);

    await using a2 = await hostWith({ vector }, cluster(nats.url, "host-a"));
    const again = offered(b.host, "compute.vector");
    await a2.host.start();
    await again;
    await nats.restart(true);
    // After the restart both hosts reconnect by themselves and beat again; the call goes through.
    const svc = b.host.getService("compute.vector")!;
    // A call made while they reconnect may be lost with the old connection: it times out (500 ms here).
    let answer: unknown;
    for (let i = 0; i < 40 && answer === undefined; i++) {
      answer = await svc.request("sum", [[4, 5]], { timeoutMs: 500 }).catch((e) => {
        if (!(e instanceof PluginHostError)) throw e;
      });
    }
    assert.equal(answer, 9);
  },
});

Deno.test("Plugins.Cluster: defaults, any spelling, and located errors for bad values", async () => {
  const { parseConfig, ConfigError } = await import("../mod.ts");
  const ok = parseConfig(
    '{ "plugins": { "cluster": { "hostid": "box-1", "BUNDLES": "true" } } }',
    "/srv/h.jsonc",
  );
  assert.deepEqual(ok.config.cluster, {
    servers: ["nats://127.0.0.1:4222"],
    name: "dotcompute",
    hostId: "box-1",
    bundles: true,
  });
  assert.equal(parseConfig("{}", "/srv/h.jsonc").config.cluster, undefined);
  const text = `{
  "Plugins": {
    "Cluster": {
      "Servers": ["nats://a b"],
      "HostId": "box.1",
      "Clusterr": 1
    }
  }
}`;
  try {
    parseConfig(text, "/srv/h.jsonc");
    assert.fail("accepted");
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    const found = e.diagnostics.map((d) => `${d.line}:${d.column} ${d.field}: ${d.message}`);
    assert.deepEqual(found, [
      '4:19 Plugins.Cluster.Servers.0: must be a NATS server URL ("nats://127.0.0.1:4222") or "host:port"',
      '5:17 Plugins.Cluster.HostId: must be 1 to 64 letters, digits, "_" or "-"',
    ]);
  }
});

Deno.test({
  name:
    "a dependency satisfied by the fleet: the dependent starts, and ctx.plugins.call reaches the other host",
  ignore: natsServerPath === undefined,
  async fn() {
    await using nats = await startNats();
    const app: PluginSource = {
      manifest: { id: "app.uses", dependencies: { "compute.vector": "^1.0.0" } },
      code: `export default { methods: {
        total: async (xs) => {
          const svc = await globalThis.ctx.plugins.getService("compute.vector");
          return { id: svc.id, sum: await svc.call("sum", xs), direct: await globalThis.ctx.plugins.call("vector.math", "sum", xs) };
        },
        sneak: () => globalThis.ctx.plugins.call("local.only", "hi"),
      }, start: (ctx) => { globalThis.ctx = ctx; } };`,
    };
    const rogue: PluginSource = {
      manifest: { id: "rogue.caller" },
      code:
        `export default { methods: { steal: () => globalThis.ctx.plugins.call("vector.math", "sum", [1]) },
        start: (ctx) => { globalThis.ctx = ctx; } };`,
    };
    await using a = await hostWith({ vector, hidden }, cluster(nats.url, "dep-a", "d"));
    await a.host.start();
    await using b = await hostWith({ app, rogue }, cluster(nats.url, "dep-b", "d"));
    await b.host.start();
    // host-b learnt the fleet when it joined: the dependency was there before its plugins started.
    const uses = b.host.getPlugin("app.uses")!;
    assert.equal(uses.state, "Running");
    assert.deepEqual(await uses.call("total", [1, 2, 3]), { id: "vector.math", sum: 6, direct: 6 });
    // The rule holds across hosts: a plugin that declares nothing may not call the remote one.
    await assert.rejects(b.host.getPlugin("rogue.caller")!.call("steal"), /may not call "vector\.math"/);
    await assert.rejects(uses.call("sneak"), /may not call "local\.only"/);
  },
});

Deno.test({
  name: "a dependency the fleet offers later: the dependent waits, then starts when the other host offers it",
  ignore: natsServerPath === undefined,
  async fn() {
    await using nats = await startNats();
    const app: PluginSource = {
      manifest: { id: "app.waits", dependencies: { "compute.vector": "^1.0.0" } },
      code: "export default {};",
    };
    await using b = await hostWith({ app }, cluster(nats.url, "late-b", "l"));
    await b.host.start();
    const waiting = b.host.getPlugin("app.waits")!;
    assert.equal(waiting.state, "Failed");
    assert.match(waiting.lastError!.message, /compute\.vector/);
    const running = new Promise<void>((resolve) => {
      const off = b.host.on("state", (c) => {
        if (c.id === "app.waits" && c.to === "Running") off(), resolve();
      });
    });
    await using a = await hostWith({ vector }, cluster(nats.url, "late-a", "l"));
    await a.host.start();
    await running;
  },
});

Deno.test({
  name: "payloads over the servers' max_payload cross through the spill bucket, both ways, and are deleted",
  ignore: natsServerPath === undefined,
  async fn() {
    await using nats = await startNats();
    await using a = await hostWith({ vector }, cluster(nats.url, "big-a", "big"));
    await using b = await hostWith({ other }, cluster(nats.url, "big-b", "big"));
    const seen = offered(b.host, "compute.vector");
    await Promise.all([a.host.start(), b.host.start()]);
    await seen;
    const svc = b.host.getService("compute.vector")!;
    const input = new Float32Array(768 * 1024).map((_, i) => i % 1000); // 3 MiB, over the 1 MiB default
    const out = await svc.call("scale", input, 2) as Float32Array;
    assert.ok(out instanceof Float32Array);
    assert.equal(out.length, input.length);
    assert.deepEqual([out[0], out[999], out[1000], out.at(-1)], [
      0,
      1998,
      0,
      2 * ((input.length - 1) % 1000),
    ]);
    // Small calls still go as one message, and the spilled frames do not stay behind.
    assert.equal(await svc.call("sum", [1, 2]), 3);
    const { Objm } = await import("../src/_npm/nats.ts");
    const nc = await connect({ servers: nats.url });
    const store = await new Objm(nc).open("dc_big_spill");
    assert.deepEqual((await store.list()).filter((o) => !o.deleted), []);
    await nc.close();
  },
});
