// Node's descriptors, budgeted like Deno's (_budget.ts). Deno's node:fs takes the descriptor out of Deno's
// resource table into a node fd table of its own, and node:net's handles are native ones outside it: measured,
// a plugin granted nothing opened its own module 20,000 times with `fs.openSync` past MaxHandles. So the calls
// that make one are admitted first, and what they make is counted here until it is closed.
//
// Descriptors are counted by number, as a multiset: a number closed by one route and opened again by another
// counts once per open, and a close releases one count (a FileHandle's close releases when it settles, so its
// number may already be open again). The module objects are patched in place (`require`, getBuiltinModule,
// default imports, and Node's own streams, which open and close through the module object); the named ES
// exports come from node_fs.ts and node_fs_promises.ts (the import map), which take the patched functions.
import { admit, budgeting, hold, release } from "./_budget.ts";
import { lock } from "./_define.ts";

type Fn = (this: unknown, ...args: unknown[]) => unknown;
type Obj = Record<string, unknown>;

const { apply } = Reflect;
const { defineProperty, getPrototypeOf, getOwnPropertyDescriptor } = Object;
const then = Promise.prototype.then;
const reject = Promise.reject.bind(Promise);
const queue = queueMicrotask;
const MapCtor = Map;
const { get: mapGet, set: mapSet, delete: mapDelete } = Map.prototype;
const WeakMapCtor = WeakMap;
const { get: weakGet, delete: weakDelete, set: weakSet, has: weakHas } = WeakMap.prototype;

/** Open descriptors by number, and how many opens each number stands for. */
const open = new MapCtor<number, number>();
/** The module objects (and FileHandle's prototype) already wrapped. */
const done = new WeakMapCtor<object, true>();
/** A FileHandle's descriptor, until its close settles. */
const handles = new WeakMapCtor<object, number>();

function track(fd: unknown): void {
  if (typeof fd !== "number") return;
  apply(mapSet, open, [fd, ((apply(mapGet, open, [fd]) as number | undefined) ?? 0) + 1]);
  hold();
}

function untrack(fd: unknown): void {
  if (typeof fd !== "number") return;
  const n = apply(mapGet, open, [fd]) as number | undefined;
  if (n === undefined) return;
  if (n > 1) apply(mapSet, open, [fd, n - 1]);
  else apply(mapDelete, open, [fd]);
  release();
}

/** Whether `target` is wrapped already (and marks it); false outside a plugin, where nothing is wrapped. */
function first(target: unknown): target is Obj {
  if (!budgeting() || typeof target !== "object" || target === null) return false;
  if (apply(weakHas, done, [target])) return false;
  apply(weakSet, done, [target, true]);
  return true;
}

/**
 * node:fs's asynchronous operations other than open: each holds a descriptor or one of Deno's blocking threads
 * while it runs. Measured: 40,000 `readFile`s in flight from a plugin granted nothing took every descriptor of
 * the host process (EMFILE in the host). Each counts as pending until it ends, the callback and promise forms
 * alike (the same names on both objects).
 */
export const NODE_FS_ASYNC: readonly string[] = [
  "readFile",
  "writeFile",
  "appendFile",
  "copyFile",
  "cp",
  "readdir",
  "opendir",
  "stat",
  "lstat",
  "statfs",
  "access",
  "mkdir",
  "mkdtemp",
  "rm",
  "rmdir",
  "unlink",
  "rename",
  "truncate",
  "chmod",
  "chown",
  "lchown",
  "utimes",
  "lutimes",
  "link",
  "symlink",
  "readlink",
  "realpath",
];

/** A callback-style operation, pending from its call to its callback (admitted first). */
function pendingCallback(fs: Obj, key: string): void {
  const f = fs[key] as Fn | undefined;
  if (typeof f !== "function") return;
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    const cb = callback(args);
    if (!cb) return apply(f, this, args); // throws as Node does
    try {
      admit(`node:fs ${key}`);
    } catch (e) {
      queue(() => void apply(cb, undefined, [e]));
      return undefined;
    }
    hold();
    let settled = false;
    args[args.length - 1] = function (this: unknown, ...a: unknown[]): unknown {
      if (!settled) release();
      settled = true;
      return apply(cb, this, a);
    };
    try {
      return apply(f, this, args);
    } catch (e) {
      if (!settled) release();
      settled = true;
      throw e;
    }
  };
  // Node's own helpers read these (fs.realpath.native, promisify's custom symbol): kept on the wrapper.
  for (const own of Reflect.ownKeys(f)) {
    if (own === "length" || own === "name" || own === "prototype") continue;
    const desc = getOwnPropertyDescriptor(f, own);
    if (desc) {
      try {
        defineProperty(wrapped, own, desc);
      } catch { /* not copyable */ }
    }
  }
  lock(fs, key, wrapped);
}

/** A promise-returning operation, pending until it settles (admitted first). */
function pendingPromise(fsp: Obj, key: string): void {
  const f = fsp[key] as Fn | undefined;
  if (typeof f !== "function") return;
  lock(fsp, key, function (this: unknown, ...args: unknown[]): unknown {
    try {
      admit(`node:fs/promises ${key}`);
    } catch (e) {
      return reject(e);
    }
    hold();
    let result: unknown;
    try {
      result = apply(f, this, args);
    } catch (e) {
      release();
      throw e;
    }
    return apply(then, result, [(v: unknown): unknown => {
      release();
      return v;
    }, (e: unknown): never => {
      release();
      throw e;
    }]);
  });
}

