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
  /** The plugin loaded; these are its methods. */
  ready(methods: readonly string[]): void;
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

  /** Handles one message as it arrived. */
  receive(data: unknown): void {
    if (this.#o.gone()) return;
    const m = parse(data);
    if (typeof m === "string") return this.#o.spec.onProtocolError(m);
    if (m.t !== "batch") return this.#dispatch(m);
    // Each element on its own: a malformed one is reported and dropped, the others still count.
    for (const element of m.messages) {
      if (this.#o.gone()) return;
      const one = parseElement(element);
      if (typeof one === "string") this.#o.spec.onProtocolError(`in a batch: ${one}`);
      else this.#dispatch(one);
    }
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
        return this.#o.ready(Object.freeze([...m.methods]));
      case "result":
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
        const reason = m.phase === "load"
          ? `its module failed to load: ${error.name}: ${error.message}`
          : `uncaught ${error.name}: ${error.message}`;
        return this.#o.die({ kind: m.phase === "load" ? "load-failed" : "crash", reason, error });
      }
      case "cancel":
        return void this.#incoming.get(m.id)?.abort(new Error(m.reason));
      case "call":
        return void this.#serve(m);
    }
  }

  async #serve(m: CallMessage): Promise<void> {
    const o = this.#o;
    if (this.#incoming.has(m.id)) return o.spec.onProtocolError(`duplicate call id ${m.id}`);
    const controller = new AbortController();
    this.#incoming.set(m.id, controller);
    try {
      const value = await o.spec.onPluginCall(m.target!, m.method, m.args, controller.signal);
      if (!o.gone()) o.send({ v: 1, t: "result", id: m.id, value }, collectTransferables(value));
    } catch (e) {
      if (!o.gone()) o.send({ v: 1, t: "error", id: m.id, error: serializeError(e) }, []);
    } finally {
      this.#incoming.delete(m.id);
    }
  }
}
