// The fleet on NATS against a real nats-server started here (tests/_nats.ts), between two hosts in two processes
// (this one and a child, tests/_fleet_host.ts): a remote call's round trip against a raw NATS request/reply to
// the same child beside it, pipelined remote calls against raw pipelined requests, and a 1 MiB bundle from
// publish to Running on three hosts against the object store's own put and three reads.
import { join } from "node:path";
import { createPluginHost, generateKeyPair, type PluginHost, signPlugin, thumbprint } from "../mod.ts";
import { connect, Objm } from "../src/_npm/nats.ts";
import { connectFleet } from "../src/cluster/client.ts";
import { natsServerPath, startNats } from "../tests/_nats.ts";
import type { Row } from "./_row.ts";
import { CHILD_V8_FLAGS } from "./_scenarios_start.ts";
import { alternate, callsPerSecond, pairedRatio, perCallUs } from "./_stats.ts";

const quiet = { watchConfig: false, fallbackReport: false } as const;
const echo = `export default { methods: { echo: (x) => x } };`;

async function fleetHost(
  root: string,
  url: string,
  hostId: string,
  extra: Record<string, unknown> = {},
): Promise<PluginHost> {
  const dir = join(root, hostId);
  await Deno.mkdir(dir, { recursive: true });
  const host = await createPluginHost({
    Plugins: { PluginsDirectory: dir, Cluster: { Servers: [url], Name: "bench", HostId: hostId }, ...extra },
  }, quiet);
  await host.start();
  return host;
}

/** The calls and publish rows; none when nats-server is not installed (the rows say so). */
export async function fleetRows(
  sizes: { rounds: number; sequential: number; pipelined: number; depth: number },
  publishRounds: number,
): Promise<Row[]> {
  if (!natsServerPath) {
    console.error("fleet: skipped, nats-server is not installed (apt-get install nats-server)");
    return [];
  }
  await using nats = await startNats();
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_bench_fleet_" }));
  const hosts: PluginHost[] = [];
  // Host a in a process of its own, as a second machine's host would be; it also runs the raw responder.
  await Deno.mkdir(join(root, "a", "echo"), { recursive: true });
  await Deno.writeTextFile(join(root, "a", "echo", "mod.js"), echo);
  await Deno.writeTextFile(
    join(root, "a", "echo", "plugin.json"),
    JSON.stringify({
      id: "bench.echo",
      name: "echo",
      version: "1.0.0",
      entry: "mod.js",
      capabilities: ["Clusterable"],
    }),
  );
  const input = { nats: nats.url, hostId: "a", pluginsDir: join(root, "a"), name: "bench", raw: "bench.raw" };
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--unstable-worker-options",
      "--no-prompt",
      `--v8-flags=${CHILD_V8_FLAGS}`,
      "-A",
      new URL("../tests/_fleet_host.ts", import.meta.url).pathname,
      JSON.stringify(input),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    await ready(child);
    const b = await fleetHost(root, nats.url, "b");
    hosts.push(b);
    const offered = b.getService("bench.echo") ??
      await new Promise<ReturnType<PluginHost["getService"]>>((resolve) => {
        const off = b.on("fleet", () => {
          const s = b.getService("bench.echo");
          if (s) off(), resolve(s);
        });
      });
    const svc = offered!;
    if (svc.location !== "a") throw new Error(`fleet bench: bench.echo is at ${svc.location}, not host a`);
    // The baseline: a raw request/reply between two connections of this process, the same payload's bytes.
    const client = await connect({ servers: nats.url });
    const payload = { id: 42, values: [1, 2, 3, 4, 5, 6, 7, 8], name: "sample" };
    const bytes = new TextEncoder().encode(JSON.stringify(payload));
    const raw = () => client.request("bench.raw", bytes, { timeout: 5000 });
    const remote = () => svc.call("echo", payload);
    for (let i = 0; i < 200; i++) await Promise.all([raw(), remote()]); // JIT, connections, the worker
    const trip = await alternate(sizes.rounds, {
      raw: () => perCallUs(sizes.sequential, raw),
      remote: () => perCallUs(sizes.sequential, remote),
    });
    const flow = await alternate(Math.max(3, sizes.rounds >> 1), {
      raw: () => callsPerSecond(sizes.pipelined, sizes.depth, raw),
      remote: () => callsPerSecond(sizes.pipelined, sizes.depth, remote),
    });
    await client.close();
    const rows: Row[] = [
      {
        scenario: "fleet: remote call round trip (host b → plugin on host a)",
        unit: "µs/call",
        baseline: "raw NATS request/reply",
        baselineValue: trip.raw.median,
        subject: "getService(...).call",
        subjectValue: trip.remote.median,
        ratio: pairedRatio(trip.remote, trip.raw),
        target: { op: "<=", value: 1.3 },
      },
      {
        scenario: `fleet: pipelined remote calls, ${sizes.depth} in flight`,
        unit: "calls/s",
        baseline: "raw NATS requests",
        baselineValue: flow.raw.median,
        subject: "getService(...).call",
        subjectValue: flow.remote.median,
        ratio: pairedRatio(flow.remote, flow.raw),
        ok: flow.remote.median >= 20_000,
        note: `target ≥ 20,000 calls/s: ${flow.remote.median >= 20_000 ? "met" : "missed"}`,
      },
    ];
    rows.push(await publishRow(root, nats.url, publishRounds, hosts));
    return rows;
  } finally {
    await Promise.all(hosts.map((h) => h.stop()));
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

async function ready(child: Deno.ChildProcess): Promise<void> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`fleet bench: host a ended before it was ready: ${out}`);
    out += value;
  }
  reader.releaseLock();
}

