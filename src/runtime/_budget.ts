// Per-plugin budgets for what the whole process shares (SECURITY.md, "Budgets"): file descriptors and handles of
// every kind, pending operations that hold one (an async readFile holds an fd while it runs), and timers. The
// worker shares the host process's descriptor table: a plugin granted nothing once opened its own module 20,000
// times and the admin API stopped answering. Installed by harden() before the plugin's module loads, with
// builtins taken then; the load message sets the numbers (setBudgets) before the plugin's code runs.
//
// How it counts: Deno's own resource table (core.resources(), this isolate's open files, sockets, listeners,
// watchers, child processes, response bodies) is read when a handle is asked for, so whatever closes a handle
// (close(), `using`, a finished stream) releases it; operations in flight and handles that are not in the table
// (a WebSocket still connecting, Node's descriptors) are counted by the wrappers here. Past the budget the call
// throws in the plugin naming the budget and the key that raises it. A Worker-tier plugin is also charged in
// the host's process-wide pool (_budget_pool.ts) so that all of them together leave the host its reserve.
import { type BudgetPool, charge, openPool } from "./_budget_pool.ts";
import { wrapWeb } from "./_budget_web.ts";
import { original, wrapFunction, wrapLazily } from "./_lazy.ts";

type Fn = (this: unknown, ...args: unknown[]) => unknown;

const { apply, construct } = Reflect;
const { defineProperty, getOwnPropertyDescriptor, keys } = Object;
const then = Promise.prototype.then;
const ErrorCtor = Error;

/** Default `ResourceLimits.MaxHandles`: descriptors, handles and pending operations one plugin may hold. */
export const DEFAULT_MAX_HANDLES = 256;
/** Default `ResourceLimits.MaxTimers`: pending setTimeout/setInterval timers one plugin may hold. */
export const DEFAULT_MAX_TIMERS = 1024;

/** What the load message carries (src/rpc/protocol.ts `LoadMessage.budget`). */
export interface BudgetSpec {
  readonly maxHandles: number;
  readonly maxTimers: number;
  /** The host's descriptor pool for worker-tier plugins ([charged, capacity]), and this plugin's charge. */
  readonly pool?: SharedArrayBuffer;
  readonly slot?: SharedArrayBuffer;
}

let maxHandles = DEFAULT_MAX_HANDLES;
let maxTimers = DEFAULT_MAX_TIMERS;
/** Operations in flight and handles outside Deno's resource table. */
let counted = 0;
/** Resources the runtime itself held when the budgets were set (stdio, the process tier's channel). */
let baseline = 3;
let timers = 0;
let resources: (() => Record<string, string>) | undefined;
let pool: BudgetPool | undefined;
let installed = false;

/** The error a plugin sees past a budget: which budget, and the key that raises it. */
function exceeded(what: string, key: string, limit: number): never {
  const error = new ErrorCtor(
    `Plugin budget exhausted: ${what} (at most ${limit}); the host configuration's ResourceLimits.${key} raises it`,
  );
  error.name = "BudgetExceeded";
  throw error;
}

/** Handles held now: the isolate's resources beyond the runtime's own, plus what the wrappers count. */
function held(): number {
  const table = resources ? keys(resources()).length - baseline : 0;
  return (table > 0 ? table : 0) + counted;
}

/** Refuses a new handle past the plugin's budget (and past the host's pool); `what` names the call. */
export function admit(what: string): void {
  const now = held();
  if (now >= maxHandles) {
    exceeded(
      `${what}: ${now} handles held (open files, sockets, listeners, watchers, child processes and pending operations)`,
      "MaxHandles",
      maxHandles,
    );
  }
  if (pool) charge(pool, now + 1, what);
}

/** Counts one more handle or operation that Deno's resource table does not show. */
export function hold(): void {
  counted++;
}

/** Releases what {@linkcode hold} counted. */
export function release(): void {
  if (counted > 0) counted--;
}

/** Counts `p` as pending until it settles; returns a promise that settles like it. */
export function pending<T>(p: T): T {
  counted++;
  const done = (): void => release();
  return apply(then, p, [(v: unknown) => (done(), v), (e: unknown) => {
    done();
    throw e;
  }]) as T;
}

function lock(target: object, key: string, value: unknown): void {
  try {
    defineProperty(target, key, { value, writable: false, configurable: false, enumerable: false });
  } catch { /* already locked down */ }
}

/** A synchronous call that makes a handle: admitted first (the table shows the handle afterwards). */
function syncHandle(target: object, key: string, label: string, settle = false): void {
  wrapFunction(target, key, (f) =>
    function (this: unknown, ...args: unknown[]): unknown {
      admit(label);
      return apply(f, this, args);
    }, settle);
}

