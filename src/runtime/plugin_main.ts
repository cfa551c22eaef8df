// The module that runs a plugin: as the entry of the plugin's narrowed Deno Worker, in the plugin's own thread
// (thread_main.ts: a node:worker_threads Worker started by the supervisor inside that Worker, talking to the
// host over a MessagePort) or in the process tier's child. It hardens its thread, then loads the plugin through
// a non-literal import(), so the plugin's whole import graph is checked against the thread's own permissions,
// and serves RPC over the channel it is given. Its own imports stay inside src/runtime, src/rpc and
// src/errors.ts (the thread may read nothing else), and it imports nothing of Node's: a plugin that does not
// use Node's compatibility layer does not pay for it (see _harden_node.ts).
import { harden } from "./_harden.ts";
import type { AmbientControl } from "./_ambient.ts";
import { createCallContext } from "./_call_context.ts";
import { BlockedTime } from "./_blocked.ts";
import { RpcEndpoint } from "../rpc/endpoint.ts";
import type {
  CallMessage,
  ErrorMessage,
  HostMessage,
  LoadMessage,
  ResultMessage,
  WorkerMessage,
} from "../rpc/protocol.ts";
import { serializeError } from "../rpc/_wire_errors.ts";
import type { PluginContext, PluginDefinition } from "../plugin_api.ts";
import { PluginMetricsRecorder } from "./_plugin_metrics.ts";
import { pluginCalls } from "./_services.ts";
import { createLogger, type LogSink } from "./_logger.ts";
import { serveShared, type SharedServer } from "./_shared_serve.ts";
import { AnswerQueue, countPosts, errorOf, transferOf } from "./_answers.ts";
import { boundLogValue } from "../rpc/_log_bounds.ts";
import { configureImports, gateImports } from "./_import_hook.ts";
import { setBudgets } from "./_budget.ts";
import { original } from "./_lazy.ts";

/** How the runtime talks to the host: a MessagePort, the worker scope, or the process tier's framed pipe. */
export interface Channel {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<HostMessage>) => void) | null;
}

const scope = globalThis as unknown as Channel & {
  addEventListener(type: string, listener: (e: Event) => void): void;
};
let channel: Channel = scope;
/**
 * The channel's postMessage as it was when serving began: the plugin can reach the channel object (the worker
 * scope, or the MessagePort in workerData) and replace the method, to drop or rewrite what the runtime says
 * about it (its usage reports, which MaxMemoryMB and MaxCpuPercent rest on). It only replaces its own.
 */
let send: Channel["postMessage"] = (message, transfer) => channel.postMessage(message, transfer);
// One argument when nothing moves: Deno's fast path for postMessage skips the transfer-list conversion.
const post = (message: WorkerMessage, transfer?: Transferable[]): void =>
  transfer?.length ? send(message, transfer) : send(message);

const answers = new AnswerQueue(post);
let shared: SharedServer | undefined;
/** Messages posted on the worker scope since the runtime started (direct workers only): see serveShared. */
let posted: (() => number) | undefined;
function answer(message: ResultMessage | ErrorMessage, transfer: Transferable[], method?: string): void {
  // A call that came through the shared-memory slot is answered there, at once (it is a lone call).
  if (!shared?.answer(message, transfer, method)) answers.push(message, transfer, method);
}

const BASE = Symbol.for("dotcompute.plugins.BackendPluginBase");
/** The hooks whose absence the ready message tells (ReadyMessage.hooks). */
const SKIPPABLE = ["initialize", "validateSettings", "start"];
const HOOKS = new Set([
  "initialize",
  "start",
  "stop",
  "health",
  "configure",
  "validateSettings",
  "dependencyChanged",
  "retiring",
  "constructor",
]);
const BASE_ONLY = new Set([
  "onInitialize",
  "onStart",
  "onStop",
  "onConfigure",
  "onDependencyChanged",
  "onRetiring",
  "checkHealth",
]);

type Fn = (...args: unknown[]) => unknown;
interface Loaded {
  readonly hooks: PluginDefinition;
  readonly methods: ReadonlyMap<string, Fn>;
  readonly self: object;
}

let loaded: Loaded | undefined;
let ctx: PluginContext | undefined;
let settings: Readonly<Record<string, unknown>> = {};
const stopping = new AbortController();
const callSignals = await createCallContext<AbortSignal>();
const running = new Map<number, AbortController>();
let toHost: RpcEndpoint | undefined;

