/**
 * `node:process` as plugins see it. The package's import map (`scopes` in deno.json) sends every module's
 * `node:process` here; this module's own folder keeps the real one. Outside a plugin worker every export is the
 * real one; inside, `abort` and `kill` — named exports that bind Deno's internal ops at load time, out of reach
 * of any patch on the `process` object — refuse, since they would reach the whole host process.
 *
 * @module
 */
import process from "node:process";

// @ts-expect-error: the types of node:process use `export =`; at run time it has named exports to pass on.
export * from "node:process";
export default process;

const SANDBOXED = Symbol.for("dotcompute.plugins.sandboxed");
const real = { abort: process.abort, kill: process.kill };

function sandboxed(): boolean {
  return (globalThis as Record<symbol, unknown>)[SANDBOXED] === true;
}

/** `process.abort`, refused inside a plugin worker. */
export function abort(): never {
  if (sandboxed()) throw new Deno.errors.NotCapable("process.abort is not available to plugins");
  return real.abort.call(process) as never;
}

/** `process.kill`, refused inside a plugin worker. */
export function kill(pid: number, signal?: string | number): true {
  if (sandboxed()) throw new Deno.errors.NotCapable("process.kill is not available to plugins");
  return real.kill.call(process, pid, signal) as true;
}
