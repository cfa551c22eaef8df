/**
 * `node:vm` as plugins see it (the package's import map sends every module's `node:vm` here; src/runtime/
 * keeps the real one). Outside a plugin worker every export is the real one. Inside, every export that
 * compiles code from a string refuses: node:vm compiles whatever V8's `--disallow-code-generation-from-strings`
 * says. The object that `require("vm")` and `process.getBuiltinModule` return is locked the same way when
 * Node's layer loads (_import_hook.ts).
 *
 * @module
 */
import vm from "node:vm";
import { guardNode, guardNodeCode } from "./_node_bridge.ts"; // the runtime's own (see there)

export * from "node:vm";
export default vm;

guardNode();
guardNodeCode();

const SANDBOXED = Symbol.for("dotcompute.plugins.sandboxed");
type Fn = (...args: unknown[]) => unknown;
const real = vm as unknown as Record<string, Fn>;

/** The real export outside plugins; a refuser (as a function and as a class) inside. */
function gated<T>(name: string): T {
  const original = real[name];
  return function (this: unknown, ...args: unknown[]): unknown {
    if ((globalThis as Record<symbol, unknown>)[SANDBOXED] === true) {
      throw new Deno.errors.NotCapable(`node:vm ${name} is not available to plugins`);
    }
    return new.target ? Reflect.construct(original, args, new.target) : Reflect.apply(original, this, args);
  } as unknown as T;
}

/** `vm.Script`, refused inside a plugin worker. */
export const Script: typeof vm.Script = gated("Script");
/** `vm.createScript`, refused inside a plugin worker. */
export const createScript: (code: string, options?: unknown) => vm.Script = gated("createScript");
/** `vm.runInContext`, refused inside a plugin worker. */
export const runInContext: typeof vm.runInContext = gated("runInContext");
/** `vm.runInNewContext`, refused inside a plugin worker. */
export const runInNewContext: typeof vm.runInNewContext = gated("runInNewContext");
/** `vm.runInThisContext`, refused inside a plugin worker. */
export const runInThisContext: typeof vm.runInThisContext = gated("runInThisContext");
/** `vm.compileFunction`, refused inside a plugin worker. */
export const compileFunction: typeof vm.compileFunction = gated("compileFunction");
/** `vm.SourceTextModule`, refused inside a plugin worker. */
export const SourceTextModule: unknown = gated("SourceTextModule");
/** `vm.SyntheticModule`, refused inside a plugin worker. */
export const SyntheticModule: unknown = gated("SyntheticModule");
/** `vm.Module`, refused inside a plugin worker. */
export const Module: unknown = gated("Module");
