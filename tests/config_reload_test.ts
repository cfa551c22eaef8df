// Config hot reload against real files, a real watcher and real workers.
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  computePermissions,
  type ConfigEvent,
  createPluginHost,
  loadConfig,
  type PluginHost,
} from "../mod.ts";
import { writePlugins } from "./_helpers.ts";

const greeter = {
  manifest: { id: "greeter", settings: { greeting: "hello" } },
  code: `
    let ctx;
    export default {
      initialize(c) { ctx = c; },
      validateSettings(s) { return typeof s.greeting === "string" ? [] : ["greeting must be a string"]; },
      methods: {
        greeting: () => ctx.settings.greeting,
        read: async (p) => { try { return await Deno.readTextFile(p); } catch (e) { return e.name; } },
      },
    };`,
};

interface Fixture extends AsyncDisposable {
  readonly host: PluginHost;
  readonly root: string;
  readonly file: string;
  /** Resolves with the next `config` event. */
  next(): Promise<ConfigEvent>;
  /** Writes the config; `rename` saves through a temp file as many editors do. */
  save(config: Record<string, unknown> | string, rename?: boolean): Promise<void>;
}

async function fixture(
  plugins: Record<string, unknown> = {},
  security: Record<string, unknown> = {},
): Promise<Fixture> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_cfg_" }));
  const data = join(root, "data");
  await Deno.mkdir(data);
  await Deno.writeTextFile(join(data, "x.txt"), "secret-x");
  await writePlugins(root, {
    greeter: { ...greeter, manifest: { ...greeter.manifest, permissions: { read: [data] } } },
  });
  const file = join(root, "host.jsonc");
  const save = async (config: Record<string, unknown> | string, rename = false): Promise<void> => {
    const text = typeof config === "string" ? config : JSON.stringify(config, null, 2);
    if (!rename) return await Deno.writeTextFile(file, text);
    await Deno.writeTextFile(`${file}.tmp`, text);
    await Deno.rename(`${file}.tmp`, file);
  };
  await save(config(plugins, security));
  const host = await createPluginHost(file);
  const events: ConfigEvent[] = [];
  const waiters: ((e: ConfigEvent) => void)[] = [];
  host.on("config", (e) => (waiters.shift() ?? ((x) => events.push(x)))(e));
  return {
    host,
    root,
    file,
    save,
    next: () => events.length ? Promise.resolve(events.shift()!) : new Promise((r) => waiters.push(r)),
    async [Symbol.asyncDispose]() {
      await host.stop();
      await Deno.remove(root, { recursive: true });
    },
  };
}

function config(
  plugins: Record<string, unknown>,
  security: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    Plugins: { PluginsDirectory: "./plugins", ReloadDelay: "00:00:00.200", ...plugins },
    PluginSecurity: security,
  };
}

Deno.test("the seed's config text, byte for byte, loads and yields the documented permissions", async () => {
  const { config } = await loadConfig(new URL("./fixtures/seed_security.json", import.meta.url).pathname);
  const entry = config.security["my.plugin"];
  const p = computePermissions({
    manifestPermissions: {
      read: ["./data"],
      write: [],
      net: ["api.example.com:443", "evil.example.com:443"],
      env: [],
    },
    pluginDir: "/plugins/my",
    security: entry,
  });
  assert.deepEqual(p.net, ["api.example.com:443"]);
  assert.deepEqual(p.read, [], "AllowFileSystemAccess is false");
  assert.deepEqual(p.denied.map((d) => `${d.kind}:${d.value}`).sort(), [
    "net:evil.example.com:443",
    "read:/plugins/my/data",
  ]);
});

