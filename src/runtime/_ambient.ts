// What a Deno Worker can do without any permission, closed before the plugin's module loads (SECURITY.md,
// "Ambient authority"): the host's stdio, channels between the workers of one process, facts about the host
// process, and WebGPU. Writes to stdio become the plugin's tagged log records, so the host's stdout and stderr
// carry only what the host itself prints; reads get end-of-file. Node's routes to the same things are closed
// when Node's layer loads (_ambient_node.ts).

import { original, settleLater, wrapLazily } from "./_lazy.ts";

type Post = (message: unknown) => void;
type Refuse = (what: string) => never;
type Level = "debug" | "info" | "warning" | "error";

const { defineProperty, getOwnPropertyDescriptor, getPrototypeOf, keys } = Object;
const decoder = new TextDecoder();
/** A record's text is cut here; the host bounds it again. */
const MAX_TEXT = 16 * 1024;

/** Finds a property's descriptor on `target` or the nearest prototype holding it. */
function lookup(target: object, key: PropertyKey): { holder: object; desc: PropertyDescriptor } | undefined {
  for (let o: object | null = target; o; o = getPrototypeOf(o)) {
    const desc = getOwnPropertyDescriptor(o, key);
    if (desc) return { holder: o, desc };
  }
  return undefined;
}

function set(target: object, key: PropertyKey, value: unknown): void {
  try {
    defineProperty(target, key, { value, writable: true, configurable: true });
  } catch { /* not configurable: left as Deno made it */ }
}

function getter(target: object, key: PropertyKey, get: () => unknown): void {
  try {
    defineProperty(target, key, { get, configurable: true });
  } catch { /* not configurable */ }
}

/** Turns stdio text into log records: one per line, each at most MAX_TEXT. */
function stdioSink(post: Post): (level: Level, stream: string, text: string) => void {
  return (level, stream, text) => {
    const lines = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
    for (const line of lines) {
      for (let at = 0; at < line.length || at === 0; at += MAX_TEXT) {
        post({
          v: 1,
          t: "log",
          level,
          category: ["plugin", stream],
          message: line.slice(at, at + MAX_TEXT),
          properties: { stream },
        });
        if (line.length === 0) break;
      }
    }
  };
}

type Write = (level: Level, stream: string, text: string) => void;

/** `Deno.stdout`/`Deno.stderr` write log records; Node's process.stdout/stderr write through the same object. */
function muteOutput(stream: object, name: "stdout" | "stderr", write: Write): void {
  const level: Level = name === "stdout" ? "info" : "warning";
  const text = (bytes: Uint8Array): number => {
    write(level, name, decoder.decode(bytes));
    return bytes.byteLength;
  };
  set(stream, "writeSync", text);
  set(stream, "write", (bytes: Uint8Array) => Promise.resolve(text(bytes)));
  getter(stream, "writable", () => new WritableStream<Uint8Array>({ write: (chunk) => void text(chunk) }));
  set(stream, "isTerminal", () => false);
}

/** `Deno.stdin` reads end-of-file at once and cannot be put in raw mode. */
function muteInput(stream: object, refuse: Refuse): void {
  set(stream, "read", () => Promise.resolve(null));
  set(stream, "readSync", () => null);
  getter(stream, "readable", () => new ReadableStream<Uint8Array>({ start: (c) => c.close() }));
  set(stream, "isTerminal", () => false);
  set(stream, "setRaw", () => refuse("Deno.stdin.setRaw"));
}

/**
 * The console object (the very one Node's `node:console` hands out) prints through log records. Its methods
 * become those of a Console of ours, made on the first read of any of them: a Console is ~18 KiB of young
 * objects, which every start paid (and a Worker whose start allocations pass ~0.8 MiB pays a collection, in
 * time and in memory: BENCHMARKS.md, idle memory).
 */
