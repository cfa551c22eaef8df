// A fleet of three hosts on one machine (README "A fleet on NATS"): `npx -y deno@2.9.6 task fleet`.
//
// It starts Debian's nats-server (JetStream in a temp folder, a free port), three hosts with the CLI's `run`,
// each with Plugins.Cluster { Bundles: true } and one trusted key; signs a copy of plugins/hello marked
// Clusterable and publishes it with the CLI's `publish`; waits until every host runs it; prints the CLI's
// `fleet` table, a call through each host's admin API, and one from host-c to a plugin only host-a runs; then
// stops the hosts with SIGTERM and the server.
import { join } from "node:path";
import { generateKeyPair, signPlugin, thumbprint } from "../mod.ts";
import { main } from "../src/cli/cli.ts";

const repo = new URL("..", import.meta.url).pathname;
const natsServer = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"].find(
  exists,
);
function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
if (!natsServer) {
  console.error("error: nats-server is not installed (apt-get install nats-server)");
  Deno.exit(1);
}

/** Reads `stream` until `pattern` matches what it printed; the match. Keeps draining it afterwards. */
async function waitFor(
  stream: ReadableStream<Uint8Array>,
  pattern: RegExp,
  what: string,
): Promise<RegExpExecArray> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${what} ended before it was ready:\n${text}`);
    text += value;
    const m = pattern.exec(text);
    if (m) {
      void (async () => {
        while (!(await reader.read()).done) { /* drain */ }
      })().catch(() => {});
      return m;
    }
  }
}

const tmp = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_fleet_" }));
const children: Deno.ChildProcess[] = [];
try {
  const nats = new Deno.Command(natsServer, {
    args: ["-a", "127.0.0.1", "-p", "-1", "-js", "-sd", join(tmp, "jetstream")],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  children.push(nats);
  const [, port] = await waitFor(
    nats.stderr,
    /client connections on 127\.0\.0\.1:(\d+)[\s\S]*Server is ready/,
    "nats-server",
  );
  const url = `nats://127.0.0.1:${port}`;
  console.log(`nats-server with JetStream on ${url}`);

  const keys = await generateKeyPair();
  const trusted = await thumbprint(keys.publicKey);
  const admins: Record<string, string> = {};
  await Promise.all(["a", "b", "c"].map(async (h) => {
    const plugins = join(tmp, h, "plugins");
    await Deno.mkdir(plugins, { recursive: true });
    if (h === "a") { // a plugin host-a alone runs, which the fleet may call (Clusterable)
      await Deno.mkdir(join(plugins, "where"));
      await Deno.writeTextFile(
        join(plugins, "where", "plugin.json"),
        JSON.stringify({ id: "demo.where", name: "where", version: "1.0.0", capabilities: ["Clusterable"] }),
      );
      await Deno.writeTextFile(
        join(plugins, "where", "mod.ts"),
        'export default { methods: { where: () => "served by the plugin on host-a" } };',
      );
    }
    const config = join(tmp, h, "host.jsonc");
    await Deno.writeTextFile(
      config,
      JSON.stringify(
        {
          Plugins: {
            PluginsDirectory: plugins,
            TrustedCertificateThumbprints: [trusted],
            Admin: { Hostname: "127.0.0.1" },
            Cluster: { Servers: [url], Name: "demo", HostId: `host-${h}`, Bundles: true },
          },
        },
        null,
        2,
      ),
    );
    const host = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--unstable-worker-options",
        "--no-prompt",
        "--v8-flags=--disallow-code-generation-from-strings,--min-semi-space-size=2",
        "--allow-all",
        join(repo, "src/cli/cli.ts"),
        "run",
        "--config",
        config,
        "--port",
        "0",
        "--log-level",
        "warning",
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    children.push(host);
    admins[h] = (await waitFor(host.stdout, /admin listening on (\S+)/, `host-${h}`))[1];
    console.log(`host-${h}: admin API on ${admins[h]}`);
  }));

  // plugins/hello, marked Clusterable and signed with the key every host trusts.
  const bundle = join(tmp, "hello");
  await Deno.mkdir(bundle);
  for (const f of ["plugin.jsonc", "mod.ts"]) {
    await Deno.copyFile(join(repo, "plugins/hello", f), join(bundle, f));
  }
  const manifest = join(bundle, "plugin.jsonc");
  const text = (await Deno.readTextFile(manifest)).replace(
    '"$schema": "../../schemas/plugin.schema.json",',
    "",
  );
  await Deno.writeTextFile(manifest, text.replace('["HotReloadable"]', '["HotReloadable", "Clusterable"]'));
  await signPlugin(bundle, keys);
  if (await main(["publish", bundle, "--cluster", url, "--name", "demo"]) !== 0) {
    throw new Error("publish failed");
  }

  // Every host installs it from the bundle store: wait until the fleet view shows it Running on all three.
  const deadline = Date.now() + 15_000;
  for (;;) {
    const view = await (await fetch(`${admins.a}/cluster`)).json() as {
      hosts: { hostId: string; plugins: { id: string; state: string }[] }[];
    };
    const running = view.hosts.filter((h) =>
      h.plugins.some((p) => p.id === "hello.world" && p.state === "Running")
    );
    if (running.length === 3) break;
    if (Date.now() > deadline) throw new Error(`hello.world runs on ${running.length} of 3 hosts`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await main(["fleet", "--cluster", url, "--name", "demo"]);
  for (const h of ["a", "b", "c"]) {
    const res = await fetch(`${admins[h]}/plugins/hello.world/call/greet`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify([`from host-${h}`]),
    });
    console.log(`host-${h}: POST /plugins/hello.world/call/greet → ${res.status} ${await res.text()}`);
  }
  // demo.where runs on host-a alone: host-c's admin API reaches it across the fleet.
  const res = await fetch(`${admins.c}/plugins/demo.where/call/where`, { method: "POST", body: "[]" });
  console.log(`host-c: POST /plugins/demo.where/call/where → ${res.status} ${await res.text()}`);
} finally {
  for (const child of children.reverse()) {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
  }
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  console.log("stopped the three hosts and nats-server");
}
