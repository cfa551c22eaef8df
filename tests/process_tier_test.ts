// The process tier against real `deno run` children through the host: lifecycle, calls, permissions, the
// environment, and every way a child can end (exit, out of memory, a busy loop, a garbled stream) without the
// host or its other plugins noticing more than a crash event.
import assert from "node:assert/strict";
import { join } from "node:path";
import { PluginCrashedError, type PluginHandle } from "../mod.ts";
import { captureLogs, hostWith, nextEvent, type PluginSource, pollUntil } from "./_helpers.ts";
import { hostProcess } from "./security/_attack.ts";

const linux = Deno.build.os === "linux";
const processPlugin = { Isolation: "process", ResourceLimits: { MaxMemoryMB: 64 } };

const echo: PluginSource = {
  manifest: { id: "proc.echo", dependencies: { "w.echo": "^1.0.0" } },
  code: `
    import fs from "node:fs";
    let ctx;
    export default {
      initialize(c) { ctx = c; c.log.info("initializing {id} in {pid}", { id: c.id, pid: Deno.pid }); },
      start() { console.log("console.log goes to {stderr}"); },
      methods: {
        pid() { return Deno.pid; },
        double(xs) { for (let i = 0; i < xs.length; i++) xs[i] *= 2; return xs; },
        echo(x) { return x; },
        fail() { const e = new RangeError("out of range"); e.code = "E_RANGE"; throw e; },
        uncloneable() { return { f() {} }; },
        viaHost() { return ctx.plugins.call("w.echo", "ping"); },
        read(path) { return Deno.readTextFile(path); },
        env(name) { return Deno.env.get(name); },
        exit() { setTimeout(() => Deno.exit(7), 10); return new Promise(() => {}); },
        hog() {
          const keep = [];
          for (let i = 0; i < 2048; i++) keep.push(new Array(128 * 1024).fill(i + 0.5)); // 2 GiB of heap
          return keep.length;
        },
        spin() { for (;;) {} },
        garble() { fs.writeSync(1, new Uint8Array([0xff, 0xff, 0xff, 0xff])); return "garbled"; },
      },
    };`,
};

const worker: PluginSource = {
  manifest: { id: "w.echo" },
  code: `export default { methods: { ping() { return "pong"; } } };`,
};

/** Whether a process of this pid still exists (a reaped child leaves nothing in /proc). */
async function alive(pid: number): Promise<boolean> {
  try {
    await Deno.stat(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** The plugin processes that are children of this test process. */
async function pluginChildren(): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (ppid === Deno.pid && cmdline.includes("process_main.ts")) pids.push(Number(entry.name));
    } catch { /* it ended meanwhile */ }
  }
  return pids;
}

function hostFor(plugins: Record<string, PluginSource>, extra: Record<string, unknown> = {}) {
  const { Plugins, ...rest } = extra as { Plugins?: Record<string, unknown> };
  return hostWith(plugins, { ...rest, Plugins: { "proc.echo": processPlugin, ...Plugins } });
}

Deno.test("a process plugin loads, answers calls, logs and stops like a worker plugin", async () => {
  await using logs = await captureLogs();
  await using t = await hostFor({ echo, worker });
  await t.host.start();
  const p = t.host.getPlugin("proc.echo")!;
  assert.equal(p.state, "Running");
  assert.equal(p.isolation, "process");
  const pid = await p.call("pid") as number;
  assert.notEqual(pid, Deno.pid);
  if (linux) assert.deepEqual(await pluginChildren(), [pid]);

  const data = new Float32Array(1024 * 1024).map((_, i) => i);
  const doubled = await p.call("double", data) as Float32Array;
  assert.ok(doubled instanceof Float32Array);
  assert.equal(doubled[12345], 24690);
  assert.equal(data[12345], 12345, "buffers are copied across processes: the sender's stays as it was");
  assert.deepEqual(await p.call("echo", new Map([[1, new Set([2n])]])), new Map([[1, new Set([2n])]]));
  await assert.rejects(p.call("fail"), (e: Error & { code?: string }) => {
    assert.ok(e instanceof RangeError);
    assert.equal(e.message, "out of range");
    assert.equal(e.code, "E_RANGE");
    return true;
  });
  await assert.rejects(p.call("uncloneable"), (e: Error) => e.name === "DataCloneError");
  assert.equal(await p.call("viaHost"), "pong", "calls to dependencies travel back through the host");
  assert.equal(p.getMetrics().errors, 2);

  await t.host.stop();
  assert.equal(p.state, "Unloaded");
  if (linux) assert.equal(await alive(pid), false, "stop leaves no process behind");
  const lines = logs.records.map((r) => `${r.category.join(".")}: ${r.message.join("")}`);
  assert.ok(
    lines.includes(`dotcompute.plugin.proc.echo: initializing proc.echo in ${pid}`),
    lines.join("\n"),
  );
  assert.ok(
    // The console is the plugin's log in both tiers (tests/security/ambient_test.ts), no longer its stderr.
    lines.includes("dotcompute.plugin.proc.echo.console: console.log goes to {stderr}"),
    lines.join("\n"),
  );
});

