/**
 * `node:module` as plugins see it (the package's import map sends every module's `node:module` here;
 * src/runtime/ keeps the real one). Outside a plugin worker every export is the real one. Inside,
 * `registerHooks` and `register` refuse: a plugin's hook would run before the runtime's import hook (and could
 * answer for it), and a load hook's `source` is code from a string. Loading this module hardens Node's layer
 * first (the CommonJS object's `registerHooks`, `register` and `Module.prototype._compile`: _import_hook.ts).
 *
 * @module
 */
import Module from "node:module";
import { guardNode, guardNodeCode } from "./_node_bridge.ts"; // the runtime's own (see there)

// @ts-expect-error: the types of node:module use `export =`; at run time it has named exports to pass on.
export * from "node:module";
export default Module;

guardNode();
guardNodeCode();

const SANDBOXED = Symbol.for("dotcompute.plugins.sandboxed");
type Fn = (...args: unknown[]) => unknown;
const real = Module as unknown as Record<string, Fn>;

function gated(name: string): Fn {
  const original = real[name];
  return function (this: unknown, ...args: unknown[]): unknown {
    if ((globalThis as Record<symbol, unknown>)[SANDBOXED] === true) {
      throw new Deno.errors.NotCapable(`node:module ${name} is not available to plugins`);
    }
    return Reflect.apply(original, this, args);
  };
}

/** `module.registerHooks`, refused inside a plugin worker. */
export const registerHooks: Fn = gated("registerHooks");
/** `module.register`, refused inside a plugin worker. */
export const register: Fn = gated("register");
