// Runs inside the plugin's worker before the plugin's code loads. Permissions already fence files, network,
// env, subprocesses and FFI; this closes the routes that need no permission: signalling or aborting the whole
// host process, changing its working directory or signal handling, starting workers (Deno's or Node's: a new
// thread would start unhardened), prompting for permissions, generating code from strings, and Deno's internals.
// Node's compatibility layer is hardened when it loads, if it ever does (_harden_node.ts).
import { guardNode, installNodeGuards } from "./_harden_node.ts";
import { type AmbientControl, closeAmbient } from "./_ambient.ts";
import { installBudgets } from "./_budget.ts";
import { budgetNodeFs, budgetNodeFsPromises } from "./_budget_node.ts";
import { guardNodeCode } from "./_import_hook.ts";
import { provideNodeGuards } from "./_node_bridge.ts";
// Linked now, evaluated only when Node's layer loads: hardening it then needs node:fs and node:v8 at once, and
// `process.getBuiltinModule` at that moment can be a circular load (measured: node:worker_threads first).
// The node:* wrappers plugins import are not linked (_node_wrappers.ts).
import { builtins } from "./_node_builtins_deferred.ts";

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
}

/**
 * Takes Deno's internals object away from the plugin's reach. It holds the core: `evalContext` compiles strings
 * whatever V8's flag says, and the hooks of Node's layer live there (the runtime keeps its own reference).
 */
function takeInternals(): Record<string, unknown> | undefined {
  const key = (Deno as unknown as { internal?: symbol }).internal;
  if (key === undefined) return undefined;
  const internals = (Deno as unknown as Record<symbol, Record<string, unknown> | undefined>)[key];
  try {
    delete (Deno as unknown as Record<symbol, unknown>)[key];
  } catch { /* not configurable: nothing to take */ }
  return internals;
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

/** How {@linkcode harden} is run. */
export interface HardenOptions {
  /** Sends a message to the host alone (the plugin's stdio becomes log records through it). */
  readonly send: Post;
  /** The process tier: stdin and stdout are the plugin's channel to the host, not the host's stdio. */
  readonly processTier?: boolean;
}

/** Applies every restriction; `post` reaches the host (and a supervisor, for exits). */
export function harden(post: Post, options: HardenOptions): AmbientControl {
  // Read by node_process.ts, the node:process that plugins import through the package's import map.
  Object.defineProperty(globalThis, Symbol.for("dotcompute.plugins.sandboxed"), { value: true });
  const internals = takeInternals();
  reportExits(post);
  replace(Deno, "kill", () => refuse("Deno.kill"));
  // A plugin's own workers would escape the host's supervision (and their errors reach the host's process).
  replace(globalThis, "Worker", function Worker(): never {
    return refuse("Worker");
  });
  // Both are process-wide: the host's cwd (every relative path it resolves) and its signal handling (a
  // listener suppresses the default action, so SIGTERM would no longer end an embedding host).
  replace(Deno, "chdir", () => refuse("Deno.chdir"));
  replace(Deno, "addSignalListener", () => refuse("Deno.addSignalListener"));
  const denied = (): never => refuse("Deno.permissions.request");
  replace(Deno.permissions, "request", denied);
  replace(Deno.permissions, "requestSync", denied);
  installBudgets(internals); // descriptors, pending operations and timers: per-plugin budgets (_budget.ts)
  const ambient = closeAmbient(internals, options.send, refuse, options.processTier === true);
  installNodeGuards(internals, post, refuse, options.processTier !== true, () => builtins);
  provideNodeGuards({ guardNode, guardNodeCode, budgetNodeFs, budgetNodeFsPromises }); // for the node:* wrappers
  blockCodeGeneration();
  return ambient;
}
