// Ambient authority: what a Deno Worker can do without any permission. A plugin granted nothing must not reach
// the host's stdio (writes become its tagged log records; reads get nothing), other plugins (BroadcastChannel,
// Web Locks, the Cache API), facts about the host process, process-wide V8 flags, or WebGPU without AllowGpu.
// Each attack runs in both tiers.
import assert from "node:assert/strict";
import { join } from "node:path";
import { attacker, attackHost, CONFIG, hostProcess, MOD } from "./_attack.ts";

const TIERS = ["worker", "process"] as const;
const node = (mod: string, body: string) => `async () => { const m = await import("node:${mod}"); ${body} }`;
const proc = `(await import("node:process")).default`;

const snoop = attacker("snoop", {
  cwd: `() => Deno.cwd()`,
  pid: `() => { if (Deno.pid === 0) throw new Error("pid 0"); return Deno.pid; }`,
  ppid: `() => { if (Deno.ppid === 0) throw new Error("ppid 0"); return Deno.ppid; }`,
  args: `() => { if (Deno.args.length > 0) return Deno.args.join(" "); throw new Error("no arguments"); }`,
  execPath:
    `() => { const p = Deno.execPath(); if (p.includes("/")) return p; throw new Error("no path: " + p); }`,
  rss: `() => { const m = Deno.memoryUsage(); if (m.rss > m.heapTotal + m.external) return m.rss;
    throw new Error("own memory only"); }`,
  cpuUsage: `() => Deno.cpuUsage()`,
  consoleSize: `() => Deno.consoleSize()`,
  telemetry: `() => Deno.telemetry.tracerProvider`,
  processPid: `async () => { const pid = ${proc}.pid; if (pid === 0) throw new Error("pid 0"); return pid; }`,
  processPpid:
    `async () => { const pid = ${proc}.ppid; if (pid === 0) throw new Error("ppid 0"); return pid; }`,
  processArgv:
    `async () => { const a = ${proc}.argv; if (a.length > 1 || a[0].includes("/")) return a.join(" ");
    throw new Error("no arguments"); }`,
  processExecPath: `async () => { const p = ${proc}.execPath; if (p.includes("/")) return p;
    throw new Error("no path: " + p); }`,
  processCwd: `async () => ${proc}.cwd()`,
  processCpuUsage: `async () => ${proc}.cpuUsage()`,
  processResourceUsage: `async () => ${proc}.resourceUsage()`,
  processReport: `async () => ${proc}.report.getReport()`,
  v8Flags: node("v8", `m.setFlagsFromString("--allow-natives-syntax");`),
  v8FlagsDefault: node("v8", `m.default.setFlagsFromString("--allow-natives-syntax");`),
  v8FlagsBuiltin:
    `async () => ${proc}.getBuiltinModule("node:v8").setFlagsFromString("--allow-natives-syntax")`,
  broadcast: `() => new BroadcastChannel("dotcompute").postMessage("hi")`,
  broadcastProto: `() => { const send = BroadcastChannel.prototype?.postMessage;
    if (!send) throw new Error("no BroadcastChannel class"); return send.call({}, "hi"); }`,
  nodeBroadcast: node("worker_threads", `new m.BroadcastChannel("dotcompute").postMessage("hi");`),
  locks: `() => navigator.locks.request("dotcompute", () => {})`,
  lockManager: `() => LockManager.prototype.query.call(null)`,
  caches: `() => caches.open("dotcompute")`,
  gpu: `() => navigator.gpu.requestAdapter()`,
  gpuProto: `() => GPU.prototype.requestAdapter.call(null)`,
});

