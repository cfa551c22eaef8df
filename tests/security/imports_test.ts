// The module graph: every import a plugin makes (static, dynamic, JSON, TS, text, data: and blob: URLs, remote,
// jsr:) goes through its grants, and it starts no thread of its own (a new thread would start unhardened).
import assert from "node:assert/strict";
import { attacker, attackHost, hostProcess, secret } from "./_attack.ts";

const READ = /Requires read access to ".*secret\.(json|ts|txt)"/;
const CODE = /a computed (data|blob): import is code from a string/;
const REFUSED_THREAD = /Worker is not available to plugins/;
// A node:worker_threads thread that would SIGKILL the host if it ran unhardened.
const KILLER = `Deno.kill(Deno.pid, "SIGKILL")`;
const nodeWorker = (expr: string) =>
  `async (a) => { const { Worker } = await import("node:worker_threads"); const w = new Worker(${expr});
    return await new Promise((res, rej) => { w.on("error", rej); w.on("exit", (c) => res("exit " + c)); }); }`;

const importer = attacker("importer", {
  importJson: `(p) => import(p + ".json", { with: { type: "json" } })`,
  importTs: `(p) => import(p + ".ts")`,
  importText: `(p) => import(p + ".txt", { with: { type: "text" } })`,
  importOtherPlugin: `() => import(new URL("../innocent/mod.ts", import.meta.url).href)`,
  dataUrlReads: `async (p) => (await import("data:text/javascript,export default Deno.readTextFileSync(" +
    encodeURIComponent(JSON.stringify(p + ".json")) + ")")).default`,
  dataUrlImports: `async (p) => (await import("data:text/javascript,export { default } from " +
    encodeURIComponent(JSON.stringify("file://" + p + ".json")) + " with { type: 'json' }")).default`,
  blobUrlReads: `async (p) => (await import(URL.createObjectURL(new Blob(
    ["export default Deno.readTextFileSync(" + JSON.stringify(p + ".json") + ")"], { type: "text/javascript" })))).default`,
  blobUrlImports: `async (p) => (await import(URL.createObjectURL(new Blob(
    ["export { default } from " + JSON.stringify("file://" + p + ".ts")], { type: "text/javascript" })))).default`,
  dataUrlLiteral:
    `async () => (await import("data:text/javascript,export default Deno.readTextFileSync('/etc/shadow')")).default`,
  remoteImport: `() => import("https://" + "deno.land/std@0.224.0/path/mod.ts")`,
  jsrImport: `() => import("jsr:" + "@std/path@1")`,
  denoWorker: `() => new Worker("data:text/javascript," + encodeURIComponent(${
    JSON.stringify(KILLER)
  }), { type: "module" })`,
  nodeWorkerEval: nodeWorker(`${JSON.stringify(KILLER)}, { eval: true }`),
  nodeWorkerFile: nodeWorker(`new URL("./inner.mjs", import.meta.url)`),
  nodeWorkerRequire: `async () => { const { createRequire } = await import("node:module");
    const { Worker } = createRequire(import.meta.url)("worker_threads");
    return new Worker(${JSON.stringify(KILLER)}, { eval: true }); }`,
  nodeWorkerBuiltin: `() => { const { Worker } = globalThis.process.getBuiltinModule("node:worker_threads");
    return new Worker(${JSON.stringify(KILLER)}, { eval: true }); }`,
}, { files: { "inner.mjs": KILLER } });

Deno.test("imports: every import goes through the plugin's grants, and it starts no thread", async (t) => {
  let base = "";
  await using h = await attackHost({
    importer,
    "static-json": {
      manifest: { id: "static-json" },
      code:
        `import s from "../../outside/secret.json" with { type: "json" }; export default { methods: { s: () => s } };`,
    },
    "static-ts": {
      manifest: { id: "static-ts" },
      code: `import s from "../../outside/secret.ts"; export default { methods: { s: () => s } };`,
    },
  }, {
    prepare: async (root) => {
      base = (await secret(root, "secret.json", '{"secret": "s3cr3t"}')).replace(/\.json$/, "");
      await secret(root, "secret.ts", 'export default "s3cr3t";');
      await secret(root, "secret.txt", "s3cr3t");
    },
  });
  for (const id of ["static-json", "static-ts"]) {
    await t.step(`imports: ${id} fails to load`, async () => {
      const p = h.plugin(id);
      assert.equal(p.state, "Failed");
      assert.match(p.lastError!.message, READ);
      await h.healthy({ [id]: "Failed" });
    });
  }
  const cases: [string, RegExp][] = [
    ["importJson", READ],
    ["importTs", READ],
    ["importText", READ],
    ["importOtherPlugin", /Requires read access to ".*innocent/],
    // A computed data: or blob: module is code from a string, refused before it loads (codegen_routes_test);
    // a literal one goes through the plugin's grants.
    ["dataUrlReads", CODE],
    ["dataUrlImports", CODE],
    ["blobUrlReads", CODE],
    ["blobUrlImports", CODE],
    ["dataUrlLiteral", /Requires read access to "\/etc\/shadow"/],
    ["remoteImport", /Requires import access to "deno\.land:443"/],
    ["jsrImport", /Requires import access to "jsr\.io:443"/],
    ["denoWorker", REFUSED_THREAD],
    ["nodeWorkerEval", REFUSED_THREAD],
    ["nodeWorkerFile", REFUSED_THREAD],
    ["nodeWorkerRequire", REFUSED_THREAD],
    ["nodeWorkerBuiltin", REFUSED_THREAD],
  ];
  for (const [attack, denial] of cases) {
    await t.step(`imports: ${attack}`, () => h.denied("importer", attack, denial, base).then(() => {}));
  }
});

Deno.test("imports: with --cached-only an npm package the host has not cached cannot be fetched", async () => {
  // A name no registry has: without --cached-only this would be a request to the registry (a channel out).
  const name = `dotcompute-never-published-${crypto.randomUUID()}`;
  const out = await hostProcess({
    id: "npm-fetcher",
    code: `export default { methods: { async fetch(name) {
       try { await import("npm:" + name); return "loaded"; } catch (e) { return e.message; } } } };`,
    body: `console.log(JSON.stringify(await host.getPlugin("npm-fetcher").call("fetch", ${
      JSON.stringify(name)
    })));`,
    flags: ["--cached-only"],
    // Allowed, so that the gate of npm imports lets it through to the cache (npm_test.ts shows the gate).
    manifest: { permissions: { npm: [name] } },
    security: { AllowedNpmPackages: [name] },
  });
  assert.equal(out.code, 0, out.stderr);
  const message = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
  assert.match(message, new RegExp(`npm package not found in cache: "${name}", --cached-only is specified`));
  assert.doesNotMatch(out.stderr, /Download/, "nothing was fetched");
});
