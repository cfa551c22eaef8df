// Runs inside the plugin's worker before the plugin's code loads. Permissions already fence files, network,
// env, subprocesses and FFI; this closes the routes that need no permission: signalling or aborting the whole
// host process, changing its working directory or signal handling, starting workers (Deno's or Node's: a new
// thread would start unhardened), prompting for permissions, and generating code from strings.
import { EventEmitter } from "node:events";
import process from "node:process";
import { Worker as NodeWorker } from "node:worker_threads";
import * as pluginProcess from "./node_process.ts";

type Post = (message: unknown) => void;

function refuse(what: string): never {
  throw new Deno.errors.NotCapable(`${what} is not available to plugins`);
}

function replace(target: object, key: string, value: unknown): void {
  try {
    Object.defineProperty(target, key, { value, writable: false, configurable: false });
  } catch { /* already locked down */ }
}

/** Reports the worker's own ending first, since the host gets no event when a worker exits by itself. */
function reportExits(post: Post): void {
  const exit = Deno.exit.bind(Deno);
  replace(Deno, "exit", (code?: number): never => {
    post({ v: 1, t: "exit", how: "Deno.exit", code: Number.isInteger(code) ? code : 0 });
    return exit(code);
  });
  const close = globalThis.close.bind(globalThis);
  replace(globalThis, "close", (): void => {
    post({ v: 1, t: "exit", how: "close()", code: 0 });
    close();
  });
  const processExit = process.exit.bind(process);
  const viaProcess = (code?: number): never => {
    post({ v: 1, t: "exit", how: "process.exit", code: Number.isInteger(code) ? code : 0 });
    return processExit(code);
  };
  replace(process, "exit", viaProcess);
  replace(process, "reallyExit", viaProcess);
}

/**
 * node:worker_threads' Worker is reachable by import, require, getBuiltinModule and from any npm package, each a
 * binding no patch can replace; but every one of them is the same class, and its constructor runs
 * `EventEmitter.init` (looked up on each call, as in Node) before it creates the thread.
 */
function refuseNodeWorkers(): void {
  const init = (EventEmitter as unknown as { init: (this: unknown, ...args: unknown[]) => void }).init;
  replace(EventEmitter, "init", function (this: unknown, ...args: unknown[]): void {
    if (this instanceof NodeWorker) refuse("node:worker_threads Worker");
    init.apply(this, args);
  });
}

function blockCodeGeneration(): void {
  try {
    new Function("");
  } catch {
    return; // --disallow-code-generation-from-strings is on: V8 itself refuses.
  }
  // Without the V8 flag (a library host started without it), take the constructors away instead.
  const refuser = function (): never {
    return refuse("Code generation from strings");
  };
  replace(globalThis, "eval", refuser);
  const kinds = [
    function () {},
    async function () {},
    function* () {},
    async function* () {},
  ].map((f) => Object.getPrototypeOf(f) as object);
  for (const proto of kinds) replace(proto, "constructor", refuser);
  replace(globalThis, "Function", refuser);
}

/** Applies every restriction; `post` reaches the host. */
export function harden(post: Post): void {
  // Read by node_process.ts, the node:process that plugins import through the package's import map.
  Object.defineProperty(globalThis, Symbol.for("dotcompute.plugins.sandboxed"), { value: true });
  reportExits(post);
  replace(Deno, "kill", () => refuse("Deno.kill"));
  replace(process, "kill", () => refuse("process.kill"));
  // The real `kill` export calls process._kill, so this closes it even without the import map.
  replace(process, "_kill", () => refuse("process.kill"));
  replace(process, "abort", () => refuse("process.abort"));
  const getBuiltinModule = process.getBuiltinModule.bind(process);
  replace(process, "getBuiltinModule", (id: string): unknown => {
    return id === "process" || id === "node:process" ? pluginProcess : getBuiltinModule(id);
  });
  // A plugin's own workers would escape the host's supervision (and their errors reach the host's process).
  replace(globalThis, "Worker", function Worker(): never {
    return refuse("Worker");
  });
  refuseNodeWorkers();
  // Both are process-wide: the host's cwd (every relative path it resolves) and its signal handling (a
  // listener suppresses the default action, so SIGTERM would no longer end an embedding host).
  replace(Deno, "chdir", () => refuse("Deno.chdir"));
  replace(Deno, "addSignalListener", () => refuse("Deno.addSignalListener"));
  const denied = (): never => refuse("Deno.permissions.request");
  replace(Deno.permissions, "request", denied);
  replace(Deno.permissions, "requestSync", denied);
  blockCodeGeneration();
}
