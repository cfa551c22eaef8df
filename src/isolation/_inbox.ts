// What both tiers do with what a plugin sends: validate it (a malformed message is dropped and reported, never
// trusted), settle the host's calls, pass logs, metrics and usage on, turn exits and fatal errors into the
// plugin's death, and carry the plugin's own calls to other plugins through the host.
import { collectTransferables, type RpcEndpoint } from "../rpc/endpoint.ts";
import {
  type BatchMessage,
  type CallMessage,
  type LoadMessage,
  parseWorkerMessage,
  type WorkerMessage,
} from "../rpc/protocol.ts";
import { deserializeError, serializeError } from "../rpc/_wire_errors.ts";
import { unshareOwned } from "../rpc/_unshare.ts";
import type { ExitInfo, SpawnSpec } from "./tier.ts";

/** The first message every tier sends: load the plugin this spec describes. */
export function loadMessage(spec: SpawnSpec): LoadMessage {
  return {
    v: 1,
    t: "load",
    url: spec.entryUrl,
    id: spec.id,
    name: spec.name,
    version: spec.version,
    settings: spec.settings,
    dependencies: spec.dependencies,
    callTimeoutMs: spec.callTimeoutMs,
    // Limits need a fine-grained usage timer (a CPU budget, buffers counted against a heap cap); without them,
    // a tick a second costs a tenth of the wake-ups.
    usageTickMs: spec.maxCpuPercent === undefined && spec.maxMemoryMB === undefined ? 1000 : 100,
    ...(spec.permissions.gpu ? { allowGpu: true } : {}),
    ...(spec.permissions.npm?.length ? { npm: spec.permissions.npm } : {}),
    ...(spec.importHook ? { importHook: true } : {}),
    ...(spec.budget ? { budget: spec.budget } : {}),
  };
}

function parse(data: unknown): WorkerMessage | string {
  try {
    return parseWorkerMessage(data);
  } catch (e) {
    // The validator must not throw; if it ever does, the message is still just dropped.
    return `unreadable message: ${e instanceof Error ? e.message : typeof e}`;
  }
}

/** One element of a batch: any message but another batch. */
function parseElement(data: unknown): Exclude<WorkerMessage, BatchMessage> | string {
  const m = parse(data);
  return typeof m !== "string" && m.t === "batch" ? "a nested batch" : m;
}

/** The connection an inbox serves. */
export interface InboxOwner {
  readonly spec: SpawnSpec;
  readonly endpoint: RpcEndpoint;
  /** "worker" or "process", for messages. */
  readonly unit: string;
  /** Sends to the plugin (a transfer list where the channel can move buffers). */
  send(message: unknown, transfer: Transferable[]): void;
  /** Whether the plugin is already gone. */
  gone(): boolean;
  /** Ends the plugin for the reason given. */
  die(info: ExitInfo): void;
  /** The plugin loaded; these are its methods, and the skippable hooks it defines (if it said). */
  ready(methods: readonly string[], hooks: ReadonlySet<string> | undefined): void;
}

/** One plugin's incoming messages. */
export class Inbox {
  readonly #o: InboxOwner;
  readonly #incoming = new Map<number, AbortController>();
  #ready = false;

  constructor(owner: InboxOwner) {
    this.#o = owner;
  }

  /** Whether the plugin has said it is ready. */
  get isReady(): boolean {
    return this.#ready;
  }

  /** Handles one message as it arrived. Never throws: what a plugin sends must not reach the event loop. */
  receive(data: unknown): void {
    if (this.#o.gone()) return;
    const m = parse(data);
    if (typeof m === "string") return this.#charge(m);
    if (m.t !== "batch") return this.#handle(m);
    // Each element on its own: a malformed one is reported and dropped, the others still count.
    for (const element of m.messages) {
      if (this.#o.gone()) return;
      const one = parseElement(element);
      if (typeof one === "string") this.#charge(`in a batch: ${one}`);
      else this.#handle(one);
    }
  }

  /**
   * Dispatches one message; whatever its handling throws (a log the host's logger refuses, a callback's bug) is
   * charged to the plugin as a protocol error: one bad message is dropped, the next ones are handled.
   */
  #handle(m: Exclude<WorkerMessage, BatchMessage>): void {
    try {
      this.#dispatch(m);
    } catch (e) {
      this.#charge(`handling its "${m.t}" message failed: ${describe(e)}`);
    }
  }

  #charge(reason: string): void {
    try {
      this.#o.spec.onProtocolError(reason);
    } catch { /* reporting failed too: the message is still dropped */ }
  }