/** An async call that holds a descriptor (or a blocking thread) while it runs: pending until it settles. */
function asyncOp(target: object, key: string, label: string, settle = false): void {
  wrapFunction(target, key, (f) =>
    function (this: unknown, ...args: unknown[]): unknown {
      admit(label);
      return pending(apply(f, this, args));
    }, settle);
}

/** An async iterable (Deno.readDir): each `next()` in flight counts. */
function asyncIteration(target: object, key: string, label: string): void {
  const f = (target as Record<string, Fn>)[key];
  if (typeof f !== "function") return;
  const iterator = Symbol.asyncIterator;
  lock(target, key, function (this: unknown, ...args: unknown[]): unknown {
    const iterable = apply(f, this, args) as Record<PropertyKey, Fn>;
    const open = iterable[iterator];
    return {
      [iterator](): unknown {
        const it = apply(open, iterable, []) as Record<string, Fn>;
        const next = it.next, ret = it.return;
        const wrapped = {
          next(...a: unknown[]): unknown {
            admit(label);
            return pending(apply(next, it, a));
          },
          return(...a: unknown[]): unknown {
            return typeof ret === "function"
              ? apply(ret, it, a)
              : Promise.resolve({ done: true, value: a[0] });
          },
          [iterator](): unknown {
            return wrapped;
          },
        };
        return wrapped;
      },
    };
  });
}

const SYNC = ["openSync", "createSync", "listen", "listenTls", "listenDatagram", "watchFs", "serve"];
const SYNC_WEB = ["upgradeWebSocket"];
const ASYNC = [
  "open",
  "create",
  "readFile",
  "readTextFile",
  "writeFile",
  "writeTextFile",
  "copyFile",
  "stat",
  "lstat",
  "realPath",
  "readLink",
  "mkdir",
  "remove",
  "rename",
  "chmod",
  "chown",
  "truncate",
  "utime",
  "link",
  "symlink",
  "makeTempDir",
  "makeTempFile",
  "connect",
  "connectTls",
  "startTls",
  "resolveDns",
];

/** Wraps accept() of the listeners Deno.listen makes: an accepted connection is a new handle. */
function wrapAccept(): void {
  const listen = Deno.listen;
  let done = false;
  lock(Deno, "listen", function (this: unknown, ...args: unknown[]): unknown {
    admit("Deno.listen");
    const listener = apply(listen, this, args) as object;
    if (!done) {
      done = true;
      const proto = Object.getPrototypeOf(listener) as object;
      const accept = getOwnPropertyDescriptor(proto, "accept")?.value as Fn | undefined;
      if (typeof accept === "function") {
        lock(proto, "accept", function (this: unknown): unknown {
          admit("Listener.accept");
          return pending(apply(accept, this, []));
        });
      }
    }
    return listener;
  });
}

/** Deno.Command is never granted to a plugin, but a child would hold descriptors: counted all the same. */
function wrapCommand(): void {
  // Node's child_process makes its children with this class without reading the global: settled when it loads.
  wrapLazily(Deno, "Command", (Command) => {
    const proto = (Command as { prototype?: object } | undefined)?.prototype;
    if (proto) {
      syncHandle(proto, "spawn", "Deno.Command.spawn");
      syncHandle(proto, "outputSync", "Deno.Command.outputSync");
      asyncOp(proto, "output", "Deno.Command.output");
    }
    return Command;
  }, true);
}

const { add: weakAdd, delete: weakDelete, has: weakHas } = WeakSet.prototype;
const WeakSetCtor = WeakSet;

/**
 * setTimeout/setInterval: pending timers count until they fire (a timeout) or are cleared. Deno 2.9's timers are
 * Node's `Timeout` objects, which also end by `close()` or `using` and start again by `refresh()`: their
 * prototype's methods are wrapped when the plugin's first timer shows it (no timer is made here: a Worker's first
 * one costs it ~1.7 MiB).
 */