Deno.test("20 saves within the debounce window cause one reload, and the last one wins", async () => {
  await using f = await fixture();
  await f.host.start();
  const p = f.host.getPlugin("greeter")!;
  assert.equal(await p.call("greeting"), "hello");
  for (let i = 1; i <= 20; i++) {
    await f.save(config({ greeter: { Settings: { greeting: `hi #${i}` } } }), i % 2 === 0);
  }
  const first = await f.next();
  assert.equal(first.outcome, "applied");
  assert.deepEqual(first.changes.map((c) => [c.id, c.action, c.ok]), [["greeter", "configure", true]]);
  assert.equal(await p.call("greeting"), "hi #20", "settings pushed live are seen by the next call");
  assert.equal(p.state, "Running");
  assert.equal(p.getMetrics().restarts, 0, "a settings change does not restart the plugin");
  // A marker save: had the 20 saves caused a second reload, its event would arrive before this one's.
  await f.save(config({ greeter: { Settings: { greeting: "marker" } } }));
  const second = await f.next();
  assert.equal(await p.call("greeting"), "marker");
  assert.equal(second.changes.length, 1);
});

Deno.test("a bad save is rejected with file:line:col, the old settings stay, and a fixed save applies", async () => {
  await using f = await fixture({ greeter: { Settings: { greeting: "old" } } });
  await f.host.start();
  const p = f.host.getPlugin("greeter")!;
  await f.save('{\n  "Plugins": {\n    "greeter": { "Settings": { "greeting": "new" } },,\n  }\n}');
  const rejected = await f.next();
  assert.equal(rejected.outcome, "rejected");
  assert.match(rejected.problems!.join("\n"), new RegExp(`${f.file.replaceAll("/", "\\/")}:3:\\d+`));
  await f.save(config({ greeter: { Settings: { greeting: 42 } } }));
  const invalid = await f.next();
  assert.equal(invalid.outcome, "applied");
  assert.equal(invalid.changes[0].ok, false, "the plugin's validateSettings refused it");
  assert.match(invalid.changes[0].error!, /greeting must be a string/);
  assert.equal(await p.call("greeting"), "old");
  assert.equal(p.state, "Running");
  await f.save(config({ greeter: { Settings: { greeting: "fixed" } } }));
  assert.equal((await f.next()).outcome, "applied");
  assert.equal(await p.call("greeting"), "fixed");
});

Deno.test("a permission change takes effect after the plugin's automatic restart, not before", async () => {
  await using f = await fixture();
  await f.host.start();
  const p = f.host.getPlugin("greeter")!;
  const x = join(f.root, "data", "x.txt");
  assert.equal(await p.call("read", x), "NotCapable");
  const moves: string[] = [];
  f.host.on("state", (c) => c.id === "greeter" && moves.push(c.to));
  await f.save(
    config({}, { greeter: { AllowFileSystemAccess: true, AllowedPaths: ["./data"] } }),
    true,
  );
  const event = await f.next();
  assert.deepEqual(event.changes.map((c) => [c.action, c.ok]), [["restart", true]]);
  assert.match(event.changes[0].reason, /permissions/);
  assert.deepEqual(moves.slice(0, 4), ["Stopping", "Stopped", "Unloading", "Unloaded"]);
  assert.equal(moves.at(-1), "Running");
  assert.equal(await p.call("read", x), "secret-x");
  assert.ok(p.permissions.read.includes(join(f.root, "data")));
});

Deno.test("Enabled false stops a plugin and true starts it again", async () => {
  await using f = await fixture();
  await f.host.start();
  const p = f.host.getPlugin("greeter")!;
  await f.save(config({ greeter: { Enabled: false } }));
  assert.deepEqual((await f.next()).changes.map((c) => c.action), ["disable"]);
  assert.equal(p.state, "Unloaded");
  await f.save(config({ greeter: { Enabled: true, Settings: { greeting: "back" } } }));
  assert.deepEqual((await f.next()).changes.map((c) => c.action), ["enable"]);
  assert.equal(await p.call("greeting"), "back");
});

Deno.test("settings that fail validateSettings fail that plugin alone at start", async () => {
  await using f = await fixture({ greeter: { Settings: { greeting: ["not", "a", "string"] } } });
  await f.host.start();
  const p = f.host.getPlugin("greeter")!;
  assert.equal(p.state, "Failed");
  assert.match(p.lastError!.message, /invalid settings: greeting must be a string/);
});
