// Hot reload against real files, a real recursive watcher and real workers: blue/green swaps under load,
// rollback on broken versions, plugins appearing and disappearing, and no leaks over many cycles.
import assert from "node:assert/strict";
import { join } from "node:path";
import { pluginFolderOf, type PluginHost, type ReloadEvent } from "../mod.ts";
import { hostWith } from "./_helpers.ts";

const versioned = (v: number, extra = ""): string => `
  const V = ${v};
  export default {
    ${extra}
    methods: { version: () => V, slow: async (ms) => { await new Promise((r) => setTimeout(r, ms)); return V; } },
  };`;

const manifest = (v: number, hot = true) => ({
  id: "svc",
  name: "svc",
  version: `1.0.${v}`,
  capabilities: hot ? ["HotReloadable"] : [],
});

/** Resolves with reload events in order. */
function reloads(host: PluginHost): { next(): Promise<ReloadEvent>; off(): void } {
  const queue: ReloadEvent[] = [];
  const waiters: ((e: ReloadEvent) => void)[] = [];
  const off = host.on("reload", (e) => (waiters.shift() ?? ((x) => queue.push(x)))(e));
  return {
    next: () => queue.length ? Promise.resolve(queue.shift()!) : new Promise((r) => waiters.push(r)),
    off,
  };
}

async function writeVersion(dir: string, v: number, extra = "", hot = true): Promise<void> {
  await Deno.writeTextFile(join(dir, "mod.ts"), versioned(v, extra));
  await Deno.writeTextFile(join(dir, "plugin.jsonc"), JSON.stringify(manifest(v, hot)));
}

const hotConfig = { Plugins: { EnableHotReload: true, ReloadDelay: 50 } };

Deno.test("pluginFolderOf maps changes to plugin folders and ignores what cannot matter", () => {
  assert.equal(pluginFolderOf("/p", "/p/a/mod.ts"), "/p/a");
  assert.equal(pluginFolderOf("/p", "/p/a/lib/x.js"), "/p/a");
  assert.equal(pluginFolderOf("/p", "/p/a"), "/p/a");
  assert.equal(pluginFolderOf("/p", "/p/a/.mod.ts.swp"), undefined);
  assert.equal(pluginFolderOf("/p", "/p/a/mod.ts~"), undefined);
  assert.equal(pluginFolderOf("/p", "/p/a/data/store.json"), undefined);
  assert.equal(pluginFolderOf("/p", "/p/a/notes.txt"), undefined);
  assert.equal(pluginFolderOf("/p", "/other/a/mod.ts"), undefined);
});

Deno.test("calls as fast as possible while the source is rewritten 20 times: none fails, versions only grow", async () => {
  await using t = await hostWith({ svc: { manifest: manifest(0), code: versioned(0) } }, hotConfig);
  await t.host.start();
  const p = t.host.getPlugin("svc")!;
  const dir = p.dir;
  const events = reloads(t.host);
  let stop = false;
  let failures = 0;
  // Each caller awaits its calls one after another, so what it sees must never go back a version.
  const caller = async (seen: number[]): Promise<number[]> => {
    while (!stop || seen.at(-1) !== 20) {
      try {
        seen.push(await p.call("version") as number);
      } catch {
        failures++;
      }
    }
    return seen;
  };
  const callers = [caller([]), caller([]), caller([])];
  for (let v = 1; v <= 20; v++) {
    await writeVersion(dir, v);
    const e = await events.next();
    assert.equal(e.outcome, "swapped", JSON.stringify(e));
    assert.equal(e.toVersion, `1.0.${v}`);
  }
  stop = true;
  const sequences = await Promise.all(callers);
  events.off();
  assert.equal(failures, 0);
  for (const seen of sequences) {
    assert.ok(seen.length > 50, `only ${seen.length} calls`);
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i] >= seen[i - 1], `version went back: ${seen.slice(i - 3, i + 1)}`);
    }
    assert.ok(new Set(seen).size > 5, "the caller saw the versions change under it");
  }
  assert.equal(p.version, "1.0.20");
  assert.equal(p.state, "Running");
  assert.equal(p.getMetrics().errors, 0);
});