function wrapTimers(): void {
  // Read on first use: the first read of setTimeout loads node:timers (~4 ms in a new Worker).
  const setT = original<Fn>(globalThis, "setTimeout"), setI = original<Fn>(globalThis, "setInterval");
  const clearT = original<Fn>(globalThis, "clearTimeout"), clearI = original<Fn>(globalThis, "clearInterval");
  const live = new WeakSetCtor<object>();
  const isLive = (t: unknown): t is object =>
    typeof t === "object" && t !== null && apply(weakHas, live, [t]) as boolean;
  const forget = (t: unknown): void => {
    if (isLive(t)) {
      apply(weakDelete, live, [t]);
      timers--;
    }
  };
  const admitTimer = (name: string): void => {
    if (timers >= maxTimers) exceeded(`${name}: ${timers} timers pending`, "MaxTimers", maxTimers);
  };
  const track = (t: unknown): void => {
    if (typeof t !== "object" || t === null || isLive(t)) return;
    apply(weakAdd, live, [t]);
    timers++;
    if (!seen) wrapTimeout(t);
  };
  let seen = false;
  const wrapTimeout = (t: object): void => {
    seen = true;
    const proto = Object.getPrototypeOf(t) as Record<PropertyKey, Fn> | null;
    if (!proto) return;
    for (const key of ["close", Symbol.dispose] as PropertyKey[]) {
      const f = getOwnPropertyDescriptor(proto, key)?.value as Fn | undefined;
      if (typeof f !== "function") continue;
      defineProperty(proto, key, {
        value: function (this: unknown, ...a: unknown[]): unknown {
          forget(this);
          return apply(f, this, a);
        },
        writable: true,
        configurable: true,
      });
    }
    const refresh = getOwnPropertyDescriptor(proto, "refresh")?.value as Fn | undefined;
    if (typeof refresh === "function") {
      defineProperty(proto, "refresh", {
        value: function (this: unknown, ...a: unknown[]): unknown {
          if (!isLive(this)) {
            admitTimer("Timeout.refresh");
            track(this); // a fired or cleared timer that starts again
          }
          return apply(refresh, this, a);
        },
        writable: true,
        configurable: true,
      });
    }
  };
  const define = (key: string, value: Fn): void => {
    // Writable: a plugin's fake-timer library may replace its own global; the originals stay out of reach.
    defineProperty(globalThis, key, { value, writable: true, configurable: true, enumerable: true });
  };
  define("setTimeout", function (this: unknown, cb: unknown, ...rest: unknown[]): unknown {
    admitTimer("setTimeout");
    if (typeof cb !== "function") return apply(setT()!, globalThis, [cb, ...rest]);
    const fire = function (this: unknown, ...a: unknown[]): unknown {
      forget(t); // never before `t` is set: a timer fires in a later task
      return apply(cb as Fn, this, a);
    };
    const t = apply(setT()!, globalThis, [fire, ...rest]);
    track(t);
    return t;
  });
  define("setInterval", function (this: unknown, ...args: unknown[]): unknown {
    admitTimer("setInterval");
    const t = apply(setI()!, globalThis, args);
    track(t);
    return t;
  });
  define("clearTimeout", function (this: unknown, t?: unknown): void {
    forget(t);
    apply(clearT()!, globalThis, [t]);
  });
  define("clearInterval", function (this: unknown, t?: unknown): void {
    forget(t);
    apply(clearI()!, globalThis, [t]);
  });
}

/** Installs every wrapper (harden() calls it before the plugin's module loads). */
export function installBudgets(internals: Record<string, unknown> | undefined): void {
  installed = true;
  const core = internals?.core as { resources?: () => Record<string, string> } | undefined;
  const table = core?.resources;
  if (typeof table === "function") resources = () => apply(table as Fn, core, []) as Record<string, string>;
  baseline = resources ? keys(resources()).length : 0;
  for (const key of SYNC) if (key !== "listen") syncHandle(Deno, key, `Deno.${key}`);
  for (const key of SYNC_WEB) syncHandle(Deno, key, `Deno.${key}`);
  for (const key of ASYNC) asyncOp(Deno, key, `Deno.${key}`);
  asyncIteration(Deno, "readDir", "Deno.readDir");
  wrapAccept();
  wrapCommand();
  wrapTimers();
  wrapWeb({ admit, hold, release, pending, lock, construct });
}

/** Whether budgets are in force (inside a plugin's runtime): Node's wrappers (_budget_node.ts) act only then. */
export function budgeting(): boolean {
  return installed;
}

/** Sets the plugin's budgets from its load message, before its module loads. */
export function setBudgets(spec: BudgetSpec | undefined): void {
  if (!spec) return;
  if (spec.maxHandles > 0) maxHandles = spec.maxHandles;
  if (spec.maxTimers > 0) maxTimers = spec.maxTimers;
  if (resources) baseline = keys(resources()).length; // the runtime's own, now that its channel is open
  pool = openPool(spec.pool, spec.slot);
}

/** What the plugin holds now (for tests and diagnostics inside the runtime). */
export function budgetUse(): { handles: number; timers: number } {
  return { handles: held(), timers };
}
