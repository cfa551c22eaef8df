/**
 * The default tier: each plugin in its own Deno Worker holding exactly its effective permissions. The Worker
 * runs only the supervisor (src/runtime/supervisor.ts); the plugin runs in a node:worker_threads thread inside
 * it, which inherits the narrowing, can be given a heap cap, and can be ended even while it spins. Calls travel
 * over a MessagePort straight between the host and the plugin's thread.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { PluginCrashedError, PluginHostError } from "../errors.ts";
import { toWorkerPermissions } from "../permissions/permissions.ts";
import { RpcEndpoint } from "../rpc/endpoint.ts";
import type { CallMessage } from "../rpc/protocol.ts";
import type { ExitInfo, IsolationTier, PluginConnection, SpawnSpec } from "./tier.ts";
import { Inbox, loadMessage } from "./_inbox.ts";
import { SharedCalls } from "./_shared_calls.ts";
import { tickEvery } from "./_usage_clock.ts";
import { WRAPPER_READS } from "./_wrapper_reads.ts";

const SUPERVISOR_URL = new URL("../runtime/supervisor.ts", import.meta.url).href;
const RUNTIME_URL = new URL("../runtime/plugin_main.ts", import.meta.url).href;
const THREAD_URL = new URL("../runtime/thread_main.ts", import.meta.url).href;
/** The plugin's thread loads the runtime under the plugin's grants: it may read these, and only these, too. */
const RUNTIME_READS: readonly string[] = ["../runtime/", "../rpc/", "../errors.ts"]
  .map((rel) => new URL(rel, import.meta.url))
  .filter((url) => url.protocol === "file:")
  .map((url) => fileURLToPath(url));
/** What a guarded worker's thread may take to start, on top of the plugin's load timeout. */
const GUARDED_BOOT_MS = 5000;
/** How long the supervisor gets to confirm the plugin's thread ended before its Worker is ended anyway. */
const KILL_GRACE_MS = 2000;

/** A supervisor's report that the plugin's thread ended. */
interface Died {
  readonly t: "died";
  readonly kind: "memory" | "exit" | "crash" | "killed";
  readonly reason: string;
  readonly code?: number;
}

/**
 * Runs plugins in permission-narrowed Deno Workers (needs `--unstable-worker-options`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WorkerTier } from "@dotcompute/plugins";
 * const tier = new WorkerTier();
 * assert.equal(tier.kind, "worker");
 * assert.equal(tier.live, 0); // no worker until a host starts a plugin on it
 * ```
 */
export class WorkerTier implements IsolationTier {
  /** Always `"worker"`. */
  readonly kind = "worker";
  #live = 0;

  /** Workers of this tier that are alive now. */
  get live(): number {
    return this.#live;
  }

  /** Starts the plugin's worker and loads its module. */
  spawn(spec: SpawnSpec): Promise<PluginConnection> {
    const conn = new WorkerConnection(spec);
    this.#live++;
    void conn.exited.then(() => this.#live--);
    return conn.ready;
  }
}

class WorkerConnection implements PluginConnection {
  readonly ready: Promise<PluginConnection>;
  readonly exited: Promise<ExitInfo>;
  methods: readonly string[] = [];
  readonly #spec: SpawnSpec;
  readonly #worker: Worker;
  /** Where calls go: a MessagePort to the plugin's thread (guarded) or the Worker itself (direct). */
  readonly #channel: { postMessage(m: unknown, t?: Transferable[]): void; close?(): void };
  /** Guarded: the plugin runs in a node thread under the supervisor (heap cap, killable mid-loop). */
  readonly #guarded: boolean;
  readonly #endpoint: RpcEndpoint;
  #threadGone!: () => void;
  readonly #threadEnded: Promise<void> = new Promise((resolve) => this.#threadGone = resolve);
  #exit!: (info: ExitInfo) => void;
  #gone: ExitInfo | undefined;
  #loaded!: (ok: boolean, error?: Error) => void;
  readonly #inbox: Inbox;
  readonly #shared: SharedCalls | undefined;
  /** Stops the host's usage ticks to this worker (direct workers only; a guarded thread has its own timer). */
  #untick: (() => void) | undefined;
  /** Every message from the worker, unreadable ones too: the shared slot's answers wait for this count. */
  #messagesIn = 0;