function fatal(phase: "load" | "runtime", error: unknown): void {
  post({ v: 1, t: "fatal", phase, error: serializeError(error) });
}
scope.addEventListener("error", (e) => {
  e.preventDefault();
  fatal("runtime", (e as ErrorEvent).error ?? (e as ErrorEvent).message);
});
scope.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  fatal("runtime", (e as PromiseRejectionEvent).reason);
});

function cloneable(value: unknown): unknown {
  try {
    return structuredClone(value);
  } catch {
    return Deno.inspect(value, { depth: 4 });
  }
}

/** Names a value that has no bounded copy (a function, a class instance); never throws. */
function described(value: unknown): string {
  try {
    return Deno.inspect(value, { depth: 2, colors: false });
  } catch {
    return `[${typeof value}]`;
  }
}

const hostSink: LogSink = (level, category, message, props) => {
  // Bounded here already (the host bounds again): cut, never dropped; a value that throws when read is named.
  const properties: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(props)) {
    let value: unknown;
    try {
      value = cloneable(boundLogValue(v, described));
    } catch {
      value = "[unreadable]";
    }
    Object.defineProperty(properties, k, { value, writable: true, enumerable: true, configurable: true });
  }
  post({
    v: 1,
    t: "log",
    level,
    category: category.map(String).slice(0, 16),
    message: message.slice(0, 16 * 1024),
    properties,
  });
};

function ownMethods(instance: object): Map<string, Fn> {
  const methods = new Map<string, Fn>();
  for (let p = Object.getPrototypeOf(instance); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    if (Object.hasOwn(p, BASE)) break;
    for (const name of Object.getOwnPropertyNames(p)) {
      const d = Object.getOwnPropertyDescriptor(p, name);
      if (!d || typeof d.value !== "function" || methods.has(name)) continue;
      if (HOOKS.has(name) || BASE_ONLY.has(name) || name.startsWith("_")) continue;
      methods.set(name, d.value as Fn);
    }
  }
  return methods;
}

async function load(m: LoadMessage): Promise<void> {
  settings = m.settings;
  const metrics = new PluginMetricsRecorder((snapshot) => post({ v: 1, t: "metrics", ...snapshot }));
  toHost = new RpcEndpoint({
    peer: "host",
    defaultTimeoutMs: m.callTimeoutMs,
    send: (msg, t) => post(msg, t),
    batch: true,
  });
  const host = toHost;
  ctx = {
    id: m.id,
    name: m.name,
    version: m.version,
    get settings() {
      return settings;
    },
    log: createLogger(hostSink, [m.id]),
    signal: stopping.signal,
    get callSignal() {
      return callSignals.get() ?? stopping.signal;
    },
    metrics,
    plugins: pluginCalls(host, () => callSignals.get() ?? stopping.signal),
  };
  if (m.allowGpu === true) ambient?.allowGpu();
  setBudgets(m.budget); // before the plugin's code runs: its budgets (MaxHandles, MaxTimers)
  const url = m.url; // non-literal on purpose: see the top of this file
  configureImports(m.npm ?? [], m.importHook === true, url);
  await gateImports(); // the host's scan found imports only the runtime can judge
  const mod = await import(url) as { default?: unknown };
  const exported = mod.default;
  if (typeof exported === "function") {
    const instance = new (exported as new () => object)();
    loaded = { hooks: instance as PluginDefinition, methods: ownMethods(instance), self: instance };
  } else if (typeof exported === "object" && exported !== null) {
    const def = exported as PluginDefinition;
    const table = (typeof def.methods === "object" && def.methods !== null ? def.methods : {}) as Record<
      string,
      Fn
    >;
    const methods = new Map(Object.entries(table).filter(([, f]) => typeof f === "function"));
    loaded = { hooks: def, methods, self: table };
  } else {
    throw new TypeError(
      `The entry module's default export must be an object or a class, got ${typeof exported}`,
    );
  }
  const hooks = loaded.hooks as Record<string, unknown>;
  post({
    v: 1,
    t: "ready",
    methods: [...loaded.methods.keys()],
    hooks: SKIPPABLE.filter((h) => typeof hooks[h] === "function"),
  });
  if (m.shared instanceof SharedArrayBuffer && posted) {
    shared = serveShared(m.shared, serve, post, posted, ambient?.isProxy ?? (() => true));
  }
  reportUsage(m.usageTickMs ?? 100, m.hostTicks === true);
}

