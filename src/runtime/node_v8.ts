/**
 * `node:v8` as plugins see it: the package's import map (`imports` in deno.json) sends every module's
 * `node:v8` here, as it does `node:process` (node_process.ts). Outside a plugin worker every export is the real
 * one. Inside, `setFlagsFromString` refuses: V8's flags belong to the whole process (one plugin could turn on
 * `--allow-natives-syntax` for every isolate, or turn code generation from strings back on), and the named
 * export is bound when node:v8 loads, out of reach of a patch on the module object (which the runtime makes
 * too, for `require` and `process.getBuiltinModule`: _ambient_node.ts).
 *
 * @module
 */
import v8 from "node:v8";

export * from "node:v8";
export default v8;

const SANDBOXED = Symbol.for("dotcompute.plugins.sandboxed");
const real = v8.setFlagsFromString;

/** `v8.setFlagsFromString`, refused inside a plugin worker. */
export function setFlagsFromString(flags: string): void {
  if ((globalThis as Record<symbol, unknown>)[SANDBOXED] === true) {
    throw new Deno.errors.NotCapable("v8.setFlagsFromString is not available to plugins");
  }
  real(flags);
}
