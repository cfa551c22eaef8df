// Every route from a string to running code that needs no eval: node:vm (each export, the default object,
// require, process.getBuiltinModule), Module.prototype._compile, a registerHooks load hook's `source`, a computed
// data: or blob: import, a string timer, node:inspector. Each is refused in both tiers, with V8's
// --disallow-code-generation-from-strings and without it (it stops none of these).
import assert from "node:assert/strict";
import { hostProcess } from "./_attack.ts";

const ROUTES: Record<string, string> = {
  vmBare: `(await import("vm")).runInThisContext("6 * 7")`,
  processChdirNamed:
    `typeof (await import("node:process")).abort === "function" && (await import("node:process")).chdir("/") === 42`,
  vmNamed: `(await import("node:vm")).runInThisContext("6 * 7")`,
  vmDefault: `(await import("node:vm")).default.runInThisContext("6 * 7")`,
  vmScript: `new (await import("node:vm")).Script("6 * 7").runInThisContext()`,
  vmNewContext: `(await import("node:vm")).runInNewContext("6 * 7")`,
  vmCompileFunction: `(await import("node:vm")).compileFunction("return 6 * 7")()`,
  vmSourceTextModule:
    `typeof new (await import("node:vm")).SourceTextModule("export default 42") === "object" ? 42 : 0`,
  vmRequire: `(await import("node:module")).createRequire(import.meta.url)("vm").runInThisContext("6 * 7")`,
  vmBuiltin: `process.getBuiltinModule("node:vm").runInThisContext("6 * 7")`,
  vmBuiltinScript: `new (process.getBuiltinModule("vm").Script)("6 * 7").runInThisContext()`,
  moduleCompile:
    `(() => { const M = process.getBuiltinModule("node:module"); const m = new M("x"); m._compile("module.exports = 42", "/x.js"); return m.exports; })()`,
  // The plugin's own file and text, so that only the changed wrapper is wrong.
  moduleWrap:
    `(() => { const M = process.getBuiltinModule("node:module"); M.wrap = () => "(function (exports, require, module) { module.exports = 6 * 7; })"; const file = new URL(import.meta.url).pathname; const m = new M(file); m._compile(Deno.readTextFileSync(file), file); return m.exports; })()`,
  loadHookNamed:
    `(async () => { (await import("node:module")).registerHooks({ resolve: (s, c, n) => s === "virt:x" ? { url: "file:///virt.js", shortCircuit: true } : n(s, c), load: (u, c, n) => u === "file:///virt.js" ? { format: "module", source: "export default 42", shortCircuit: true } : n(u, c) }); return (await import("virt:x")).default; })()`,
  loadHookDefault: `(await import("node:module")).default.registerHooks({})`,
  loadHookBuiltin: `process.getBuiltinModule("node:module").register("data:text/javascript,")`,
  dataComputed: `(await import("data:text/javascript," + "export default 6 * 7")).default`,
  blob:
    `(await import(URL.createObjectURL(new Blob(["export default 42"], { type: "text/javascript" })))).default`,
  setTimeoutString: `await new Promise((r) => { globalThis.r = r; setTimeout("globalThis.r(6 * 7)", 0); })`,
  inspector:
    `await (async () => { const s = new (await import("node:inspector")).Session(); s.connect(); return await new Promise((r) => s.post("Runtime.evaluate", { expression: "42" }, (e, v) => r(v?.result?.value))); })()`,
};

const code = `export default { methods: { async routes() {
  const out = {};
  ${
  Object.entries(ROUTES).map(([name, expr]) =>
    `try { out[${JSON.stringify(name)}] = String(await (async () => ${expr})()); } catch (e) { out[${
      JSON.stringify(name)
    }] = "refused: " + e?.message; }`
  ).join("\n  ")
}
  return out;
} } };`;

const body = `const out = await host.getPlugin("coder").call("routes");
console.log("RESULT " + JSON.stringify(out));`;

for (
  const [name, isolation, flags] of [
    ["worker, V8 flag", "worker", ["--v8-flags=--disallow-code-generation-from-strings"]],
    ["worker, no V8 flag", "worker", []],
    ["process", "process", []],
  ] as const
) {
  Deno.test(`codegen routes: each route from a string to code is refused (${name})`, async () => {
    const run = await hostProcess({
      id: "coder",
      code,
      body,
      flags,
      plugins: { coder: { Isolation: isolation } },
    });
    const line = run.stdout.split("\n").find((l) => l.startsWith("RESULT "));
    assert.ok(line, `no result (code ${run.code}): ${run.stderr.slice(-2000)}`);
    const out = JSON.parse(line.slice(7)) as Record<string, string>;
    for (const route of Object.keys(ROUTES)) {
      assert.match(out[route], /^refused: /, `${route} ran: ${out[route]}`);
      assert.doesNotMatch(out[route], /42/, route);
    }
  });
}

Deno.test("codegen routes: node:vm's named exports are refused without the import hook too", async () => {
  // No computed import anywhere: the runtime installs no hook, the import map alone sends node:vm to the wrapper.
  const run = await hostProcess({
    id: "plain",
    code: `export default { methods: { async routes() {
      try { return String((await import("node:vm")).runInThisContext("6 * 7")); } catch (e) { return "refused: " + e.message; }
    } } };`,
    body: `console.log("RESULT " + JSON.stringify(await host.getPlugin("plain").call("routes")));`,
  });
  const line = run.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  assert.ok(line, `no result (code ${run.code}): ${run.stderr.slice(-2000)}`);
  assert.match(JSON.parse(line.slice(7)), /^refused: node:vm runInThisContext/);
});