const FACT = /Requires (read|sys) access|not available to plugins|no arguments|no path|own memory only/;
const CASES: readonly [string, RegExp][] = [
  ["cwd", /Requires read access to <CWD>/],
  ["pid", /^pid 0$/],
  ["ppid", /^ppid 0$/],
  ["args", /no arguments/],
  ["execPath", /no path: deno/],
  ["rss", /own memory only/],
  ["cpuUsage", /Deno\.cpuUsage .* is not available to plugins/],
  ["consoleSize", /Deno\.consoleSize is not available to plugins/],
  ["telemetry", /undefined/],
  ["processPid", /^pid 0$/],
  ["processPpid", /^ppid 0$/],
  ["processArgv", /no arguments/],
  ["processExecPath", /no path: deno/],
  ["processCwd", /Requires read access to <CWD>/],
  ["processCpuUsage", FACT],
  ["processResourceUsage", FACT],
  ["processReport", /not available to plugins|Requires sys access/],
  ["v8Flags", /setFlagsFromString is not available to plugins/],
  ["v8FlagsDefault", /setFlagsFromString .*is not available to plugins/],
  ["v8FlagsBuiltin", /setFlagsFromString .*is not available to plugins/],
  ["broadcast", /BroadcastChannel is not available to plugins/],
  ["broadcastProto", /BroadcastChannel is not available to plugins|no BroadcastChannel class/],
  ["nodeBroadcast", /BroadcastChannel is not available to plugins/],
  ["locks", /undefined/],
  ["lockManager", /navigator\.locks is not available to plugins/],
  ["caches", /caches is not defined|undefined/],
  ["gpu", /undefined/],
  ["gpuProto", /WebGPU \(PluginSecurity AllowGpu is false\) is not available to plugins/],
];

// A process-tier plugin has a process of its own: its pid and executable are that child's, not the host's.
const CHILD_OWN = new Set(["pid", "processPid", "execPath", "processExecPath"]);

for (const tier of TIERS) {
  Deno.test(`ambient (${tier} tier): facts about the host, channels, V8 flags and WebGPU are out of reach`, async (t) => {
    await using h = await attackHost({ snoop }, { config: { Plugins: { snoop: { Isolation: tier } } } });
    for (const [attack, denial] of CASES) {
      if (tier === "process" && CHILD_OWN.has(attack)) continue;
      await t.step(`ambient: ${attack}`, () => h.denied("snoop", attack, denial).then(() => {}));
    }
  });
}

const gpuUser = attacker("gpu.user", { gpu: `() => typeof navigator.gpu` });

Deno.test("ambient: AllowGpu gives a plugin navigator.gpu, in both tiers", async () => {
  for (const tier of TIERS) {
    await using h = await attackHost({ gpu: gpuUser }, {
      config: {
        Plugins: { "gpu.user": { Isolation: tier } },
        PluginSecurity: { "gpu.user": { AllowGpu: true } },
      },
    });
    assert.deepEqual(await h.plugin("gpu.user").call("gpu"), { ok: true, value: "object" }, tier);
  }
});

