// The dashboard end to end in headless Chromium: a real host with two plugins and its admin API on a real socket;
// the page asks for the token, lists both plugins as Running, and a click on Reload shows the new version that
// was put on disk (with the state changes and the reload in the event list).
//
// Chromium is Debian's `chromium` (.ci/run installs it when missing); CHROMIUM_PATH points elsewhere. Where it
// cannot be found the test is skipped with a loud warning. The browser is driven by playwright-core in a
// subprocess (tests/_dashboard_driver.ts), which runs without the V8 flag this process has. The screenshot goes
// to docs/dashboard.png when that file is missing or UPDATE_SCREENSHOTS=1, else to a temp file.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { DriverInput, DriverResult } from "./_dashboard_driver.ts";
import { hostWith, type PluginSource } from "./_helpers.ts";
import { natsServerPath, startNats } from "./_nats.ts";

const repo = new URL("..", import.meta.url).pathname;

function findChromium(): string | undefined {
  const candidates = [Deno.env.get("CHROMIUM_PATH"), "/usr/bin/chromium", "/usr/bin/chromium-browser"];
  for (const path of candidates) {
    if (!path) continue;
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch { /* not there */ }
  }
  return undefined;
}

const chromiumPath = findChromium();
if (!chromiumPath) {
  console.warn(
    "\n!!! SKIPPING the dashboard browser test: no Chromium at $CHROMIUM_PATH, /usr/bin/chromium or " +
      "/usr/bin/chromium-browser.\n!!! Install it with `apt-get install chromium` (.ci/run does) to run it.\n",
  );
}

const plugin = (id: string, name: string, health: string): PluginSource => ({
  manifest: { id, name, capabilities: ["ComputeBackend"] },
  code: `export default {
    health() { return { status: "${health}" }; },
    methods: { greet(who) { return "hello " + who; }, sum(xs) { return xs.reduce((a, b) => a + b, 0); } },
  };`,
});

Deno.test({
  name: "the dashboard lists the plugins live and a click on Reload shows the new version",
  ignore: chromiumPath === undefined,
  async fn() {
    const token = "dashboard-test-token";
    await using t = await hostWith({
      hello: plugin("hello.world", "Hello World", "healthy"),
      vectors: plugin("vector.math", "Vector Math", "degraded"),
    }, { Plugins: { Admin: { Token: token } } });
    await t.host.start();
    for (let i = 0; i < 20; i++) {
      await t.host.getPlugin("hello.world")!.call("greet", `caller ${i}`);
      await t.host.getPlugin("vector.math")!.call("sum", [i, i + 1, i + 2]);
    }
    // The new version is on disk; the host only loads it when asked (no hot reload here): the click asks.
    const manifest = join(t.root, "plugins", "hello", "plugin.jsonc");
    const text = await Deno.readTextFile(manifest);
    await Deno.writeTextFile(manifest, text.replace('"version":"1.0.0"', '"version":"1.1.0"'));
    assert.match(await Deno.readTextFile(manifest), /"version":"1\.1\.0"/);

    await using server = await t.host.serveAdmin({ hostname: "127.0.0.1", port: 0 });
    const committed = join(repo, "docs", "dashboard.png");
    const keep = Deno.env.get("UPDATE_SCREENSHOTS") === "1" ||
      !(await Deno.stat(committed).then(() => true, () => false));
    const screenshot = keep ? committed : join(t.root, "dashboard.png");
    if (keep) await Deno.mkdir(join(repo, "docs"), { recursive: true });

    const input: DriverInput = {
      executablePath: chromiumPath!,
      url: `${server.url}/`,
      token,
      plugins: ["hello.world", "vector.math"],
      reload: "hello.world",
      expectVersion: "1.1.0",
      screenshot,
    };
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", "tests/_dashboard_driver.ts", JSON.stringify(input)],
      cwd: repo,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `the browser driver failed:\n${stderr}`);
    const result: DriverResult = JSON.parse(new TextDecoder().decode(out.stdout));

    assert.equal(result.askedForToken, true);
    // Before the token is typed in, the page's first request is refused: the browser logs that 401, nothing else.
    const unexpected = result.pageErrors.filter((e) => !/status of 401 \(Unauthorized\)/.test(e));
    assert.deepEqual(unexpected, []);
    const [name, state, health, version, calls, errors] = result.before["hello.world"];
    assert.match(name, /^Hello World\s*hello\.world$/);
    assert.deepEqual([state, health, version, calls, errors], ["Running", "healthy", "1.0.0", "20", "0"]);
    assert.deepEqual(
      result.before["vector.math"].slice(1, 3),
      ["Running", "degraded"],
      "the plugin's own report",
    );
    assert.match(result.before["vector.math"][6], /^\d/, "a p50 latency is shown");
    assert.deepEqual(result.buttons, [
      "Start hello.world",
      "Stop hello.world",
      "Reload hello.world",
      "Diagnose hello.world",
    ]);

    assert.deepEqual(result.after["hello.world"].slice(1, 4), ["Running", "healthy", "1.1.0"]);
    assert.deepEqual(result.after["vector.math"].slice(1, 4), ["Running", "degraded", "1.0.0"]);
    const events = result.events.join("\n");
    assert.match(events, /hello\.world: Running → Stopping/);
    assert.match(events, /hello\.world: reload restarted 1\.0\.0 → 1\.1\.0 \(api\)/);

    assert.match(result.diagnosis[0], /^info\s*lifecycle\s*is Running: up .*→ nothing to do$/);
    const reloaded = t.host.getPlugin("hello.world")!;
    assert.deepEqual([reloaded.version, reloaded.state, reloaded.lastReload?.trigger], [
      "1.1.0",
      "Running",
      "api",
    ]);
    const png = await Deno.readFile(screenshot);
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG");
  },
});

