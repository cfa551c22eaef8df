// Node's compatibility layer reaches the whole host process where Deno's permissions do not look:
// `process.kill` signals it, and node:worker_threads' Worker starts a thread that would run unhardened. Loading
// the layer costs a Worker ~3 MiB and ~10 ms, so the runtime never loads it; it hardens it at the moment it
// loads, whichever route loads it (the `process` global, an import of any node: module, require, an npm
// package), before the plugin holds any part of it.
//
// How it notices: Deno 2.9 loads the layer lazily, and its modules announce themselves on Deno's internals
// object, which _harden.ts hides from the plugin. node:worker_threads sets `__initWorkerThreads` while it loads
// (so does node:module, which imports it: every require and CommonJS package), and node:process loads fully if
// asked from that setter. node:process sets `__bootstrapNodeProcess` and calls it at the end of its own
// evaluation, when its default export cannot be read yet: the plugin's `import "node:process"` goes through
// node_process.ts (the import map), which hardens before it exports; the `process` global is hardened before
// it is returned; any other route (an npm ES module importing node:process) is hardened a microtask later.
//
// The plugin's code may have run before any of this: nothing here trusts a global the plugin can change. Every
// builtin is taken when the runtime starts, descriptors have no prototype, and lookups are own-property only.

import { closeNodeAmbient, type NodeBuiltins } from "./_ambient_node.ts";
import { placeholdersDuring } from "./_ambient.ts";
import { closeNodeCode } from "./_import_hook.ts";
import { lock } from "./_define.ts";

type Refuse = (what: string) => never;
type Post = (message: unknown) => void;
type Fn = (this: unknown, ...args: unknown[]) => unknown;

const { apply } = Reflect;
const { defineProperty, getOwnPropertyDescriptor, getPrototypeOf, hasOwn, setPrototypeOf } = Object;
const { isInteger } = Number;
const { isArray } = Array;
const startsWith = String.prototype.startsWith;
const ErrorCtor = Error;
const captureStackTrace = Error.captureStackTrace;
const queue = queueMicrotask;

let hardenNow: () => boolean = () => true;

/** Hardens node:process now if it is loaded (node_process.ts calls it as it loads); a no-op outside plugins. */
export function guardNode(): void {
  hardenNow();
}

/** A descriptor without a prototype, so that no inherited `get` or `value` can slip into it. */
function own(desc: PropertyDescriptor | undefined): PropertyDescriptor | undefined {
  return desc && setPrototypeOf(desc, null);
}

/**
 * The structured stack of the caller (its top `frames` frames), or undefined when the plugin has made that
 * impossible.
 */
function stackSites(frames = 32): readonly object[] | undefined {
  const saved = own(getOwnPropertyDescriptor(ErrorCtor, "prepareStackTrace"));
  const limit = own(getOwnPropertyDescriptor(ErrorCtor, "stackTraceLimit"));
  try {
    defineProperty(ErrorCtor, "prepareStackTrace", {
      __proto__: null,
      value: (_: unknown, sites: object[]) => sites,
      configurable: true,
      writable: true,
    } as PropertyDescriptor);
    defineProperty(ErrorCtor, "stackTraceLimit", { __proto__: null, value: frames } as PropertyDescriptor);
    const holder: { stack?: unknown } = { __proto__: null } as { stack?: unknown };
    captureStackTrace(holder);
    const desc = getOwnPropertyDescriptor(holder, "stack");
    const sites = desc && hasOwn(desc, "value") ? desc.value : apply(desc?.get as Fn, holder, []);
    return isArray(sites) ? sites : undefined;
  } catch {
    return undefined;
  } finally {
    try {
      if (saved) defineProperty(ErrorCtor, "prepareStackTrace", saved);
      else delete (ErrorCtor as { prepareStackTrace?: unknown }).prepareStackTrace;
      if (limit) defineProperty(ErrorCtor, "stackTraceLimit", limit);
    } catch { /* the plugin locked them: it only changed its own error messages */ }
  }
}

/** CallSite's own methods, taken before the plugin could see (and patch) a CallSite. */
function callSiteMethods(): { file: Fn; isConstructor: Fn } | undefined {
  const site = stackSites(1)?.[0]; // one frame is a CallSite: every start pays for the frames taken
  if (!site) return undefined;
  const proto = getPrototypeOf(site) as { getFileName: Fn; isConstructor: Fn };
  return { file: proto.getFileName, isConstructor: proto.isConstructor };
}

