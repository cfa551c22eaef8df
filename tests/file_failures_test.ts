// Failures that are properties of a plugin's files (issue 18 item 4) go to Failed at once, with their
// diagnosis, and are not retried by self-healing; a start hook that throws still is. With hot reload, fixing
// the file starts the plugin. Real Workers, real files.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { HealEvent } from "../mod.ts";
import { hostWith, nextEvent } from "./_helpers.ts";

const policy = { maxRestarts: 3, baseDelayMs: 20, maxDelayMs: 100, jitter: 0 };

Deno.test("a syntax error or a missing default export fails at once and is never retried; a throwing start hook is", async () => {
  await using t = await hostWith(
    {
      syntax: { manifest: { id: "f.syntax" }, code: "export default { methods: { x( } };" },
      noexport: { manifest: { id: "f.noexport" }, code: "export const a = 1;" },
      flaky: {
        manifest: { id: "f.flaky" },
        code: `export default { start() { throw new Error("no database"); } };`,
      },
    },
    {},
    { restartPolicy: policy },
  );
  const heals: HealEvent[] = [];
  t.host.on("heal", (e) => heals.push(e));
  const quarantined = nextEvent(
    t.host,
    "heal" as "state",
    (e) =>
      (e as unknown as HealEvent).id === "f.flaky" && (e as unknown as HealEvent).action === "quarantined",
  );
  await t.host.start();
  await quarantined; // the retryable one went through the whole policy meanwhile
  for (const id of ["f.syntax", "f.noexport"]) {
    const p = t.host.getPlugin(id)!;
    assert.equal(p.state, "Failed", id);
    assert.match(p.lastError?.message ?? "", /its module failed to load/, id);
    assert.deepEqual(heals.filter((e) => e.id === id), [], `${id} was not retried`);
  }
  assert.match(t.host.getPlugin("f.syntax")!.lastError!.message, /SyntaxError: /);
  assert.doesNotMatch(t.host.getPlugin("f.syntax")!.lastError!.message, /TypeError: SyntaxError/);
  assert.ok(heals.some((e) => e.id === "f.flaky" && e.action === "scheduled"));
  // A hook that throws is named, with where in the plugin's own file it threw.
  const flaky = heals.find((e) => e.id === "f.flaky" && e.action === "scheduled")!.reason;
  assert.match(flaky, /its start hook threw Error: no database \(at .*flaky[\/]mod\.ts:1:\d+\)/);
});

Deno.test("with hot reload, fixing the file of a plugin that failed on it starts it", async () => {
  await using t = await hostWith(
    { syntax: { manifest: { id: "f.fixed" }, code: "export default { methods: { x( } };" } },
    { Plugins: { EnableHotReload: true, ReloadDelay: 50 } },
    { restartPolicy: policy },
  );
  await t.host.start();
  assert.equal(t.host.getPlugin("f.fixed")!.state, "Failed");
  const running = nextEvent(t.host, "state", (e) =>
    (e as { id: string }).id === "f.fixed" &&
    (e as { to: string }).to === "Running");
  await Deno.writeTextFile(
    join(t.root, "plugins", "syntax", "mod.ts"),
    `export default { methods: { ping: () => "pong" } };`,
  );
  await running;
  assert.equal(await t.host.getPlugin("f.fixed")!.call("ping"), "pong");
});