/** Runs the plugin's validateSettings hook, if any; throws a SettingsError listing the problems. */
async function validate(candidate: Readonly<Record<string, unknown>>): Promise<void> {
  const hook = (loaded!.hooks as Record<string, unknown>).validateSettings;
  if (typeof hook !== "function") return;
  let problems: unknown;
  try {
    problems = await hook.call(loaded!.hooks, candidate);
  } catch (e) {
    problems = [e instanceof Error ? e.message : String(e)];
  }
  if (Array.isArray(problems) && problems.length > 0) {
    const error = new Error(`invalid settings: ${problems.map(String).join("; ")}`);
    error.name = "SettingsError";
    throw error;
  }
}

// Taken before the plugin's code runs: a plugin could otherwise report its memory as small, or stop the ticks.
const memoryUsage = Deno.memoryUsage.bind(Deno);
// Read on first use (reading setInterval loads node:timers, ~4 ms in a new Worker; direct workers never do).
const interval = original<typeof setInterval>(globalThis, "setInterval");
const every = (f: () => void, ms: number): unknown => Reflect.apply(interval()!, globalThis, [f, ms]);
const clock = performance.now.bind(performance);
const timeOrigin = performance.timeOrigin;

/** Handles the host's ticks, when it sends them (direct workers): set by reportUsage. */
let onTick: ((at: number) => void) | undefined;
/**
 * Counts a method's synchronous run (`clock()` at its start and end) as blocked time: a tick's lateness alone
 * misses calls shorter than a tick served back to back (1 s calls read 2% of a core). Set by reportUsage.
 */
let ranFor: ((start: number, end: number) => void) | undefined;

/**
 * Reports heap and blocked time once a second. In a direct worker the host sends the ticks (an idle one's
 * rarely) and the runtime measures how late it handles each one (no timer in the worker: the first one costs a
 * Worker ~1.7 MiB); elsewhere (the process tier, a guarded thread) a timer ticks, and its lateness is measured
 * the same way.
 */
function reportUsage(tick: number, hostTicks: boolean): void {
  const perReport = Math.max(1, Math.round(1000 / tick));
  let start = clock(), n = 0;
  const blocked = new BlockedTime();
  const report = (tickMs = tick): void => {
    if (++n % perReport !== 0) return;
    const now = clock();
    const { heapUsed, external } = memoryUsage();
    post({
      v: 1,
      t: "usage",
      blockedMs: blocked.take(),
      intervalMs: now - start,
      heapUsed,
      external,
      tickMs: Math.min(60_000, Math.max(1, tickMs)),
    });
    start = now;
  };
  ranFor = hostTicks
    ? (start, end) => blocked.tick(timeOrigin + start, timeOrigin + end)
    : (start, end) => blocked.tick(start, end);
  if (hostTicks) {
    // The host ticks an idle worker rarely (src/isolation/_usage_clock.ts): the lag per tick is over the ticks
    // as the host spaced them (their `at`s), not over the period asked.
    let lastAt = NaN, spacing = 0, ticks = 0;
    onTick = (at) => {
      blocked.tick(at, timeOrigin + clock());
      if (at > lastAt) {
        spacing += at - lastAt;
        ticks++;
      }
      lastAt = at;
      if (clock() - start < tick / 2) return; // one report a period, however many ticks queued
      report(ticks > 0 ? spacing / ticks : tick);
      spacing = ticks = 0;
    };
    return;
  }
  let last = clock();
  every(() => {
    const at = clock();
    blocked.tick(last + tick, at); // a timer's tick was due at last + tick
    last = at;
    report();
  }, tick);
}

async function runHook(name: string, args: readonly unknown[]): Promise<unknown> {
  if (name === "ping") return true; // liveness: answered by the runtime, never by the plugin
  const plugin = loaded!;
  const hook = (plugin.hooks as Record<string, unknown>)[name];
  if (name === "stop") stopping.abort(new Error("the plugin is stopping"));
  if (name === "initialize") await validate(settings);
  if (name === "configure") {
    const next = (args[0] ?? {}) as Record<string, unknown>;
    await validate(next); // invalid settings are refused and the old ones stay
    settings = next;
    return typeof hook === "function" ? hook.call(plugin.hooks, settings, ctx) : undefined;
  }
  if (name === "dependencyChanged" || name === "retiring") {
    return typeof hook === "function" ? hook.call(plugin.hooks, args[0], ctx) : undefined;
  }
  if (typeof hook !== "function") return name === "health" ? { status: "healthy" } : undefined;
  return hook.call(plugin.hooks, ctx);
}

/** Calls a plugin method; a named function, so a call allocates no closure. */
function invoke(fn: Fn, args: readonly unknown[]): unknown {
  return fn.apply(loaded!.self, args as unknown[]);
}