Deno.test("a process plugin holds its permissions as flags: its grant and nothing next to it", async () => {
  const files = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_files_" }));
  try {
    const data = join(files, "data");
    const outside = join(files, "outside");
    await Deno.mkdir(data);
    await Deno.mkdir(outside);
    await Deno.writeTextFile(join(data, "ok.txt"), "granted");
    await Deno.writeTextFile(join(outside, "secret.txt"), "s3cr3t");
    await using t = await hostFor({
      echo: { ...echo, manifest: { ...echo.manifest, permissions: { read: [data] } } },
      worker,
    }, { PluginSecurity: { "proc.echo": { AllowFileSystemAccess: true, AllowedPaths: [data] } } });
    await t.host.start();
    const p = t.host.getPlugin("proc.echo")!;
    assert.equal(await p.call("read", join(data, "ok.txt")), "granted");
    await assert.rejects(p.call("read", join(outside, "secret.txt")), (e: Error) => e.name === "NotCapable");
    await assert.rejects(p.call("read", "/etc/hostname"), (e: Error) => e.name === "NotCapable");
  } finally {
    await Deno.remove(files, { recursive: true });
  }
});

Deno.test({
  name: "a process plugin's environment holds only what its env grant names",
  ignore: !linux,
  async fn() {
    Deno.env.set("DOTCOMPUTE_PT_SECRET", "s3cr3t");
    Deno.env.set("DOTCOMPUTE_PT_VISIBLE", "visible");
    try {
      const granted: PluginSource = {
        manifest: { ...echo.manifest, id: "proc.granted", permissions: { env: ["DOTCOMPUTE_PT_VISIBLE"] } },
        code: echo.code,
      };
      await using t = await hostFor({ echo, granted, worker }, {
        Plugins: { "proc.granted": processPlugin },
        PluginSecurity: { "proc.granted": { AllowedEnvironmentVariables: ["DOTCOMPUTE_PT_VISIBLE"] } },
      });
      await t.host.start();
      const plain = t.host.getPlugin("proc.echo")!;
      const withEnv = t.host.getPlugin("proc.granted")!;
      const environ = async (p: PluginHandle): Promise<string[]> =>
        (await Deno.readTextFile(`/proc/${await p.call("pid")}/environ`)).split("\0");
      const plainEnv = await environ(plain);
      assert.ok(!plainEnv.some((v) => v.startsWith("DOTCOMPUTE_PT_")), plainEnv.join("\n"));
      assert.ok(!plainEnv.some((v) => /^(HOME|PATH|USER)=/.test(v)), plainEnv.join("\n"));
      await assert.rejects(plain.call("env", "DOTCOMPUTE_PT_VISIBLE"), (e: Error) => e.name === "NotCapable");
      const grantedEnv = await environ(withEnv);
      assert.ok(grantedEnv.includes("DOTCOMPUTE_PT_VISIBLE=visible"));
      assert.ok(!grantedEnv.some((v) => v.startsWith("DOTCOMPUTE_PT_SECRET")));
      assert.equal(await withEnv.call("env", "DOTCOMPUTE_PT_VISIBLE"), "visible");
    } finally {
      Deno.env.delete("DOTCOMPUTE_PT_SECRET");
      Deno.env.delete("DOTCOMPUTE_PT_VISIBLE");
    }
  },
});

Deno.test("Deno.exit in the process fails the plugin with the reason; the host goes on", async () => {
  await using t = await hostFor({ echo, worker });
  await t.host.start();
  const p = t.host.getPlugin("proc.echo")!;
  const crashed = nextEvent(t.host, "crash", (e) => (e as { id: string }).id === "proc.echo");
  await assert.rejects(p.call("exit"), PluginCrashedError);
  await crashed;
  assert.equal(p.state, "Failed");
  assert.match(p.lastError!.message, /Deno\.exit \(code 7\)/);
  assert.equal(p.lastExit?.kind, "exit");
  assert.equal(await t.host.getPlugin("w.echo")!.call("ping"), "pong");
});

Deno.test("a process plugin allocating 2 GiB under MaxMemoryMB 64 ends with reason memory, alone", async () => {
  await using t = await hostFor({ echo, worker });
  await t.host.start();
  const p = t.host.getPlugin("proc.echo")!;
  const pid = await p.call("pid") as number;
  const crashed = nextEvent(t.host, "crash", (e) => (e as { id: string }).id === "proc.echo");
  await assert.rejects(p.call("hog"), PluginCrashedError);
  await crashed;
  assert.equal(p.state, "Failed");
  assert.equal(p.lastExit?.kind, "memory");
  assert.match(p.lastExit!.reason, /heap limit of 64 MiB/);
  assert.match(p.lastError!.message, /out of memory/);
  if (linux) assert.equal(await alive(pid), false);
  assert.equal(await t.host.getPlugin("w.echo")!.call("ping"), "pong", "another plugin keeps answering");
  await t.host.startPlugin("proc.echo");
  assert.equal(await p.call("echo", "back"), "back", "it can be started again");
});

