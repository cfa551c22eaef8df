// The sandbox against real attacking plugins: what a plugin granted nothing cannot do, what a plugin granted one
// folder and one endpoint can do and nothing next to it, and that no attack ends or signals the host.
import assert from "node:assert/strict";
import { join } from "node:path";
import { hostWith, type PluginSource } from "./_helpers.ts";

interface Outcome {
  ok: boolean;
  name?: string;
  message?: string;
  value?: unknown;
}

/** A plugin whose `attempt(kind, arg)` tries one thing and reports what happened. */
function probe(id: string, secret: string, extra: Record<string, unknown> = {}): PluginSource {
  return {
    manifest: { id, ...extra },
    files: {
      // A node:worker_threads worker whose own static import reaches outside the plugin folder.
      "inner.mjs": `import s from ${JSON.stringify(secret + ".json")} with { type: "json" };
        (await import("node:worker_threads")).parentPort.postMessage(JSON.stringify(s));`,
    },
    code: `
      const attacks = {
        readFile: (p) => Deno.readTextFile(p),
        writeFile: (p) => Deno.writeTextFile(p, "x"),
        importJson: () => import(${JSON.stringify(secret + ".json")}, { with: { type: "json" } }),
        importTs: () => import(${JSON.stringify(secret + ".ts")}),
        importData: () => import("data:text/javascript,export default Deno.readTextFileSync(" +
          ${JSON.stringify(JSON.stringify(secret + ".json"))} + ")"),
        worker: () => new Worker(new URL("./mod.ts", import.meta.url), { type: "module" }),
        fetch: async (url) => (await fetch(url)).text(),
        env: () => Deno.env.get("HOME"),
        run: () => new Deno.Command("true").output(),
        ffi: () => Deno.dlopen("libc.so.6", {}),
        sys: () => Deno.hostname(),
        kill: () => Deno.kill(Deno.pid, "SIGKILL"),
        processKill: async () => (await import("node:process")).kill(Deno.pid, "SIGKILL"),
        processAbort: async () => (await import("node:process")).default.abort(),
        namedAbort: async () => (await import("node:" + "process")).abort(),
        builtinAbort: () => globalThis.process.getBuiltinModule("node:process").abort(),
        builtinKill: () => globalThis.process.getBuiltinModule("process").kill(Deno.pid, "SIGKILL"),
        nodeWorker: async () => {
          const { Worker } = await import("node:worker_threads");
          const w = new Worker(new URL("./inner.mjs", import.meta.url));
          return await new Promise((resolve, reject) => { w.on("message", resolve); w.on("error", reject); });
        },
        eval: () => eval("1 + 1"),
        newFunction: () => new Function("return 1")(),
        requestPermission: () => Deno.permissions.request({ name: "read" }),
      };
      export default {
        methods: {
          async attempt(kind, arg) {
            try {
              const value = await attacks[kind](arg);
              return { ok: true, value: typeof value === "string" ? value : typeof value };
            } catch (e) {
              return { ok: false, name: e?.name, message: String(e?.message ?? e) };
            }
          },
        },
      };`,
  };
}

async function secretFiles(root: string): Promise<string> {
  const dir = join(root, "outside");
  await Deno.mkdir(dir);
  await Deno.writeTextFile(join(dir, "secret.json"), '{"secret": "s3cr3t"}');
  await Deno.writeTextFile(join(dir, "secret.ts"), 'export default "s3cr3t";');
  return join(dir, "secret");
}

