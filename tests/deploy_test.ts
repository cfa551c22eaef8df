// deploy/ (issue 18 item 10): what CI can run of it, it runs. The Dockerfile's entrypoint and the systemd unit's
// ExecStart are started for real (with the repository as their working folder) and must become ready over
// GET /ready and stop with exit 0 on SIGTERM; the Kubernetes manifests parse, and their probes name routes
// that answer. No docker, systemd or cluster is needed.
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { loadConfig } from "../mod.ts";
import { pollUntil } from "./_helpers.ts";

const REPO = new URL("..", import.meta.url).pathname;
const TOKEN = "a-token-of-24-bytes-0123";
const read = (path: string): Promise<string> => Deno.readTextFile(join(REPO, path));

/** The Dockerfile's ENTRYPOINT, as its exec-form JSON array. */
async function entrypoint(): Promise<string[]> {
  const line = (await read("deploy/Dockerfile")).split("\n").find((l) => l.startsWith("ENTRYPOINT "));
  assert.ok(line, "an ENTRYPOINT");
  return JSON.parse(line.slice("ENTRYPOINT ".length)) as string[];
}

/** Runs `args` (a deno command line, `deno` first) in the repository until /ready is 200; then SIGTERM. */
async function runsAndStops(args: string[], env: Record<string, string>, shell?: string): Promise<void> {
  const bin = await Deno.makeTempDir({ prefix: "dotcompute_deploy_" });
  try {
    await Deno.symlink(Deno.execPath(), join(bin, "deno")); // `deno` on PATH, as the image and unit have it
    // A free port now, given to the host (its stdout is not read: the probe is what an orchestrator sees).
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = l.addr.port;
    l.close();
    const child = new Deno.Command(shell === undefined ? join(bin, "deno") : "bash", {
      args: shell === undefined
        ? [...args.slice(1), "--port", String(port)]
        : ["-c", `${shell} --port ${port}`],
      cwd: REPO,
      env: { ...env, PATH: `${bin}:${Deno.env.get("PATH") ?? ""}` },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // Drained as it comes: a full pipe would block the host.
    const errText = new Response(child.stderr).text();
    const url = `http://127.0.0.1:${port}`;
    const probe = (): Promise<number> =>
      fetch(`${url}/ready`).then(async (r) => (await r.body?.cancel(), r.status), () => 0);
    const status = await pollUntil(probe, (s) => s === 200, 30_000);
    assert.equal(status, 200, "GET /ready");
    const plugins = await fetch(`${url}/plugins`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(plugins.status, 200);
    const states = (await plugins.json() as { id: string; state: string }[]).map((p) => `${p.id} ${p.state}`);
    assert.ok(states.every((s) => s.endsWith("Running")), states.join(", "));
    assert.equal(await fetch(`${url}/plugins`).then(async (r) => (await r.body?.cancel(), r.status)), 401);
    child.kill("SIGTERM");
    const stderr = await errText;
    assert.equal((await child.status).code, 0, stderr);
    // JSON logs: every line of stderr is one object.
    for (const line of stderr.split("\n").filter(Boolean)) JSON.parse(line);
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
}

Deno.test("deploy: the Dockerfile's entrypoint runs the bundled plugins with its flags, ready, and stops on SIGTERM", async () => {
  const args = await entrypoint();
  assert.equal(args[0], "deno");
  const config = args[args.indexOf("--config") + 1];
  await loadConfig(join(REPO, config)); // the config it names loads
  await runsAndStops(args, { DOTCOMPUTE_ADMIN_TOKEN: TOKEN, NO_COLOR: "1" });
});

Deno.test("deploy: the systemd unit's ExecStart reads the token credential and runs the same host", async () => {
  const unit = await read("deploy/systemd/dotcompute-plugins.service");
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of unit.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const section = /^\[(\w+)\]$/.exec(line);
    if (section) sections.set(section[1], current = new Map());
    else {
      const eq = line.indexOf("=");
      assert.ok(current && eq > 0, `not a unit line: ${line}`);
      current.set(line.slice(0, eq), line.slice(eq + 1));
    }
  }
  assert.deepEqual([...sections.keys()], ["Unit", "Service", "Install"]);
  const service = sections.get("Service")!;
  assert.equal(service.get("KillSignal"), "SIGTERM");
  assert.equal(service.get("WorkingDirectory"), "/srv/dotcompute");
  const exec = service.get("ExecStart")!;
  const script = /^\/usr\/bin\/env bash -c '(.*)'$/.exec(exec)?.[1];
  assert.ok(script, exec);
  const credentials = await Deno.makeTempDir({ prefix: "dotcompute_creds_" });
  try {
    await Deno.writeTextFile(join(credentials, "admin-token"), `${TOKEN}\n`);
    await runsAndStops([], { CREDENTIALS_DIRECTORY: credentials, NO_COLOR: "1" }, script);
  } finally {
    await Deno.remove(credentials, { recursive: true });
  }
});

Deno.test("deploy: the Kubernetes manifests parse; the probes are GET /health and GET /ready on the admin port", async () => {
  const docs = [
    ...parseAllDocuments(await read("deploy/kubernetes/deployment.yaml")),
    ...parseAllDocuments(await read("deploy/kubernetes/service.yaml")),
  ].map((d) => {
    assert.deepEqual(d.errors, []);
    return d.toJS() as Record<string, unknown>;
  });
  assert.deepEqual(docs.map((d) => d.kind), ["Deployment", "Service"]);
  const spec = (docs[0] as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } }).spec;
  const [container] = spec.template.spec.containers;
  const probe = (key: string) => (container[key] as { httpGet: { path: string; port: string } }).httpGet;
  assert.deepEqual(probe("livenessProbe"), { path: "/health", port: "admin" });
  assert.deepEqual(probe("readinessProbe"), { path: "/ready", port: "admin" });
  const ports = container.ports as { name: string; containerPort: number }[];
  const config = (await loadConfig(join(REPO, "deploy/container.jsonc"))).config;
  assert.deepEqual(ports, [{ name: "admin", containerPort: config.admin.port }]);
  assert.equal(config.admin.hostname, "0.0.0.0");
});
