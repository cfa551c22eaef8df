/**
 * `node:process` as plugins see it. The package's import map (`imports` in deno.json) sends every module's
 * `node:process` here; this module's own folder keeps the real one. Outside a plugin worker every export is the
 * real one. Inside, loading this module hardens the `process` object (the runtime's _harden_node.ts), and the
 * named exports that node:process binds to Deno's internal ops when it loads — out of reach of any patch on the
 * object — refuse: `abort` would end the whole host process, `chdir` would move its working directory, and the
 * set*id family would change its credentials.
 *
 * @module
 */
import process from "node:process";
import { guardNode } from "./_node_bridge.ts"; // the runtime's own (see there)

// @ts-expect-error: the types of node:process use `export =`; at run time it has named exports to pass on.
export * from "node:process";
export default process;

guardNode();

const SANDBOXED = Symbol.for("dotcompute.plugins.sandboxed");
type Fn = (...args: unknown[]) => unknown;
const real = process as unknown as Record<string, Fn>;
const originals = { abort: real.abort, kill: real.kill, chdir: real.chdir };

function sandboxed(): boolean {
  return (globalThis as Record<symbol, unknown>)[SANDBOXED] === true;
}

function refuse(name: string): never {
  throw new Deno.errors.NotCapable(`process.${name} is not available to plugins`);
}

/** `process.abort`, refused inside a plugin worker. */
export function abort(): never {
  if (sandboxed()) refuse("abort");
  return originals.abort.call(process) as never;
}

/** `process.kill`, refused inside a plugin worker. */
export function kill(pid: number, signal?: string | number): true {
  if (sandboxed()) refuse("kill");
  return originals.kill.call(process, pid, signal) as true;
}

/** `process.chdir`, refused inside a plugin worker. */
export function chdir(directory: string): void {
  if (sandboxed()) refuse("chdir");
  originals.chdir.call(process, directory);
}

/** Credentials of the whole process: refused inside a plugin worker. */
function credential(name: string): (id: number | string) => void {
  const original = real[name];
  return (id: number | string): void => {
    if (sandboxed()) refuse(name);
    original.call(process, id);
  };
}

/** `process.setuid`, refused inside a plugin worker. */
export const setuid: (id: number | string) => void = credential("setuid");
/** `process.seteuid`, refused inside a plugin worker. */
export const seteuid: (id: number | string) => void = credential("seteuid");
/** `process.setgid`, refused inside a plugin worker. */
export const setgid: (id: number | string) => void = credential("setgid");
/** `process.setegid`, refused inside a plugin worker. */
export const setegid: (id: number | string) => void = credential("setegid");