/** A plugin that writes a marker through every stdio route it has, and tries to read the host's stdin. */
const STDIO_PLUGIN = `
const marks = [];
const mark = (route) => { const m = "MARK-" + route + "-END"; marks.push(m); return m; };
const enc = (s) => new TextEncoder().encode(s + "\\n");
const tryRead = async (f) => { try { const v = await f(); return v == null ? "" : String(v); } catch { return ""; } };
export default { methods: {
  async write() {
    console.log(mark("console.log"), { a: 1 });
    console.error(mark("console.error"));
    console.warn(mark("console.warn"));
    console.info(mark("console.info"));
    console.debug(mark("console.debug"));
    console.table([mark("console.table")]);
    Deno.stdout.writeSync(enc(mark("Deno.stdout.writeSync")));
    await Deno.stdout.write(enc(mark("Deno.stdout.write")));
    Deno.stderr.writeSync(enc(mark("Deno.stderr.writeSync")));
    const w = Deno.stdout.writable.getWriter();
    await w.write(enc(mark("Deno.stdout.writable")));
    w.releaseLock();
    const process = (await import("node:process")).default;
    process.stdout.write(mark("process.stdout") + "\\n");
    process.stderr.write(mark("process.stderr") + "\\n");
    process._rawDebug(mark("process._rawDebug"));
    process.emitWarning(mark("process.emitWarning"));
    (await import("node:console")).default.log(mark("node:console"));
    new (await import("node:console")).Console(process.stdout).log(mark("node:console.Console"));
    return marks;
  },
  async raw() {
    const fs = await import("node:fs");
    const out = [];
    for (const [route, f] of [
      ["fs.writeSync(1)", (m) => fs.writeSync(1, m + "\\n")],
      ["fs.writeSync(2)", (m) => fs.writeSync(2, m + "\\n")],
      ["fs.writeFileSync(1)", (m) => fs.writeFileSync(1, m + "\\n")],
      ["tty.WriteStream(1)", async (m) => new (await import("node:tty")).WriteStream(1).write(m + "\\n")],
      ["net.Socket(fd 1)", async (m) => new (await import("node:net")).Socket({ fd: 1 }).write(m + "\\n")],
    ]) {
      try { await f(mark(route)); out.push(route + ": wrote"); } catch (e) { out.push(route + ": " + e.message); }
    }
    return out;
  },
  async read(fds) {
    const fs = await import("node:fs");
    const process = (await import("node:process")).default;
    const got = [
      await tryRead(async () => { const b = new Uint8Array(64); const n = await Deno.stdin.read(b); return n && new TextDecoder().decode(b.subarray(0, n)); }),
      await tryRead(() => { const b = new Uint8Array(64); const n = Deno.stdin.readSync(b); return n && new TextDecoder().decode(b.subarray(0, n)); }),
      await tryRead(async () => { for await (const c of Deno.stdin.readable) return new TextDecoder().decode(c); }),
    ];
    // In the process tier descriptor 0 is the plugin's own channel from the host: reading it blocks on frames.
    if (!fds) return got;
    got.push(
      await tryRead(() => { const b = new Uint8Array(64); const n = fs.readSync(0, b); return new TextDecoder().decode(b.subarray(0, n)); }),
      await tryRead(() => fs.readFileSync(0, "utf8")),
    );
    got.push(
      await tryRead(() => new Promise((resolve) => {
        process.stdin.on("data", (d) => resolve(String(d)));
        process.stdin.on("end", () => resolve(""));
        process.stdin.on("error", () => resolve(""));
      })),
      await tryRead(async () => { const net = await import("node:net"); return new Promise((resolve) => {
        const s = new net.Socket({ fd: 0 }); s.on("data", (d) => resolve(String(d)));
        s.on("error", () => resolve(""));
        s.on("end", () => resolve(""));
      }); }),
    );
    return got;
  },
} };`;

