/**
 * The default tier: each plugin in its own Deno Worker holding exactly its effective permissions. The Worker
 * runs only the supervisor (src/runtime/supervisor.ts); the plugin runs in a node:worker_threads thread inside
 * it, which inherits the narrowing, can be given a heap cap, and can be ended even while it spins. Calls travel
 * over a MessagePort straight between the host and the plugin's thread.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { PluginHostError } from "../errors.ts";
import { settledWithin } from "../_common/deadline.ts";
import { toWorkerPermissions } from "../permissions/permissions.ts";
import type { CallMessage, LoadMessage } from "../rpc/protocol.ts";
import type { IsolationTier, PluginConnection, SpawnSpec } from "./tier.ts";
import { Link, type LinkSink, type Transport } from "./_link.ts";
import { SharedCalls } from "./_shared_calls.ts";
import { type Ticked, tickEvery } from "./_usage_clock.ts";
import { WRAPPER_READS } from "./_wrapper_reads.ts";
import { runtimeEntry } from "./_runtime_entry.ts";

const SUPERVISOR_URL = new URL("../runtime/supervisor.ts", import.meta.url).href;
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
    // A guarded plugin costs a second thread and about 0.6 s more to start (measured: BENCHMARKS.md), so only
    // plugins with limits get one. The load timeout bounds the plugin's own module graph; a guarded thread first
    // needs its own start (about 0.6 s here, more on a loaded machine), which is the host's cost, not the plugin's.
    const guarded = spec.maxMemoryMB !== undefined || spec.maxCpuPercent !== undefined;
    const boot = guarded ? GUARDED_BOOT_MS : 0;
    const conn = new Link(spec, "worker", boot, (sink) => new WorkerTransport(spec, sink, guarded));
    this.#live++;
    void conn.exited.then(() => this.#live--);
    return conn.ready;
  }
}

/** A plugin's Worker (and, guarded, the node thread inside it) as its link drives it. */
class WorkerTransport implements Transport {
  readonly fastSend?: (message: CallMessage) => boolean;
  readonly #spec: SpawnSpec;
  readonly #sink: LinkSink;
  readonly #worker: Worker;
  /** Where calls go: a MessagePort to the plugin's thread (guarded) or the Worker itself (direct). */
  readonly #channel: { postMessage(m: unknown, t?: Transferable[]): void; close?(): void };
  /** Guarded: the plugin runs in a node thread under the supervisor (heap cap, killable mid-loop). */
  readonly #guarded: boolean;
  #threadGone!: () => void;
  readonly #threadEnded: Promise<void> = new Promise((resolve) => this.#threadGone = resolve);
  #port2: MessagePort | undefined;
  readonly #shared: SharedCalls | undefined;
  /** This worker on the host's usage clock (direct workers only; a guarded thread has its own timer). */
  #ticked: Ticked | undefined;
  /** Every message from the worker, unreadable ones too: the shared slot's answers wait for this count. */
  #messagesIn = 0;

  constructor(spec: SpawnSpec, sink: LinkSink, guarded: boolean) {
    this.#spec = spec;
    this.#sink = sink;
    this.#guarded = guarded;
    const permissions = toWorkerPermissions(spec.permissions);
    const own = Array.isArray(permissions.read) ? permissions.read : [];
    permissions.read = [...own, ...(guarded ? RUNTIME_READS : WRAPPER_READS)];
    try {
      this.#worker = new Worker(guarded ? SUPERVISOR_URL : runtimeEntry(), {
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
    if (guarded) {
      const pair = new MessageChannel();
      this.#port2 = pair.port2;
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
    this.#worker.onerror = (e) => {
      // Without preventDefault an error escaping a worker ends the host process.
      e.preventDefault();
      sink.die({ kind: "crash", reason: `uncaught error: ${e.message}` });
    };
    // A direct worker also gets the shared-memory slot for lone small calls (a guarded plugin's node thread
    // does not: its calls go over the MessagePort alone).
    const shared = this.#shared = guarded ? undefined : new SharedCalls({
      deliver: (m) => sink.receive(m, true),
      protocolError: (reason) => spec.onProtocolError(reason),
      received: () => this.#messagesIn,
    });
    const traffic = spec.traffic;
    if (shared) {
      this.fastSend = (m) => {
        if (!shared.trySend(m)) return false;
        this.#ticked?.touch();
        if (traffic) traffic.sharedCalls++;
        return true;
      };
    }
  }

  send(m: unknown, t: Transferable[]): void {
    this.#ticked?.touch();
    // One argument when nothing moves: Deno then takes its fast path (no transfer-list conversion), which
    // measured about 10% of a round trip.
    if (t.length === 0) this.#channel.postMessage(m);
    else this.#channel.postMessage(m, t);
  }

  start(load: LoadMessage): void {
    const port2 = this.#port2, shared = this.#shared, channel = this.#channel, traffic = this.#spec.traffic;
    if (port2) {
      this.#worker.postMessage({
        t: "spawn",
        url: THREAD_URL,
        port: port2,
        maxMemoryMB: this.#spec.maxMemoryMB,
      }, [
        port2,
      ]);
    }
    channel.postMessage(shared ? { ...load, shared: shared.buffer, hostTicks: true } : load);
    if (shared) {
      const sink = this.#sink;
      this.#ticked = tickEvery(load.usageTickMs ?? 1000, (at) => {
        if (sink.gone()) return;
        channel.postMessage({ v: 1, t: "tick", at });
        if (traffic) traffic.messagesSent++;
      }, { needed: this.#spec.usageNeeded !== false, busy: () => sink.busy() });
    }
  }

  closing(): void {
    this.#shared?.close();
    this.#ticked?.stop();
  }

  /** Ends the plugin's thread through the supervisor (even a spinning one), then the Worker itself. */
  async shutdown(reason: string): Promise<void> {
    if (this.#guarded) this.#worker.postMessage({ t: "kill", reason });
    await settledWithin(this.#threadEnded, KILL_GRACE_MS);
    this.#worker.terminate();
    this.#channel.close?.();
  }

  #received(data: unknown): void {
    this.#messagesIn++;
    // Anything but the answer to a tick keeps the worker on the full clock a period longer (_usage_clock.ts).
    if ((data as { t?: unknown } | null)?.t !== "usage") this.#ticked?.touch();
    this.#sink.receive(data);
    this.#shared?.caughtUp();
  }

  /** The supervisor says the plugin's thread ended: how, in its words. */
  #supervisorSaid(m: Died): void {
    if (m?.t !== "died") return;
    this.#threadGone();
    const kind = m.kind === "memory" ? "memory" : m.kind === "killed" ? "terminated" : m.kind;
    this.#sink.die({ kind, reason: m.reason });
  }
}