function muteConsole(internals: Record<string, unknown> | undefined, write: Write): void {
  const Console = internals?.Console as
    | (new (print: (msg: string, level: number) => void) => object)
    | undefined;
  if (typeof Console !== "function") return;
  const levels: readonly Level[] = ["debug", "info", "warning", "error"];
  const console = globalThis.console as unknown as Record<string, unknown>;
  let ours: Record<string, unknown> | undefined;
  const make = (): Record<string, unknown> => {
    if (ours) return ours;
    ours = new Console((msg, level) => write(levels[level] ?? "info", "console", msg)) as Record<
      string,
      unknown
    >;
    for (const key of keys(ours)) set(console, key, ours[key]); // plain values from now on
    return ours;
  };
  // Deno's console has the same methods as any Console: each is replaced, until the first read, by a getter.
  for (const key of keys(console)) {
    if (typeof console[key] !== "function") continue;
    try {
      defineProperty(console, key, {
        get: () => make()[key],
        set(value: unknown): void {
          make();
          set(console, key, value);
        },
        configurable: true,
        enumerable: true,
      });
    } catch { /* not configurable: left as Deno made it */ }
  }
}

/** Channels every Worker of the process shares: plugins meet only through declared dependencies. */
function closeChannels(refuse: Refuse): void {
  const refuser = (what: string) =>
    function (): never {
      return refuse(what);
    };
  // The classes' own methods too: node:worker_threads' BroadcastChannel is this class, reached without the
  // global (settled when Node's layer loads; each class loads on its first read, _lazy.ts).
  const methods = (keys: readonly string[], what: string) => (ctor: unknown): unknown => {
    const proto = (ctor as { prototype?: object } | undefined)?.prototype;
    if (proto) { for (const key of keys) set(proto, key, refuser(what)); }
    return ctor;
  };
  const channel = original(globalThis, "BroadcastChannel");
  settleLater(() => methods(["postMessage"], "BroadcastChannel")(channel()));
  set(globalThis, "BroadcastChannel", refuser("BroadcastChannel"));
  wrapLazily(globalThis, "LockManager", methods(["request", "query"], "navigator.locks"), true);
  const nav = lookup(navigator, "locks");
  if (nav) getter(nav.holder, "locks", () => undefined);
  // The Cache API persists under DENO_DIR, shared by every worker and every later run: a channel and a disk.
  // Its one instance is what the global returns (CacheStorage cannot be constructed): hiding it suffices.
  const storage = lookup(globalThis, "caches");
  if (storage) getter(storage.holder, "caches", () => undefined);
  // Behind --unstable-kv / --unstable-cron, an embedding host may have them: the default KV database lives
  // under DENO_DIR for every Worker, and a cron is registered for the whole process.
  const deno = Deno as unknown as Record<string, unknown>;
  if ("openKv" in deno) set(Deno, "openKv", refuser("Deno.openKv"));
  if ("cron" in deno) set(Deno, "cron", refuser("Deno.cron"));
}

/**
 * Whether Node's layer is bootstrapping its `process` object: it reads the cwd, the executable and the pid as it
 * does, and gets placeholders then (never the real facts: a builtin the plugin replaced may run inside).
 */
let bootstrapping = 0;

/** Wraps Node's bootstrap of `process` so that the facts it reads are placeholders (see above). */
export function placeholdersDuring(
  f: (this: unknown, ...args: unknown[]) => unknown,
): (this: unknown, ...args: unknown[]) => unknown {
  return function (this: unknown, ...args: unknown[]): unknown {
    bootstrapping++;
    try {
      return Reflect.apply(f, this, args);
    } finally {
      bootstrapping--;
    }
  };
}

/**
 * Facts about the host process the plugin was not granted. A process-tier plugin keeps its own pid: that
 * process is its own, not the host's.
 */