/** Runs a host in its own process over the stdio plugin; its stdin holds a secret; logs go to a file. */
async function stdioHost(
  tier: string,
  method: string,
  arg?: unknown,
): Promise<{ out: string; err: string; result: unknown; logs: string[] }> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_ambient_" }));
  try {
    const dir = join(root, "plugins", "talker");
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(
      join(dir, "plugin.jsonc"),
      JSON.stringify({ id: "talker", name: "t", version: "1.0.0" }),
    );
    await Deno.writeTextFile(join(dir, "mod.ts"), STDIO_PLUGIN);
    const logFile = join(root, "logs.jsonl");
    const resultFile = join(root, "result.json");
    const script = join(root, "host.ts");
    await Deno.writeTextFile(
      script,
      `import { configure } from "@logtape/logtape";
       import { createPluginHost } from ${JSON.stringify(MOD)};
       const lines = [];
       await configure({
         sinks: { file: (r) => lines.push(JSON.stringify({ category: r.category, level: r.level, message: r.rawMessage })) },
         loggers: [{ category: ["dotcompute"], sinks: ["file"], lowestLevel: "debug" },
                   { category: ["logtape", "meta"], sinks: [] }],
       });
       await using host = await createPluginHost({
         Plugins: { PluginsDirectory: ${JSON.stringify(join(root, "plugins"))}, talker: { Isolation: ${
        JSON.stringify(tier)
      } } },
       });
       await host.start();
       let result;
       try { result = await host.getPlugin("talker").call(${JSON.stringify(method)}, ${
        JSON.stringify(arg ?? null)
      }); }
       catch (e) { result = { failed: e.message }; }
       await host.stop();
       await Deno.writeTextFile(${JSON.stringify(resultFile)}, JSON.stringify(result));
       await Deno.writeTextFile(${JSON.stringify(logFile)}, lines.join("\\n"));`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--unstable-worker-options", "--no-prompt", "-A", "--config", CONFIG, script],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("HOST-STDIN-SECRET\n"));
    await writer.close();
    const output = await child.output();
    const text = new TextDecoder();
    const result = JSON.parse(await Deno.readTextFile(resultFile));
    const logs = (await Deno.readTextFile(logFile)).split("\n").filter(Boolean);
    return { out: text.decode(output.stdout), err: text.decode(output.stderr), result, logs };
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

for (const tier of TIERS) {
  Deno.test(`ambient (${tier} tier): every stdio write is a tagged log record, never a byte on the host's stdio`, async () => {
    const { out, err, result, logs } = await stdioHost(tier, "write");
    const marks = result as string[];
    assert.ok(Array.isArray(marks) && marks.length >= 15, JSON.stringify(result));
    assert.doesNotMatch(out, /MARK-/, "nothing reached the host's stdout");
    assert.doesNotMatch(err, /MARK-/, "nothing reached the host's stderr");
    for (const mark of marks) {
      const record = logs.find((l) => l.includes(mark));
      assert.ok(record, `${mark} became a log record`);
      assert.deepEqual(JSON.parse(record).category.slice(0, 3), ["dotcompute", "plugin", "talker"], record);
    }
  });

  Deno.test(`ambient (${tier} tier): a plugin reads nothing of the host's stdin`, async () => {
    const { result } = await stdioHost(tier, "read", tier === "worker");
    assert.ok(Array.isArray(result), JSON.stringify(result));
    for (const got of result as string[]) assert.doesNotMatch(got, /HOST-STDIN-SECRET/);
  });
}

Deno.test("ambient (worker tier): file descriptors 0-2 are out of reach of node:fs, node:tty and node:net", async () => {
  const { out, err, result } = await stdioHost("worker", "raw");
  assert.doesNotMatch(out, /MARK-/, "nothing reached the host's stdout");
  assert.doesNotMatch(err, /MARK-/, "nothing reached the host's stderr");
  for (const line of result as string[]) assert.doesNotMatch(line, /: wrote$/, line);
});

Deno.test("ambient (process tier): a plugin writing its stdout descriptor only garbles its own channel", async () => {
  const { out, err, result } = await stdioHost("process", "raw");
  assert.doesNotMatch(out, /MARK-/, "nothing reached the host's stdout");
  assert.doesNotMatch(err, /MARK-/, "nothing reached the host's stderr untagged");
  assert.match(JSON.stringify(result), /failed|wrote|not available/);
});

Deno.test("ambient: under --unstable-kv and --unstable-cron, Deno.openKv and Deno.cron are refused", async () => {
  const out = await hostProcess({
    id: "kv.user",
    flags: ["--unstable-kv", "--unstable-cron"],
    code: `export default { methods: { async both() {
      const tries = { kv: () => Deno.openKv(), cron: () => Deno.cron("x", "* * * * *", () => {}) };
      const out = {};
      for (const [k, f] of Object.entries(tries)) {
        try { await f(); out[k] = "ran"; } catch (e) { out[k] = e.message; }
      }
      return out;
    } } };`,
    body: `console.log(JSON.stringify(await host.getPlugin("kv.user").call("both")));`,
  });
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(JSON.parse(out.stdout.trim().split("\n").at(-1)!), {
    kv: "Deno.openKv is not available to plugins",
    cron: "Deno.cron is not available to plugins",
  });
});