  constructor(spec: SpawnSpec) {
    this.#spec = spec;
    this.exited = new Promise((resolve) => this.#exit = resolve);
    // A guarded plugin costs a second thread and about 0.6 s more to start (measured: BENCHMARKS.md), so only
    // plugins with a heap cap get one.
    this.#guarded = spec.maxMemoryMB !== undefined || spec.maxCpuPercent !== undefined;
    const permissions = toWorkerPermissions(spec.permissions);
    const own = Array.isArray(permissions.read) ? permissions.read : [];
    permissions.read = [...own, ...(this.#guarded ? RUNTIME_READS : WRAPPER_READS)];
    try {
      this.#worker = new Worker(this.#guarded ? SUPERVISOR_URL : RUNTIME_URL, {
        type: "module",
        name: `plugin:${spec.id}`,
        deno: { permissions },
      });
    } catch (e) {
      throw new PluginHostError("LOAD_FAILED", `Cannot start a worker for plugin "${spec.id}": ${e}`, {
        pluginId: spec.id,
        cause: e,
      });
    }
    let port2: MessagePort | undefined;
    if (this.#guarded) {
      const pair = new MessageChannel();
      port2 = pair.port2;
      this.#channel = pair.port1;
      pair.port1.onmessage = (e) => this.#received(e.data);
      pair.port1.onmessageerror = () => spec.onProtocolError("a message could not be deserialized");
      this.#worker.onmessage = (e: MessageEvent<Died>) => this.#supervisorSaid(e.data);
    } else {
      this.#channel = this.#worker;
      this.#threadGone(); // nothing to wait for: the Worker is the plugin's thread
      this.#worker.onmessage = (e) => this.#received(e.data);
      this.#worker.onmessageerror = () => {
        this.#messagesIn++; // it was posted, so the slot's count includes it
        spec.onProtocolError("a message could not be deserialized");
        this.#shared?.caughtUp();
      };
    }
    const channel = this.#channel;
    const traffic = spec.traffic;
    const send = (m: unknown, t: Transferable[]): void => {
      // One argument when nothing moves: Deno then takes its fast path (no transfer-list conversion), which
      // measured about 10% of a round trip.
      if (t.length === 0) channel.postMessage(m);
      else channel.postMessage(m, t);
      if (traffic) traffic.messagesSent++;
    };
    // A direct worker also gets the shared-memory slot for lone small calls (a guarded plugin's node thread
    // does not: its calls go over the MessagePort alone).
    const shared = this.#guarded ? undefined : new SharedCalls({
      deliver: (m) => this.#inbox.receive(m),
      protocolError: (reason) => spec.onProtocolError(reason),
      received: () => this.#messagesIn,
    });
    this.#shared = shared;
    this.#endpoint = new RpcEndpoint({
      peer: spec.id,
      defaultTimeoutMs: spec.callTimeoutMs,
      send,
      batch: true,
      ...(spec.onMethodEnd ? { onMethodEnd: spec.onMethodEnd } : {}),
      ...(shared
        ? { fastSend: (m: CallMessage) => shared.trySend(m) && (traffic && traffic.sharedCalls++, true) }
        : {}),
    });
    this.#inbox = new Inbox({
      spec,
      endpoint: this.#endpoint,
      unit: "worker",
      send,
      gone: () => this.#gone !== undefined,
      die: (info) => this.#die(info),
      ready: (methods) => {
        this.methods = methods;
        this.#loaded(true);
      },
    });
    this.#worker.onerror = (e) => {
      // Without preventDefault an error escaping a worker ends the host process.
      e.preventDefault();
      this.#die({ kind: "crash", reason: `uncaught error: ${e.message}` });
    };
    this.ready = new Promise<PluginConnection>((resolve, reject) => {
      // The load timeout bounds the plugin's own module graph; a guarded worker's thread first needs its own
      // start (about 0.6 s here, more on a loaded machine), which is the host's cost, not the plugin's.
      const ms = spec.loadTimeoutMs + (this.#guarded ? GUARDED_BOOT_MS : 0);
      const timer = setTimeout(
        () => this.#die({ kind: "load-failed", reason: `loading took longer than ${spec.loadTimeoutMs} ms` }),
        ms,
      );
      this.#loaded = (ok, error) => {
        clearTimeout(timer);
        if (ok) resolve(this);
        else reject(error);
      };
    });
    if (port2) {
      this.#worker.postMessage(
        { t: "spawn", url: THREAD_URL, port: port2, maxMemoryMB: spec.maxMemoryMB },
        [port2],
      );
    }
    const load = shared
      ? { ...loadMessage(spec), shared: shared.buffer, hostTicks: true }
      : loadMessage(spec);
    channel.postMessage(load);
    if (shared) {
      this.#untick = tickEvery(load.usageTickMs ?? 1000, (at) => {
        if (this.#gone) return;
        channel.postMessage({ v: 1, t: "tick", at });
        if (traffic) traffic.messagesSent++;
      });
    }
  }

  #received(data: unknown): void {
    this.#messagesIn++;
    if (this.#spec.traffic) this.#spec.traffic.messagesReceived++;
    this.#inbox.receive(data);
    this.#shared?.caughtUp();
  }

  get pending(): number {
    return this.#endpoint.pending;
  }

  idle(): Promise<void> {
    return this.#endpoint.idle();
  }

  call(
    kind: CallMessage["kind"],
    method: string,
    args: readonly unknown[],
    options?: Parameters<RpcEndpoint["call"]>[3],
  ): Promise<unknown> {
    return this.#endpoint.call(kind, method, args, options);
  }

  kill(kind: "timeout" | "cpu" | "memory", reason: string): Promise<void> {
    this.#die({ kind, reason });
    return this.exited.then(() => {});
  }

  terminate(reason = "terminated by the host"): Promise<void> {
    this.#die({ kind: "terminated", reason });
    return this.exited.then(() => {});
  }

  /** The supervisor says the plugin's thread ended: how, in its words. */
  #supervisorSaid(m: Died): void {
    if (m?.t !== "died") return;
    this.#threadGone();
    const kind = m.kind === "memory" ? "memory" : m.kind === "killed" ? "terminated" : m.kind;
    this.#die({ kind, reason: m.reason });
  }

  /** Ends the plugin's thread through the supervisor (even a spinning one), then the Worker itself. */
  async #shutdown(reason: string): Promise<void> {
    if (this.#guarded) this.#worker.postMessage({ t: "kill", reason });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#threadEnded, new Promise((r) => timer = setTimeout(r, KILL_GRACE_MS))]);
    clearTimeout(timer);
    this.#worker.terminate();
    this.#channel.close?.();
  }

  #die(info: ExitInfo): void {
    if (this.#gone) return;
    this.#gone = info;
    this.#shared?.close();
    this.#untick?.();
    const error = info.error ?? new PluginCrashedError(this.#spec.id, info.reason);
    this.#endpoint.close(
      info.kind === "terminated"
        ? new PluginHostError("PLUGIN_NOT_RUNNING", info.reason, { cause: error })
        : error,
    );
    this.#inbox.abortAll(error);
    this.#loaded(
      false,
      new PluginHostError("LOAD_FAILED", info.reason, { pluginId: this.#spec.id, cause: error }),
    );
    const final = info.error ? info : { ...info, error };
    void this.#shutdown(info.reason).then(() => this.#exit(final));
  }
}