function hideFacts(refuse: Refuse, notCapable: (msg: string) => never, ownProcess: boolean): void {
  const deno = Deno as unknown as Record<string, unknown>;
  const cwd = Deno.cwd.bind(Deno);
  const execPath = Deno.execPath.bind(Deno);
  const memoryUsage = Deno.memoryUsage.bind(Deno);
  const query = Deno.permissions.querySync.bind(Deno.permissions);
  const readable = (path: string): boolean => {
    try {
      return query({ name: "read", path }).state === "granted";
    } catch {
      return false;
    }
  };
  // Deno asks a main thread for read access to the cwd and the executable; a Worker it does not ask.
  set(Deno, "cwd", (): string => {
    if (bootstrapping > 0) return "/";
    const dir = cwd();
    if (readable(dir)) return dir;
    return notCapable("Requires read access to <CWD>, which the plugin was not granted");
  });
  // Node's layer reads it while it loads (process.execPath, argv[0]): a name, not a refusal, keeps it loading.
  set(Deno, "execPath", (): string => {
    const path = execPath();
    return readable(path) ? path : "deno";
  });
  // 0, not a refusal: libraries read the pid at start-up (loggers, temp names), and Node's layer does too.
  for (const key of ownProcess ? ["ppid"] : ["pid", "ppid"]) getter(Deno, key, () => 0);
  set(Deno, "args", Object.freeze([]));
  // rss is the whole process's: a plugin sees its own heap and buffers only.
  set(Deno, "memoryUsage", (): Deno.MemoryUsage => {
    const m = memoryUsage();
    return {
      rss: m.heapTotal + m.external,
      heapTotal: m.heapTotal,
      heapUsed: m.heapUsed,
      external: m.external,
    };
  });
  set(Deno, "cpuUsage", () => refuse("Deno.cpuUsage (the host process's CPU time)"));
  set(Deno, "consoleSize", () => refuse("Deno.consoleSize"));
  set(Deno, "isatty", () => false);
  // The host's OpenTelemetry pipeline: a plugin would write spans and metrics in the host's name.
  if ("telemetry" in deno) set(Deno, "telemetry", undefined);
}

/** Controls what the load message decides. */
export interface AmbientControl {
  /** Gives the plugin `navigator.gpu` (its `PluginSecurity` entry has `AllowGpu`). */
  allowGpu(): void;
  /** Whether `v` is a Proxy (Deno's core tells; the plugin no longer reaches it). */
  isProxy(v: object): boolean;
}

/** Hides `navigator.gpu` until the load message says the plugin may have it. */
function gateGpu(refuse: Refuse): Pick<AmbientControl, "allowGpu"> {
  const found = lookup(navigator, "gpu");
  if (found) getter(found.holder, "gpu", () => undefined);
  // The class loads on its first read (_lazy.ts): its method is closed then, unless the plugin has AllowGpu.
  let allowed = false;
  let proto: Record<string, unknown> | undefined;
  let request: unknown;
  wrapLazily(globalThis, "GPU", (GPU) => {
    proto = (GPU as { prototype?: Record<string, unknown> } | undefined)?.prototype;
    request = proto?.requestAdapter;
    if (proto && !allowed && typeof request === "function") {
      set(proto, "requestAdapter", () => refuse("WebGPU (PluginSecurity AllowGpu is false)"));
    }
    return GPU;
  });
  return {
    allowGpu(): void {
      allowed = true;
      if (found) defineProperty(found.holder, "gpu", { ...found.desc, configurable: true });
      if (proto && typeof request === "function") set(proto, "requestAdapter", request);
    },
  };
}

/** Closes every route above; `post` reaches the host, `internals` is Deno's (taken from the plugin). */
export function closeAmbient(
  internals: Record<string, unknown> | undefined,
  post: Post,
  refuse: Refuse,
  ownProcess: boolean,
): AmbientControl {
  const write = stdioSink(post);
  muteOutput(Deno.stdout, "stdout", write);
  muteOutput(Deno.stderr, "stderr", write);
  muteInput(Deno.stdin, refuse);
  muteConsole(internals, write);
  closeChannels(refuse);
  hideFacts(refuse, (msg) => {
    throw new Deno.errors.NotCapable(msg);
  }, ownProcess);
  const core = internals?.core as { isProxy?: (v: unknown) => boolean } | undefined;
  const test = core?.isProxy;
  // Without Deno's core (never in Deno 2.9) every object counts as one: the slot is only a fast path.
  const isProxy = typeof test === "function"
    ? (v: object): boolean => Reflect.apply(test, core, [v]) as boolean
    : () => true;
  return { ...gateGpu(refuse), isProxy };
}