Deno.test("a spinning process plugin is ended when stopped, and the host still stops", async () => {
  // CallTimeout also bounds loading and the stop hook, which a spinning plugin never answers.
  await using t = await hostFor({ echo, worker }, { Plugins: { CallTimeout: 3000, DrainTimeout: 100 } });
  await t.host.start();
  const p = t.host.getPlugin("proc.echo")!;
  const pid = await p.call("pid") as number;
  const spinning = p.call("spin").catch((e) => e);
  await new Promise((r) => setTimeout(r, 100));
  const t0 = performance.now();
  await t.host.stopPlugin("proc.echo");
  assert.ok(performance.now() - t0 < 12_000, `took ${performance.now() - t0} ms`);
  assert.ok(await spinning instanceof Error);
  if (linux) assert.equal(await alive(pid), false, "SIGKILL ended the busy loop");
  assert.equal(await t.host.getPlugin("w.echo")!.call("ping"), "pong");
  await t.host.stop();
  if (linux) assert.deepEqual(await pluginChildren(), []);
});

Deno.test("a garbled stdout is a protocol error that ends the process alone", async () => {
  await using t = await hostFor({ echo, worker });
  await t.host.start();
  const p = t.host.getPlugin("proc.echo")!;
  const protocolError = new Promise<string>((resolve) =>
    t.host.on("protocolError", (e) => resolve(e.reason))
  );
  const crashed = nextEvent(t.host, "crash", (e) => (e as { id: string }).id === "proc.echo");
  await assert.rejects(p.call("garble"), PluginCrashedError);
  await crashed;
  assert.match(await protocolError, /bad frame length 4294967295/);
  assert.equal(p.state, "Failed");
  assert.equal(p.lastExit?.kind, "crash");
  assert.equal(await t.host.getPlugin("w.echo")!.call("ping"), "pong");
});

Deno.test("a process plugin whose module throws fails to load with the error", async () => {
  const broken: PluginSource = {
    manifest: { id: "proc.echo" },
    code: `throw new TypeError("bad top level");`,
  };
  await using t = await hostFor({ echo: broken });
  await t.host.start();
  const p = t.host.getPlugin("proc.echo")!;
  assert.equal(p.state, "Failed");
  assert.match(p.lastError!.message, /TypeError: bad top level/);
  if (linux) assert.deepEqual(await pluginChildren(), []);
});

Deno.test("a process plugin reports health and metrics and swaps to a new process on reload", async () => {
  const v1: PluginSource = {
    manifest: { id: "proc.echo", capabilities: ["HotReloadable"] },
    code: `export default {
      health() { return { status: "degraded", details: { pid: Deno.pid } }; },
      methods: { pid() { return Deno.pid; }, version() { return 1; } },
    };`,
  };
  await using t = await hostFor({ echo: v1 });
  await t.host.start();
  const p = t.host.getPlugin("proc.echo")!;
  const oldPid = await p.call("pid") as number;
  assert.deepEqual(await p.checkHealth(), { status: "degraded", details: { pid: oldPid } });
  await Deno.writeTextFile(
    join(t.root, "plugins", "echo", "mod.ts"),
    `export default { methods: { pid() { return Deno.pid; }, version() { return 2; } } };`,
  );
  await t.host.reload("proc.echo");
  assert.equal(p.state, "Running");
  assert.equal(await p.call("version"), 2);
  const newPid = await p.call("pid") as number;
  assert.notEqual(newPid, oldPid);
  if (linux) {
    assert.equal(await alive(oldPid), false, "the old version's process ended after the swap");
    assert.deepEqual(await pluginChildren(), [newPid]);
  }
  assert.equal(p.getMetrics().calls, 3, "health checks are not calls");
});

Deno.test({
  name: "process tier: a child busy in a loop ends by itself when its host is SIGKILLed",
  ignore: !linux,
  fn: async () => {
    const out = await hostProcess({
      id: "orphan",
      code: "export default { methods: { pid: () => Deno.pid, spin() { for (;;) {} } } };",
      plugins: { orphan: { Isolation: "process" } },
      dispose: false,
      body: `const p = host.getPlugin("orphan");
        console.log("child " + await p.call("pid"));
        p.call("spin").catch(() => {});
        await new Promise((r) => setTimeout(r, 300)); // the call reached the child: it spins
        Deno.kill(Deno.pid, "SIGKILL");`,
    });
    assert.equal(out.signal, "SIGKILL");
    const pid = Number(/child (\d+)/.exec(out.stdout)?.[1]);
    assert.ok(pid > 0, out.stderr);
    // The orphan's watchdog looks every 500 ms: poll /proc for it to go, for at most 10 s.
    const alive = async () => (await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "")).split(" ")[2];
    const state = await pollUntil(alive, (s) => !s || s === "Z");
    if (state && state !== "Z") Deno.kill(pid, "SIGKILL"); // do not leave it spinning if the test fails
    assert.ok(
      !state || state === "Z",
      `the child ${pid} still runs (state ${state}) 10 s after its host died`,
    );
  },
});