/** The last argument as a Node callback, if it is one. */
function callback(args: unknown[]): Fn | undefined {
  const cb = args[args.length - 1];
  return typeof cb === "function" ? cb as Fn : undefined;
}

/** node:fs's module object: openSync/open/closeSync/close (and so its streams), watch, and `promises`. */
export function budgetNodeFs(fs: Obj): void {
  if (!first(fs)) return;
  const openSync = fs.openSync as Fn, openCb = fs.open as Fn;
  const closeSync = fs.closeSync as Fn, closeCb = fs.close as Fn, watch = fs.watch as Fn;
  if (typeof openSync === "function") {
    lock(fs, "openSync", function (this: unknown, ...args: unknown[]): unknown {
      admit("node:fs openSync");
      const fd = apply(openSync, this, args);
      track(fd);
      return fd;
    });
  }
  if (typeof openCb === "function") {
    lock(fs, "open", function (this: unknown, ...args: unknown[]): unknown {
      const cb = callback(args);
      if (!cb) return apply(openCb, this, args); // throws as Node does
      try {
        admit("node:fs open");
      } catch (e) {
        queue(() => void apply(cb, undefined, [e])); // Node's streams open this way: an error, not a throw
        return undefined;
      }
      hold(); // in flight
      let settled = false;
      const settle = (): void => {
        if (!settled) release();
        settled = true;
      };
      args[args.length - 1] = function (this: unknown, err: unknown, fd: unknown): unknown {
        settle();
        if (err == null) track(fd);
        return apply(cb, this, [err, fd]);
      };
      try {
        return apply(openCb, this, args);
      } catch (e) {
        settle();
        throw e;
      }
    });
  }
  if (typeof closeSync === "function") {
    lock(fs, "closeSync", function (this: unknown, fd: unknown, ...rest: unknown[]): unknown {
      try {
        return apply(closeSync, this, [fd, ...rest]);
      } finally {
        untrack(fd);
      }
    });
  }
  if (typeof closeCb === "function") {
    lock(fs, "close", function (this: unknown, fd: unknown, ...rest: unknown[]): unknown {
      const cb = callback(rest);
      if (!cb) {
        untrack(fd);
        return apply(closeCb, this, [fd, ...rest]);
      }
      rest[rest.length - 1] = function (this: unknown, ...a: unknown[]): unknown {
        untrack(fd);
        return apply(cb, this, a);
      };
      try {
        return apply(closeCb, this, [fd, ...rest]);
      } catch (e) {
        untrack(fd);
        throw e;
      }
    });
  }
  if (typeof watch === "function") {
    // Its watcher is in Deno's resource table once made: only the admission is missing.
    lock(fs, "watch", function (this: unknown, ...args: unknown[]): unknown {
      admit("node:fs watch");
      return apply(watch, this, args);
    });
  }
  for (const key of NODE_FS_ASYNC) pendingCallback(fs, key);
  budgetNodeFsPromises(fs.promises as Obj);
}

/** node:fs/promises (the same object as `fs.promises`): `open`, and the FileHandles it makes. */
export function budgetNodeFsPromises(fsp: Obj): void {
  if (!first(fsp)) return;
  for (const key of NODE_FS_ASYNC) pendingPromise(fsp, key);
  const openP = fsp.open as Fn;
  if (typeof openP !== "function") return;
  lock(fsp, "open", function (this: unknown, ...args: unknown[]): unknown {
    try {
      admit("node:fs/promises open");
    } catch (e) {
      return reject(e);
    }
    hold(); // in flight
    return apply(then, apply(openP, this, args), [(fh: unknown): unknown => {
      release();
      adopt(fh);
      return fh;
    }, (e: unknown): never => {
      release();
      throw e;
    }]);
  });
}

/** Counts a FileHandle's descriptor until its close settles (its prototype's close is wrapped once). */
function adopt(fh: unknown): void {
  if (typeof fh !== "object" || fh === null) return;
  const fd = (fh as { fd?: unknown }).fd;
  if (typeof fd !== "number") return;
  track(fd);
  apply(weakSet, handles, [fh, fd]);
  const proto = getPrototypeOf(fh) as Obj | null;
  if (!proto || !first(proto)) return;
  const close = getOwnPropertyDescriptor(proto, "close")?.value as Fn | undefined;
  if (typeof close !== "function") return;
  lock(proto, "close", function (this: unknown): unknown {
    const result = apply(close, this, []);
    const mine = typeof this === "object" && this !== null
      ? apply(weakGet, handles, [this]) as number | undefined
      : undefined;
    if (mine === undefined) return result;
    apply(weakDelete, handles, [this]);
    const settle = (): void => untrack(mine);
    if (result && typeof (result as { then?: unknown }).then === "function") {
      apply(then, result, [settle, settle]);
    } else settle();
    return result;
  });
}
