// Node's routes to what _ambient.ts closes on Deno's side, closed when Node's layer loads (hardenNow in
// _harden_node.ts calls this before the plugin holds any part of the layer). Measured in a Worker granted
// nothing: node:fs reaches the process's file descriptors 0-2 by number (`fs.writeSync(1, …)`,
// `fs.readSync(0, …)`, `createWriteStream("", { fd: 1 })`), so do `new tty.WriteStream(1)`,
// `new net.Socket({ fd: 0 })` and the raw handles of `process.binding("tty_wrap" | "pipe_wrap")`;
// `process._rawDebug` and warnings write to the host's stderr; the `process` object tells the host's pid,
// parent, arguments, executable, cwd and CPU time; `v8.setFlagsFromString` sets V8 flags for the whole process;
// node:worker_threads has a BroadcastChannel of its own.
//
// Like _harden_node.ts, nothing here trusts a global the plugin may have changed: builtins are taken when the
// runtime starts.

import { budgetNodeFs } from "./_budget_node.ts";
import { settleLazy } from "./_lazy.ts";
import { set } from "./_define.ts";

type Refuse = (what: string) => never;

/** The Node modules the runtime reaches without `process.getBuiltinModule` (_node_builtins.ts). */
export interface NodeBuiltins {
  readonly nodeFs: Record<string, unknown>;
  readonly nodeV8: Record<string, unknown>;
}
type Fn = (this: unknown, ...args: unknown[]) => unknown;
type Obj = Record<string, unknown>;

const { apply } = Reflect;
const { defineProperty, getPrototypeOf, freeze } = Object;
const started = performance.now.bind(performance);
const startedAt = started();

function getter(target: object, key: string, get: () => unknown): void {
  try {
    defineProperty(target, key, { __proto__: null, get, configurable: true } as PropertyDescriptor);
  } catch { /* not configurable */ }
}

/** The `process` object's facts about the host process. */
function hideProcessFacts(process: Obj, refuse: Refuse, ownProcess: boolean): void {
  // As Deno.pid and Deno.ppid (_ambient.ts): 0. process.pid itself is fixed when Node's layer boots, which
  // _ambient.ts makes read 0 then.
  for (const key of ownProcess ? ["ppid"] : ["pid", "ppid"]) getter(process, key, () => 0);
  set(process, "argv", ["deno"]);
  set(process, "argv0", "deno");
  set(process, "execArgv", freeze([]));
  set(process, "title", "deno");
  const execPath = Deno.execPath.bind(Deno); // already the gated one of _ambient.ts
  getter(process, "execPath", () => execPath());
  const cwd = Deno.cwd.bind(Deno);
  set(process, "cwd", () => cwd());
  const memory = Deno.memoryUsage.bind(Deno);
  const own = (): Obj => ({ ...memory(), arrayBuffers: 0 });
  set(process, "memoryUsage", Object.assign(own, { rss: () => memory().rss }));
  set(process, "cpuUsage", () => refuse("process.cpuUsage (the host process's CPU time)"));
  set(process, "resourceUsage", () => refuse("process.resourceUsage"));
  set(process, "uptime", () => (started() - startedAt) / 1000);
  const report = process.report as Obj | undefined;
  if (report && typeof report === "object") {
    set(report, "getReport", () => refuse("process.report"));
    set(report, "writeReport", () => refuse("process.report"));
  }
}

/** Where Node would print to the host's stderr: `_rawDebug`, and through it warnings. */
function routeRawOutput(process: Obj): void {
  const error = globalThis.console.error; // already the console of _ambient.ts: a log record
  set(process, "_rawDebug", (...args: unknown[]) => apply(error as Fn, globalThis.console, args));
}

/** File descriptors 0-2 as node:fs, node:tty and node:net reach them. */
function closeStdioFds(process: Obj, refuse: Refuse, closeFds: boolean, fs: Obj): void {
  if (closeFds) {
    // Closes them in this thread's node:fs table only (measured: the host's own stdio is untouched).
    const closeSync = fs.closeSync as ((fd: number) => void) | undefined;
    for (const fd of [0, 1, 2]) {
      try {
        closeSync?.(fd);
      } catch { /* already closed */ }
    }
  }
  const binding = process.binding as ((name: string) => Obj) | undefined;
  if (typeof binding !== "function") return;
  let TTY: (abstract new (...args: unknown[]) => object) | undefined;
  let Pipe: { prototype: Obj } | undefined;
  try {
    TTY = binding("tty_wrap").TTY as typeof TTY;
    Pipe = binding("pipe_wrap").Pipe as typeof Pipe;
  } catch {
    return;
  }
  if (Pipe && typeof Pipe.prototype.open === "function") {
    const open = Pipe.prototype.open as Fn;
    set(Pipe.prototype, "open", function (this: unknown, fd: unknown, ...rest: unknown[]): unknown {
      if (typeof fd === "number" && fd <= 2) refuse(`file descriptor ${fd} (the host's stdio)`);
      return apply(open, this, [fd, ...rest]);
    });
  }
  if (!TTY) return;
  const tty = TTY;
  set(tty.prototype, "setRawMode", () => refuse("setRawMode (the host's terminal)"));
  // A TTY handle wraps one of the process's own stdio descriptors: a plugin has no terminal of its own.
  const stream = getPrototypeOf(tty.prototype) as Obj;
  const methods = [
    "readStart",
    "writeBuffer",
    "writev",
    "writeUtf8String",
    "writeAsciiString",
    "writeLatin1String",
    "writeUcs2String",
  ];
  for (const method of methods) {
    const original = stream[method];
    if (typeof original !== "function") continue;
    set(stream, method, function (this: unknown, ...args: unknown[]): unknown {
      if (this instanceof tty) refuse("a TTY (the host's stdio)");
      return apply(original as Fn, this, args);
    });
  }
}

/** node:v8's process-wide flags (its named export goes to node_v8.ts through the import map). */
function closeProcessWide(v8: Obj, refuse: Refuse): void {
  set(v8, "setFlagsFromString", () => refuse("v8.setFlagsFromString (V8 flags of the whole process)"));
  set(v8, "setHeapSnapshotNearHeapLimit", () => refuse("v8.setHeapSnapshotNearHeapLimit"));
}

/**
 * Closes Node's routes to the host's stdio, facts and process-wide state. `closeFds` is false in the process
 * tier, whose stdin and stdout are the plugin's own channel to the host. `later`: one of Node's modules is
 * evaluating, and loading node:fs or node:v8 now could load it in a circle (measured: the plugin's import then
 * fails); their part waits for a microtask, which runs before that module's importer resumes (an evaluation
 * set off by the plugin is an asynchronous import: `import`, node:module and so require).
 */
export function closeNodeAmbient(
  process: Obj,
  refuse: Refuse,
  closeFds: boolean,
  later: boolean,
  builtins: () => NodeBuiltins,
): void {
  hideProcessFacts(process, refuse, !closeFds);
  routeRawOutput(process);
  const modules = (): void => {
    const { nodeFs, nodeV8 } = builtins();
    closeStdioFds(process, refuse, closeFds, nodeFs);
    budgetNodeFs(nodeFs); // its descriptors count against MaxHandles (_budget_node.ts)
    settleLazy(); // the wraps of classes Node's modules reach without their globals (_lazy.ts)
    closeProcessWide(nodeV8, refuse);
  };
  if (later) queueMicrotask(modules);
  else modules();
}