/** Serves one call. A method that returns a plain value is answered without a promise or an await. */
function serve(m: CallMessage): void {
  const controller = new AbortController();
  running.set(m.id, controller);
  let value: unknown;
  try {
    if (m.kind === "hook") value = runHook(m.method, m.args);
    else {
      const fn = loaded?.methods.get(m.method);
      if (!fn) {
        const known = loaded ? [...loaded.methods.keys()].join(", ") || "none" : "none";
        throw Object.assign(
          new Error(`Plugin "${ctx?.id}" has no method "${m.method}" (methods: ${known})`),
          {
            name: "PluginHostError",
            code: "METHOD_NOT_FOUND",
          },
        );
      }
      const begun = ranFor ? clock() : 0;
      value = callSignals.run(controller.signal, invoke, fn, m.args);
      if (ranFor) ranFor(begun, clock());
    }
    if (typeof (value as PromiseLike<unknown> | null)?.then === "function") {
      return void settleLater(m.id, value as PromiseLike<unknown>, m.method);
    }
  } catch (e) {
    running.delete(m.id);
    return answer({ v: 1, t: "error", id: m.id, error: errorOf(e) }, []);
  }
  running.delete(m.id);
  // Whatever the value is (a Proxy, a getter that throws, a function), only this call fails: sending it says why.
  answer({ v: 1, t: "result", id: m.id, value }, transferOf(value), m.method);
}

async function settleLater(id: number, pending: PromiseLike<unknown>, method?: string): Promise<void> {
  let value: unknown;
  try {
    value = await pending;
  } catch (e) {
    running.delete(id);
    return answer({ v: 1, t: "error", id, error: errorOf(e) }, []);
  }
  running.delete(id);
  answer({ v: 1, t: "result", id, value }, transferOf(value), method);
}

function receive(e: MessageEvent<HostMessage>): void {
  handle(e.data);
}

function handle(m: HostMessage): void {
  switch (m.t) {
    case "batch":
      for (const one of m.messages as HostMessage[]) if (one?.t !== "batch" && one?.t !== "load") handle(one);
      break;
    case "load":
      load(m).catch((error) => fatal("load", error));
      break;
    case "call":
      if (ownTask) ownTask(serve, m);
      else serve(m);
      break;
    case "cancel":
      running.get(m.id)?.abort(new Error(m.reason));
      break;
    case "tick":
      onTick?.(m.at);
      break;
    case "result":
    case "error":
      toHost?.settle(m);
      break;
  }
}

/** How {@linkcode serveOn} runs in a heap-capped node thread (thread_main.ts). */
export interface ThreadOptions {
  /** The supervisor: told of an announced exit too, so that it is not taken for a crash. */
  readonly parent?: { postMessage(message: unknown): void };
  /** Runs a call as its own task (node:timers' setImmediate). */
  readonly ownTask?: (serve: (m: CallMessage) => void, m: CallMessage) => void;
  /** The process tier: stdin and stdout are the channel to the host (process_main.ts). */
  readonly processTier?: boolean;
}

let ownTask: ThreadOptions["ownTask"];
/** What the load message still decides about the plugin's ambient authority (WebGPU). */
let ambient: AmbientControl | undefined;

let serving = false;

/** Serves the plugin over `over`: the worker scope, the thread's MessagePort, or the process tier's pipe. */
export function serveOn(over: Channel, thread: ThreadOptions = {}): void {
  // Once per thread, before the plugin's code runs: a plugin can import this very module (Deno does not check
  // a grant for a module it has loaded already), and a second call would hand it the runtime's channel.
  if (serving) return;
  serving = true;
  channel = over;
  ownTask = thread.ownTask;
  if (over === scope) posted = countPosts(scope); // before anything is posted, so the count is every message
  send = over.postMessage.bind(over);
  const parent = thread.parent;
  const tellParent = parent?.postMessage.bind(parent);
  ambient = harden((m) => {
    send(m);
    tellParent?.(m);
  }, { send: (m) => post(m as WorkerMessage), processTier: thread.processTier === true });
  channel.onmessage = receive;
}

// As a Deno Worker's entry, serve once this module has evaluated (before any message can arrive), not inside
// its evaluation: hardening takes CallSite's methods from a structured stack trace, and with this module's
// top-level frame on the stack V8 first re-parses the whole module for source positions (2.4 ms of every cold
// start with the bundle, measured). thread_main.ts and process_main.ts call serveOn themselves.
const WorkerScope = (globalThis as { WorkerGlobalScope?: abstract new () => unknown }).WorkerGlobalScope;
if (WorkerScope && globalThis instanceof WorkerScope) queueMicrotask(() => serveOn(scope));