Deno.test("a syntax error or a throwing start leaves the old version answering; fixing the file swaps it in", async () => {
  await using t = await hostWith({ svc: { manifest: manifest(1), code: versioned(1) } }, hotConfig);
  await t.host.start();
  const p = t.host.getPlugin("svc")!;
  const events = reloads(t.host);

  await Deno.writeTextFile(
    join(p.dir, "mod.ts"),
    "export default { methods: { version: () => 2, } ;;; oops(",
  );
  let e = await events.next();
  assert.equal(e.outcome, "rolled-back");
  assert.match(e.error!, /failed to load|SyntaxError|Expected/i);
  assert.equal(await p.call("version"), 1);

  await writeVersion(p.dir, 3, `start() { throw new Error("cannot start v3"); },`);
  e = await events.next();
  assert.equal(e.outcome, "rolled-back");
  assert.match(e.error!, /cannot start v3/);
  assert.equal(await p.call("version"), 1);
  assert.equal(
    p.lastReload?.outcome,
    "rolled-back",
    "the handle (and so the admin API) shows the failed reload",
  );
  assert.equal(p.version, "1.0.1");

  await writeVersion(p.dir, 4, `health() { return { status: "unhealthy" }; },`);
  e = await events.next();
  assert.equal(e.outcome, "rolled-back");
  assert.match(e.error!, /unhealthy/);

  await writeVersion(p.dir, 5);
  e = await events.next();
  assert.equal(e.outcome, "swapped");
  assert.equal(await p.call("version"), 5);
  events.off();
});

Deno.test("an in-flight call finishes on the old version while new calls reach the new one", async () => {
  await using t = await hostWith({ svc: { manifest: manifest(1), code: versioned(1) } });
  await t.host.start();
  const p = t.host.getPlugin("svc")!;
  const slow = p.call("slow", 300);
  await writeVersion(p.dir, 2);
  await t.host.reload("svc");
  assert.equal(await p.call("version"), 2);
  assert.equal(await slow, 1, "the old version drained its call");
});

Deno.test("a plugin not marked HotReloadable is not swapped on save; the host says a restart is needed", async () => {
  await using t = await hostWith({ svc: { manifest: manifest(1, false), code: versioned(1) } }, hotConfig);
  await t.host.start();
  const p = t.host.getPlugin("svc")!;
  const events = reloads(t.host);
  await writeVersion(p.dir, 2, "", false);
  const e = await events.next();
  assert.equal(e.outcome, "restart-required");
  assert.equal(await p.call("version"), 1);
  const r = await t.host.reload("svc"); // an operator's reload restarts it
  assert.equal(await r.call("version"), 2);
  assert.equal((await events.next()).outcome, "restarted");
  events.off();
});

Deno.test("a new plugin folder loads, a removed one is stopped and unloaded", async () => {
  await using t = await hostWith({ svc: { manifest: manifest(1), code: versioned(1) } }, hotConfig);
  await t.host.start();
  const events = reloads(t.host);
  const plugins = join(t.root, "plugins");
  const fresh = join(plugins, "fresh");
  await Deno.mkdir(join(plugins, ".staging"));
  await Deno.writeTextFile(
    join(plugins, ".staging", "mod.ts"),
    `export default { methods: { hi: () => "hi" } };`,
  );
  await Deno.writeTextFile(
    join(plugins, ".staging", "plugin.jsonc"),
    JSON.stringify({ id: "fresh", name: "fresh", version: "1.0.0" }),
  );
  await Deno.rename(join(plugins, ".staging"), fresh);
  const added = await events.next();
  assert.deepEqual([added.id, added.outcome], ["fresh", "added"]);
  assert.equal(await t.host.getPlugin("fresh")!.call("hi"), "hi");

  const handle = t.host.getPlugin("svc")!;
  await Deno.remove(handle.dir, { recursive: true });
  const removed = await events.next();
  assert.deepEqual([removed.id, removed.outcome], ["svc", "removed"]);
  assert.equal(handle.state, "Unloaded");
  assert.equal(t.host.getPlugin("svc"), undefined);
  events.off();
});

Deno.test("200 reload cycles leave workers, listeners and memory where they were", async () => {
  await using t = await hostWith({ svc: { manifest: manifest(1), code: versioned(1) } });
  await t.host.start();
  const p = t.host.getPlugin("svc")!;
  const live = (): number => t.host.getStatistics().workers ?? -1;
  const workers0 = live();
  for (let i = 0; i < 20; i++) await t.host.reload("svc"); // warm up
  const rss0 = Deno.memoryUsage().rss;
  for (let i = 0; i < 200; i++) await t.host.reload("svc");
  assert.equal(await p.call("version"), 1);
  assert.equal(live(), workers0, "one worker per plugin, as before");
  const grownMiB = (Deno.memoryUsage().rss - rss0) / 2 ** 20;
  assert.ok(grownMiB < 64, `RSS grew by ${grownMiB.toFixed(1)} MiB over 200 reloads`);
});