/** Installs the setters on `internals`; `post` reports an exit to the host first. */
export function installNodeGuards(
  internals: Record<string, unknown> | undefined,
  post: Post,
  refuse: Refuse,
  closeFds: boolean,
  builtins: () => NodeBuiltins,
): void {
  const site = callSiteMethods();
  const global = getOwnPropertyDescriptor(globalThis, "process");
  const readProcess = global?.get ? () => apply(global.get as Fn, globalThis, []) : () => global?.value;
  let done = false;
  /**
   * One of Node's modules is evaluating (hardening was set off by its announcement): a module loaded now could
   * be a circular load of one of them (measured: node:worker_threads, whose node:process boots first).
   */
  let insideNodeLoad = false;
  const whileLoading = (f: () => void): void => {
    insideNodeLoad = true;
    try {
      f();
    } finally {
      insideNodeLoad = false;
    }
  };
  let workerThreads = internals === undefined || hasOwn(internals, "__initWorkerThreads");

  /**
   * Whether Node's own code is on the stack (a node: module reading the `process` global while it evaluates,
   * say): then loading another of Node's modules could close a circle. Cannot tell: assume so (the work waits
   * a microtask).
   */
  const nodeOnStack = (): boolean => {
    const sites = stackSites();
    if (!sites || !site) return true;
    for (let i = 0; i < sites.length; i++) {
      const file = apply(site.file, sites[i], []);
      if (typeof file !== "string") continue;
      if (apply(startsWith, file, ["ext:deno_node/"]) || apply(startsWith, file, ["node:"])) return true;
    }
    return false;
  };

  /**
   * A node:worker_threads Worker is being built: a constructor of that module is on the stack, however it was
   * called (a subclass, Reflect.construct with another prototype, a renamed class). Names are not compared: a
   * plugin can rename a class, not move its code to another file.
   */
  const buildingNodeWorker = (): boolean => {
    if (!workerThreads) return false;
    const sites = stackSites();
    if (!sites || !site) return true; // cannot tell: refuse
    for (let i = 0; i < sites.length; i++) {
      if (apply(site.isConstructor, sites[i], []) !== true) continue;
      const file = apply(site.file, sites[i], []);
      if (typeof file === "string" && apply(startsWith, file, ["ext:deno_node/worker_threads"])) return true;
    }
    return false;
  };

  const viaProcess = (exit: Fn) => (code?: number): never => {
    post({ v: 1, t: "exit", how: "process.exit", code: isInteger(code) ? code : 0 });
    return apply(exit, undefined, [code]) as never;
  };

  hardenNow = (): boolean => {
    if (done) return true;
    let process: Record<string, Fn>;
    try {
      process = readProcess() as Record<string, Fn>;
    } catch {
      return false; // node:process is still evaluating; its importer hardens it when it ends
    }
    if (!process || typeof process !== "object") return false;
    done = true;
    lock(process, "kill", () => refuse("process.kill"));
    lock(process, "_kill", () => refuse("process.kill")); // what the `kill` export calls
    lock(process, "abort", () => refuse("process.abort"));
    const exit = process.exit;
    const reallyExit = process.reallyExit;
    lock(process, "exit", viaProcess((code) => apply(exit, process, [code])));
    lock(process, "reallyExit", viaProcess((code) => apply(reallyExit, process, [code])));
    // The EventEmitter under `process` is the one node:worker_threads' Worker extends; its constructor runs
    // `EventEmitter.init` (looked up on each call, as in Node) before it creates the thread.
    const EventEmitter =
      (getPrototypeOf(getPrototypeOf(process)) as { constructor: { init: Fn } }).constructor;
    const init = EventEmitter.init;
    lock(EventEmitter, "init", function (this: unknown, ...args: unknown[]): unknown {
      if (buildingNodeWorker()) refuse("node:worker_threads Worker");
      return apply(init, this, args);
    });
    closeNodeAmbient(
      process as unknown as Record<string, unknown>,
      refuse,
      closeFds,
      insideNodeLoad || nodeOnStack(),
      builtins,
    );
    closeNodeCode(process as unknown as Record<string, unknown>, refuse);
    return true;
  };

  if (internals?.__nodeBootstrapArgs === undefined) {
    workerThreads = true; // a Deno that loads Node's layer eagerly, or a thread where it is loaded already
    hardenNow();
    return;
  }
  if (hasOwn(internals, "__bootstrapNodeProcess")) hardenNow();
  announce(internals, "__initWorkerThreads", () => {
    workerThreads = true;
    whileLoading(hardenNow);
  });
  announce(internals, "__bootstrapNodeProcess", () => {
    whileLoading(() => {
      if (!hardenNow()) queue(hardenNow);
    });
  }, placeholdersDuring);
  if (global?.get) {
    // `process` as a global: hardened before it is first returned. The plugin may still assign its own.
    let own: { value: unknown } | undefined;
    defineProperty(globalThis, "process", {
      __proto__: null,
      configurable: true, // Deno may redefine it; a plugin that does only loses its own way to `process`
      enumerable: global.enumerable,
      get(): unknown {
        if (own) return own.value;
        const process = readProcess();
        hardenNow();
        return process;
      },
      set(value: unknown): void {
        own = { __proto__: null, value } as { value: unknown };
      },
    } as PropertyDescriptor);
  }
}

/**
 * Calls `then` after Node's layer assigns `key` on `internals`; the value is kept as it was given, or as `wrap`
 * makes it.
 */
function announce(
  internals: Record<string, unknown>,
  key: string,
  then: () => void,
  wrap?: (f: Fn) => Fn,
): void {
  if (hasOwn(internals, key)) return then();
  let value: unknown;
  defineProperty(internals, key, {
    __proto__: null,
    configurable: true,
    enumerable: true,
    get: () => value,
    set(v: unknown): void {
      value = wrap && typeof v === "function" ? wrap(v as Fn) : v;
      then();
    },
  } as PropertyDescriptor);
}