Deno.test({
  name: "the dashboard shows the fleet: every host and what it runs, updated as hosts join",
  ignore: chromiumPath === undefined || natsServerPath === undefined,
  async fn() {
    await using nats = await startNats();
    const cluster = (hostId: string) => ({
      Plugins: { Cluster: { Servers: [nats.url], Name: "view", HostId: hostId } },
    });
    const vector: PluginSource = {
      manifest: { id: "vector.math", name: "Vector Math", capabilities: ["Clusterable"] },
      code: "export default { methods: { sum: (xs) => xs.reduce((a, b) => a + b, 0) } };",
    };
    await using a = await hostWith(
      { hello: plugin("hello.world", "Hello World", "healthy") },
      cluster("view-a"),
    );
    await using b = await hostWith({ vector }, cluster("view-b"));
    await a.host.start();
    await using server = await a.host.serveAdmin({ hostname: "127.0.0.1", port: 0 });
    // host b joins once the page may already be showing the fleet: its row comes with the fleet event.
    await b.host.start();
    const input: DriverInput = {
      executablePath: chromiumPath!,
      url: `${server.url}/`,
      plugins: ["hello.world"],
      fleetHosts: ["view-a", "view-b"],
      fleetPlugin: "",
      screenshot: join(a.root, "fleet.png"),
    };
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", "tests/_dashboard_driver.ts", JSON.stringify(input)],
      cwd: repo,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    assert.equal(out.code, 0, `the browser driver failed:\n${new TextDecoder().decode(out.stderr)}`);
    const result: DriverResult = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.deepEqual(result.pageErrors, []);
    assert.equal(result.fleet?.title, "Fleet view");
    assert.deepEqual(result.fleet?.rows.map((r) => r.slice(0, 2)), [["view-a (this host)", "1"], [
      "view-b",
      "1",
    ]]);
    assert.match(result.fleet!.rows[0][2], /^hello\.world 1\.0\.0 Running$/);
    assert.match(result.fleet!.rows[1][2], /^vector\.math 1\.0\.0 Running$/);
  },
});