/**
 * A signed bundle of 1 MiB (a random data file and a module), published with the CLI's client, Running on three
 * hosts with Bundles; against the store's own work: putting the same bytes and three readers fetching them.
 */
async function publishRow(root: string, url: string, rounds: number, keep: PluginHost[]): Promise<Row> {
  const keys = await generateKeyPair();
  const trusted = [await thumbprint(keys.publicKey)];
  const bundled = await Promise.all(
    ["p1", "p2", "p3"].map((id) =>
      fleetHost(root, url, id, {
        TrustedCertificateThumbprints: trusted,
        Cluster: { Servers: [url], Name: "bench", HostId: id, Bundles: true },
      })
    ),
  );
  keep.push(...bundled);
  await using fleet = await connectFleet([url], "bench");
  const nc = await connect({ servers: url });
  const store = await new Objm(nc).create("bench_raw");
  const data = new Uint8Array(1 << 20);
  for (let i = 0; i < data.length; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
  const readers = await Promise.all([0, 1, 2].map(() => connect({ servers: url })));
  let version = 0;
  const publish = async (): Promise<number> => {
    const v = `1.0.${version++}`;
    const dir = join(root, `bundle-${v}`);
    await Deno.mkdir(dir);
    await Deno.writeFile(join(dir, "weights.bin"), data);
    await Deno.writeTextFile(join(dir, "mod.js"), `export default { methods: { v: () => "${v}" } };`);
    await Deno.writeTextFile(
      join(dir, "plugin.json"),
      JSON.stringify({
        id: "bench.bundle",
        name: "bundle",
        version: v,
        entry: "mod.js",
        capabilities: ["HotReloadable"],
      }),
    );
    await signPlugin(dir, keys);
    const running = bundled.map((h) =>
      new Promise<void>((resolve) => {
        const off = h.on("bundle", (e) => {
          if (e.id === "bench.bundle" && e.version === v && e.outcome !== "held") off(), resolve();
        });
      })
    );
    const t0 = performance.now();
    await fleet.publish(dir);
    await Promise.all(running);
    const ms = performance.now() - t0;
    for (const h of bundled) {
      if (await h.getPlugin("bench.bundle")?.call("v") !== v) {
        throw new Error(`fleet bench: ${v} is not running`);
      }
    }
    return ms;
  };
  const rawPut = async (): Promise<number> => {
    const name = crypto.randomUUID();
    const t0 = performance.now();
    await store.putBlob({ name }, data);
    await Promise.all(readers.map(async (r) => (await new Objm(r).open("bench_raw")).getBlob(name)));
    return performance.now() - t0;
  };
  await publish(); // the first install starts Workers from nothing; the rounds measure new versions
  const m = await alternate(rounds, { raw: rawPut, publish });
  await Promise.all(readers.map((r) => r.close()));
  await nc.close();
  return {
    scenario: "fleet: publish a 1 MiB bundle → Running on three hosts",
    unit: "ms",
    baseline: "object store put + 3 reads",
    baselineValue: m.raw.median,
    subject: "publish → 3× Running",
    subjectValue: m.publish.median,
    ratio: pairedRatio(m.publish, m.raw),
    ok: Math.max(...m.publish.samples) <= 2000,
    note: `target ≤ 2,000 ms: slowest round ${Math.round(Math.max(...m.publish.samples))} ms`,
  };
}