Deno.test("a plugin granted nothing can reach no file, network, env, process, FFI or system info", async () => {
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("hi"),
  );
  const root = await Deno.realPath(await Deno.makeTempDir());
  const secret = await secretFiles(root);
  const staticImport: PluginSource = {
    manifest: { id: "static-import" },
    code: `import s from ${
      JSON.stringify(secret + ".json")
    } with { type: "json" };\nexport default { methods: { s: () => s } };`,
  };
  await using t = await hostWith({ probe: probe("probe", secret), "static-import": staticImport }, {}, {
    restartPolicy: false, // the failed plugin must stay Failed to be looked at
  });
  await t.host.start();
  const p = t.host.getPlugin("probe")!;
  assert.equal(p.state, "Running");
  const attempt = (kind: string, arg?: unknown) => p.call("attempt", kind, arg) as Promise<Outcome>;
  const expectDenied = async (kind: string, arg: unknown, pattern: RegExp) => {
    const r = await attempt(kind, arg);
    assert.equal(r.ok, false, `${kind} should be denied, got ${JSON.stringify(r)}`);
    assert.match(r.message!, pattern, `${kind}: ${r.message}`);
  };
  await expectDenied("readFile", secret + ".json", /Requires read access to ".*secret\.json"/);
  await expectDenied("readFile", "/etc/hostname", /Requires read access/);
  await expectDenied("writeFile", join(root, "x.txt"), /Requires write access/);
  await expectDenied("importJson", null, /Requires read access to ".*secret\.json"/);
  await expectDenied("importTs", null, /Requires read access to ".*secret\.ts"/);
  await expectDenied("importData", null, /Requires read access/);
  await expectDenied("worker", null, /Worker is not available to plugins/);
  await expectDenied(
    "fetch",
    `http://127.0.0.1:${server.addr.port}/`,
    /Requires net access to "127\.0\.0\.1:\d+"/,
  );
  await expectDenied("env", null, /Requires env access/);
  await expectDenied("run", null, /Requires run access/);
  await expectDenied("ffi", null, /Requires ffi access/);
  await expectDenied("sys", null, /Requires sys access/);
  await expectDenied("kill", null, /Deno\.kill is not available to plugins/);
  await expectDenied("processKill", null, /process\.kill is not available to plugins/);
  await expectDenied("processAbort", null, /process\.abort is not available to plugins/);
  await expectDenied("namedAbort", null, /process\.abort is not available to plugins/);
  await expectDenied("builtinAbort", null, /process\.abort is not available to plugins/);
  await expectDenied("builtinKill", null, /process\.kill is not available to plugins/);
  await expectDenied("nodeWorker", null, /Requires read access/);
  await expectDenied("eval", null, /Code generation from strings|disallowed|not allowed/i);
  await expectDenied("newFunction", null, /Code generation from strings|disallowed|not allowed/i);
  await expectDenied("requestPermission", null, /not available to plugins/);

  const s = t.host.getPlugin("static-import")!;
  assert.equal(s.state, "Failed");
  assert.match(s.lastError!.message, /Requires read access to ".*secret\.json"/);
  // After all of it the host process is alive and the plugin still answers.
  assert.equal((await attempt("sys")).ok, false);
  assert.deepEqual(p.permissions.net, []);
  assert.deepEqual(p.permissions.env, []);
  await Deno.remove(root, { recursive: true });
});

Deno.test("a plugin granted one folder and one loopback endpoint uses exactly those", async () => {
  const hits: string[] = [];
  await using allowed = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    hits.push("allowed");
    return new Response("allowed");
  });
  await using other = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    hits.push("other");
    return new Response("other");
  });
  const root = await Deno.realPath(await Deno.makeTempDir());
  const secret = await secretFiles(root);
  const data = join(root, "data"), data2 = join(root, "data2");
  await Deno.mkdir(data);
  await Deno.mkdir(data2);
  await Deno.writeTextFile(join(data, "a.txt"), "A");
  await Deno.writeTextFile(join(data2, "b.txt"), "B");
  const endpoint = `127.0.0.1:${allowed.addr.port}`;
  await using t = await hostWith(
    { probe: probe("probe", secret, { permissions: { read: [data], net: [endpoint] } }) },
    {
      PluginSecurity: {
        probe: {
          AllowFileSystemAccess: true,
          AllowedPaths: [data],
          AllowNetworkAccess: true,
          AllowedNetworkEndpoints: [`http://${endpoint}`],
        },
      },
    },
  );
  await t.host.start();
  const p = t.host.getPlugin("probe")!;
  assert.ok(p.permissions.read.includes(data), JSON.stringify(p.permissions));
  assert.deepEqual(p.permissions.net, [endpoint]);
  const attempt = (kind: string, arg?: unknown) => p.call("attempt", kind, arg) as Promise<Outcome>;

  assert.deepEqual(await attempt("readFile", join(data, "a.txt")), { ok: true, value: "A" });
  assert.deepEqual(await attempt("fetch", `http://${endpoint}/`), { ok: true, value: "allowed" });
  for (
    const [kind, arg, pattern] of [
      ["readFile", join(data2, "b.txt"), /Requires read access/],
      ["readFile", join(data, "..", "outside", "secret.json"), /Requires read access/],
      ["readFile", secret + ".json", /Requires read access/],
      ["writeFile", join(data, "new.txt"), /Requires write access/],
      ["fetch", `http://127.0.0.1:${other.addr.port}/`, /Requires net access/],
      ["fetch", `http://localhost:${allowed.addr.port}/`, /Requires net access/],
      ["env", null, /Requires env access/],
    ] as const
  ) {
    const r = await attempt(kind, arg);
    assert.equal(r.ok, false, `${kind} ${arg} should be denied`);
    assert.match(r.message!, pattern);
  }
  assert.deepEqual(hits, ["allowed"]);
  await Deno.remove(root, { recursive: true });
});

