// Code generation from strings: eval and every Function constructor are refused (by V8 under the host's flag,
// by the runtime without it), and so is node:vm (codegen_routes_test.ts: every other route). And the host's own tasks never prompt for a permission.
import assert from "node:assert/strict";
import { join } from "node:path";
import { attacker, attackHost, CONFIG, hostProcess } from "./_attack.ts";

const CODEGEN = /Code generation from strings|disallowed|not allowed/i;
const vm = `(await import("node:vm"))`;

const coder = attacker("coder", {
  eval: `() => eval("1 + 1")`,
  indirectEval: `() => (0, globalThis["ev" + "al"])("1 + 1")`,
  newFunction: `() => new Function("return 1")()`,
  functionConstructor: `() => (function () {}).constructor("return 1")()`,
  asyncFunctionConstructor: `() => Object.getPrototypeOf(async function () {}).constructor("return 1")()`,
  generatorConstructor: `() => Object.getPrototypeOf(function* () {}).constructor("yield 1")().next()`,
  setTimeoutString: `() => setTimeout("globalThis.ran = 1", 0)`,
  vmSameGrants: `async (p) => ${vm}.runInThisContext("Deno.readTextFileSync(" + JSON.stringify(p) + ")")`,
  vmNewContextNoDeno: `async () => ${vm}.runInNewContext("Deno.kill(Deno.pid, 'SIGKILL')")`,
});

Deno.test("codegen: eval, the Function constructors and node:vm are refused", async (t) => {
  let target = "";
  await using h = await attackHost({ coder }, {
    prepare: async (root) => {
      await Deno.mkdir(join(root, "outside"));
      target = join(root, "outside", "secret.txt");
      await Deno.writeTextFile(target, "s3cr3t");
    },
  });
  const cases: [string, RegExp][] = [
    ["eval", CODEGEN],
    ["indirectEval", CODEGEN],
    ["newFunction", CODEGEN],
    ["functionConstructor", CODEGEN],
    ["asyncFunctionConstructor", CODEGEN],
    ["generatorConstructor", CODEGEN],
    ["setTimeoutString", /must be of type function/],
    // node:vm compiles strings whatever V8's flag says: refused (codegen_routes_test.ts has every route).
    ["vmSameGrants", /node:vm runInThisContext is not available to plugins/],
    ["vmNewContextNoDeno", /node:vm runInNewContext is not available to plugins/],
  ];
  for (const [attack, denial] of cases) {
    await t.step(`codegen: ${attack}`, () => h.denied("coder", attack, denial, target).then(() => {}));
  }
});

Deno.test("codegen: without the V8 flag the runtime still takes eval and the Function constructors away", async () => {
  const out = await hostProcess({
    id: "evil",
    code: `const tries = {
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
    body:
      `console.log(JSON.stringify({ host: eval("1 + 1"), plugin: await host.getPlugin("evil")?.call("all") }));`,
  });
  assert.equal(out.code, 0, out.stderr);
  const result = JSON.parse(out.stdout.trim().split("\n").at(-1)!);
  assert.equal(result.host, 2, "the host itself is not restricted");
  for (const k of ["eval", "fn", "ctor", "asyncCtor"]) {
    assert.match(result.plugin[k], /Code generation from strings is not available to plugins/, k);
  }
});

Deno.test("codegen: the host's own tasks never prompt and disallow code from strings", async () => {
  const tasks: Record<string, string> = JSON.parse(await Deno.readTextFile(CONFIG)).tasks;
  // "test" runs three tasks in turn (tests that measure the whole process run alone, then the examples of the
  // docs): those are checked.
  assert.equal(tasks.test, "deno task test:shared && deno task test:alone && deno task test:doc");
  for (const name of ["start", "test:shared", "test:alone", "test:doc", "cli", "bench"]) {
    assert.match(tasks[name], /--no-prompt/, name);
  }
  for (const name of ["start", "test:shared", "test:alone", "test:doc", "cli"]) {
    assert.match(tasks[name], /--v8-flags=--disallow-code-generation-from-strings/, name);
  }
});