  /** The plugin is gone: its own pending calls to other plugins are aborted. */
  abortAll(error: Error): void {
    for (const c of this.#incoming.values()) c.abort(error);
    this.#incoming.clear();
  }

  #dispatch(m: Exclude<WorkerMessage, BatchMessage>): void {
    const { spec, endpoint } = this.#o;
    switch (m.t) {
      case "ready":
        // Only the first: a plugin must not rewrite its method list later.
        if (this.#ready) return spec.onProtocolError("a second ready message");
        this.#ready = true;
        return this.#o.ready(Object.freeze([...m.methods]), m.hooks && new Set(m.hooks));
      case "result":
        // A fresh clone, the host's alone: shared memory in it is copied out here, before anyone sees it.
        if (typeof m.value === "object" && m.value !== null) {
          (m as { value: unknown }).value = unshareOwned(m.value);
        }
        if (!endpoint.settle(m)) spec.onProtocolError(`answer to unknown call id ${m.id}`);
        return;
      case "error":
        if (!endpoint.settle(m)) spec.onProtocolError(`answer to unknown call id ${m.id}`);
        return;
      case "log":
        return spec.onLog(m);
      case "metrics":
        return spec.onMetrics(m);
      case "usage":
        return spec.onUsage?.(m);
      case "exit":
        return this.#o.die({
          kind: "exit",
          reason: `the plugin ended its ${this.#o.unit} with ${m.how} (code ${m.code})`,
        });
      case "fatal": {
        const error = deserializeError(m.error, spec.id);
        // Deno reports a module's syntax error as a TypeError whose message starts "SyntaxError: ": one name.
        const named = /^[A-Z][A-Za-z]*Error: /.test(error.message)
          ? error.message
          : `${error.name}: ${error.message}`;
        const reason = m.phase === "load" ? `its module failed to load: ${named}` : `uncaught ${named}`;
        return this.#o.die({ kind: m.phase === "load" ? "load-failed" : "crash", reason, error });
      }
      case "cancel":
        return void this.#incoming.get(m.id)?.abort(new Error(m.reason));
      case "call":
        if (this.#incoming.has(m.id)) return spec.onProtocolError(`duplicate call id ${m.id}`);
        // Its arguments go on to another plugin: no memory of this one's may stay shared with it.
        return void this.#serve(m, unshareOwned(m.args)).catch((e) =>
          this.#charge(`its call failed: ${describe(e)}`)
        );
    }
  }

  async #serve(m: CallMessage, args: readonly unknown[]): Promise<void> {
    const o = this.#o;
    const controller = new AbortController();
    this.#incoming.set(m.id, controller);
    try {
      const value = await o.spec.onPluginCall(m.target!, m.method, args, controller.signal);
      if (!o.gone()) o.send({ v: 1, t: "result", id: m.id, value }, collectTransferables(value));
    } catch (e) {
      // The value could not be sent (or the call failed): the plugin gets an error, the host goes on.
      if (!o.gone()) o.send({ v: 1, t: "error", id: m.id, error: serializeError(e) }, []);
    } finally {
      this.#incoming.delete(m.id);
    }
  }
}

/** Names what a handler threw without trusting it: converting it may throw too. */
function describe(e: unknown): string {
  try {
    return e instanceof Error ? `${e.name}: ${e.message}`.slice(0, 500) : typeof e;
  } catch {
    return "an unreadable error";
  }
}