const survivor: PluginSource = {
  manifest: { id: "survivor" },
  code: `export default { methods: { ping: () => "pong" } };`,
};

Deno.test("plugins that throw, exit or close themselves end Failed with the reason; the rest keep running", async () => {
  await using t = await hostWith(
    {
      survivor,
      "top-level-throw": {
        manifest: { id: "top-level-throw" },
        code: `throw new Error("boom at top level");`,
      },
      "start-throws": {
        manifest: { id: "start-throws" },
        code: `export default { start() { throw new TypeError("no database"); } };`,
      },
      "exits": { manifest: { id: "exits" }, code: `export default { start() { Deno.exit(3); } };` },
      "exits-at-load": { manifest: { id: "exits-at-load" }, code: `Deno.exit(4);` },
      "closes": { manifest: { id: "closes" }, code: `export default { initialize() { close(); } };` },
      "process-exit": {
        manifest: { id: "process-exit" },
        code: `import process from "node:process"; export default { start() { process.exit(5); } };`,
      },
      "never-settles": {
        manifest: { id: "never-settles" },
        code: `await new Promise(() => {}); export default {};`,
      },
      "bad-export": { manifest: { id: "bad-export" }, code: `export default 42;` },
    },
    { Plugins: { CallTimeout: 4000 } },
    { restartPolicy: false },
  );
  await t.host.start();
  const reason = (id: string) => {
    const p = t.host.getPlugin(id)!;
    assert.equal(p.state, "Failed", `${id} is ${p.state}`);
    return p.lastError!.message;
  };
  assert.match(reason("top-level-throw"), /boom at top level/);
  assert.match(reason("start-throws"), /TypeError|no database/);
  assert.match(reason("exits"), /Deno\.exit \(code 3\)/);
  assert.match(reason("exits-at-load"), /Deno\.exit \(code 4\)/);
  assert.match(reason("closes"), /close\(\)/);
  assert.match(reason("process-exit"), /process\.exit \(code 5\)|code 5/);
  assert.match(reason("never-settles"), /longer than 4000 ms/);
  assert.match(reason("bad-export"), /default export must be an object or a class/);
  assert.equal(await t.host.getPlugin("survivor")!.call("ping"), "pong");
  assert.equal(t.host.getStatistics().byState.Failed, 8);
});

Deno.test("the host's own tasks never prompt for a permission", async () => {
  const tasks = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url))).tasks;
  for (const name of ["start", "test", "cli", "bench"]) assert.match(tasks[name], /--no-prompt/, name);
});

Deno.test("without the V8 flag the runtime still takes eval and the Function constructors away", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir());
  const dir = join(root, "plugins", "evil");
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "plugin.jsonc"), '{ "id": "evil", "name": "evil", "version": "1.0.0" }');
  await Deno.writeTextFile(
    join(dir, "mod.ts"),
    `const tries = {
       eval: () => eval("1"),
       fn: () => new Function("return 1")(),
       ctor: () => (function () {}).constructor("return 1")(),
       asyncCtor: () => Object.getPrototypeOf(async function () {}).constructor("return 1")(),
     };
     export default { methods: { all() {
       return Object.fromEntries(Object.entries(tries).map(([k, f]) => {
         try { f(); return [k, "ran"]; } catch (e) { return [k, e.message]; }
       }));
     } } };`,
  );
  const script = join(root, "host.ts");
  await Deno.writeTextFile(
    script,
    `import { createPluginHost } from ${JSON.stringify(new URL("../mod.ts", import.meta.url).href)};
     await using host = await createPluginHost({ Plugins: { PluginsDirectory: ${
      JSON.stringify(join(root, "plugins"))
    } } });
     await host.start();
     console.log(JSON.stringify({ host: eval("1 + 1"), plugin: await host.getPlugin("evil")?.call("all") }));`,
  );
  const config = new URL("../deno.json", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--unstable-worker-options", "--no-prompt", "-A", "--config", config, script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const result = JSON.parse(text.trim().split("\n").at(-1)!);
  assert.equal(result.host, 2, "the host itself is not restricted");
  for (const k of ["eval", "fn", "ctor", "asyncCtor"]) {
    assert.match(result.plugin[k], /Code generation from strings is not available to plugins/, k);
  }
  await Deno.remove(root, { recursive: true });
});