Deno.test("without hot reload, a plugin that failed on its files, or a folder discovery refused, is tried again when its files change; a running one is not", async () => {
  await using t = await hostWith(
    {
      syntax: { manifest: { id: "q.syntax" }, code: "export default { methods: { x( } };" },
      steady: { manifest: { id: "q.steady" }, code: `export default { methods: { v: () => 1 } };` },
      bad: { manifest: { id: "q.bad" }, code: `export default { methods: { ping: () => "pong" } };` },
    },
    { Plugins: { ReloadDelay: 50 } },
    { restartPolicy: policy },
  );
  const bad = join(t.root, "plugins", "bad", "plugin.jsonc");
  await Deno.writeTextFile(bad, `{ "id": "q.bad", "name": "bad", "version": 1 }`);
  await t.host.start();
  assert.equal(t.host.getPlugin("q.syntax")!.state, "Failed");
  assert.equal(t.host.getPlugin("q.bad"), undefined);
  assert.match(t.host.getDiscoveryFailures().map((f) => f.message).join("\n"), /version/);
  const reloads: string[] = [];
  t.host.on("reload", (e) => reloads.push(`${e.id} ${e.outcome}`));
  const running = (id: string) =>
    nextEvent(
      t.host,
      "state",
      (e) => (e as { id: string }).id === id && (e as { to: string }).to === "Running",
    );
  const both = Promise.all([running("q.syntax"), running("q.bad")]);
  // The running plugin's change is written first: its batch is due first, and must be ignored.
  await Deno.writeTextFile(
    join(t.root, "plugins", "steady", "mod.ts"),
    `export default { methods: { v: () => 2 } };`,
  );
  await Deno.writeTextFile(
    join(t.root, "plugins", "syntax", "mod.ts"),
    `export default { methods: { ping: () => "pong" } };`,
  );
  await Deno.writeTextFile(bad, JSON.stringify({ id: "q.bad", name: "bad", version: "1.0.0" }));
  await both;
  assert.equal(await t.host.getPlugin("q.syntax")!.call("ping"), "pong");
  assert.equal(await t.host.getPlugin("q.bad")!.call("ping"), "pong");
  assert.deepEqual(t.host.getDiscoveryFailures(), [], "the refused folder's old failure is gone");
  assert.equal(
    await t.host.getPlugin("q.steady")!.call("v"),
    1,
    "hot reload is off: the running one is not reloaded",
  );
  assert.ok(!reloads.some((r) => r.startsWith("q.steady")), reloads.join(", "));
});

Deno.test("many symlinks out of a plugin folder or a granted folder are a count and the first few, not one line each", async () => {
  const shared = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_shared_" }));
  try {
    await using t = await hostWith({
      linky: { manifest: { id: "f.linky" }, code: "export default {};" },
      granted: { manifest: { id: "f.granted", permissions: { read: [shared] } }, code: "export default {};" },
    }, { PluginSecurity: { "f.granted": { AllowFileSystemAccess: true, AllowedPaths: [shared] } } });
    for (let i = 0; i < 300; i++) {
      await Deno.symlink("/etc/hostname", join(t.root, "plugins", "linky", `l${i}`));
      await Deno.symlink("/etc/hostname", join(shared, `s${i}`));
    }
    await t.host.start();
    const folder = t.host.getDiscoveryFailures().find((f) => f.dir.endsWith("linky"));
    assert.ok(folder, JSON.stringify(t.host.getDiscoveryFailures()));
    assert.match(folder.message, /and 295 more symlinks or hard links like these/);
    assert.ok(folder.message.length < 2_000, `${folder.message.length} characters`);
    const grant = t.host.getPlugin("f.granted")!;
    assert.equal(grant.state, "Failed");
    assert.match(grant.lastError!.message, /and 295 more like these/);
    assert.ok(grant.lastError!.message.length < 2_000, `${grant.lastError!.message.length} characters`);
  } finally {
    await Deno.remove(shared, { recursive: true });
  }
});

Deno.test("Isolation process under the start task's flags fails at once, naming the --allow-run it needs", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url))) as {
    tasks: Record<string, string>;
  };
  // The start task's own flags, word for word, on a config that puts one bundled plugin in the process tier.
  const flags = config.tasks.start.split(" ").slice(
    2,
    config.tasks.start.split(" ").indexOf("src/cli/cli.ts"),
  );
  const dir = await Deno.makeTempDir({ prefix: "dotcompute_proc_" });
  try {
    const file = join(dir, "host.json");
    const plugins = new URL("../plugins", import.meta.url).pathname;
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        Plugins: { PluginsDirectory: plugins, Admin: { Port: 0 }, "hello.world": { Isolation: "process" } },
      }),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...flags, "src/cli/cli.ts", "validate", "--help"],
      cwd: new URL("..", import.meta.url),
    }).output();
    assert.ok(out.success, "the start task's flags parse");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...flags, "src/cli/cli.ts", "run", "--config", file],
      cwd: new URL("..", import.meta.url),
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("admin listening on")) {
      const r = await reader.read();
      if (r.done) break;
      text += r.value;
    }
    child.kill("SIGTERM");
    for (;;) if ((await reader.read()).done) break;
    await child.status;
    const log = await stderr;
    assert.match(text, /hello\.world\s+\S+\s+Failed/);
    assert.match(
      log,
      /the host needs --allow-run=ps,\S+ in its deno run flags \(for "npx -y deno@2\.9\.6 task start", in the "start" task of deno\.json\)/,
    );
    assert.match(log, /hello\.world is not retried/);
    assert.doesNotMatch(log, /hello\.world died .*restart 1 in/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
