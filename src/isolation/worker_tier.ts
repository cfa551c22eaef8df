/**
 * The default tier: each plugin in its own Deno Worker holding exactly its effective permissions.
 *
 * @module
 */

import { PluginCrashedError, PluginHostError } from "../errors.ts";
import { toWorkerPermissions } from "../permissions.ts";
import { collectTransferables, RpcEndpoint } from "../rpc/endpoint.ts";
import { type CallMessage, parseWorkerMessage, type WorkerMessage } from "../rpc/protocol.ts";
import { deserializeError, serializeError } from "../rpc/_wire_errors.ts";
import type { ExitInfo, IsolationTier, PluginConnection, SpawnSpec } from "./tier.ts";

const RUNTIME_URL = new URL("../runtime/plugin_main.ts", import.meta.url).href;

/**
 * Runs plugins in permission-narrowed Deno Workers (needs `--unstable-worker-options`).
 *
 * @example
 * ```ts
 * import { WorkerTier } from "@dotcompute/plugins";
 * const tier = new WorkerTier();
 * console.log(tier.kind); // "worker"
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
  readonly #endpoint: RpcEndpoint;
  readonly #incoming = new Map<number, AbortController>();
  #exit!: (info: ExitInfo) => void;
  #gone: ExitInfo | undefined;
  #ready = false;
  #loaded!: (ok: boolean, error?: Error) => void;

  constructor(spec: SpawnSpec) {
    this.#spec = spec;
    this.exited = new Promise((resolve) => this.#exit = resolve);
    try {
      this.#worker = new Worker(RUNTIME_URL, {
        type: "module",
        name: `plugin:${spec.id}`,
        deno: { permissions: toWorkerPermissions(spec.permissions) },
      });
    } catch (e) {
      throw new PluginHostError("LOAD_FAILED", `Cannot start a worker for plugin "${spec.id}": ${e}`, {
        pluginId: spec.id,
        cause: e,
      });
    }
    this.#endpoint = new RpcEndpoint({
      peer: spec.id,
      defaultTimeoutMs: spec.callTimeoutMs,
      send: (m, t) => this.#worker.postMessage(m, t),
    });
    this.#worker.onmessage = (e) => this.#receive(e.data);
    this.#worker.onmessageerror = () => spec.onProtocolError("a message could not be deserialized");
    this.#worker.onerror = (e) => {
      // Without preventDefault an error escaping a worker ends the host process.
      e.preventDefault();
      this.#die({ kind: "crash", reason: `uncaught error: ${e.message}` });
    };
    this.ready = new Promise<PluginConnection>((resolve, reject) => {
      const timer = setTimeout(
        () => this.#die({ kind: "load-failed", reason: `loading took longer than ${spec.loadTimeoutMs} ms` }),
        spec.loadTimeoutMs,
      );
      this.#loaded = (ok, error) => {
        clearTimeout(timer);
        if (ok) resolve(this);
        else reject(error);
      };
    });
    this.#worker.postMessage({
      v: 1,
      t: "load",
      url: spec.entryUrl,
      id: spec.id,
      name: spec.name,
      version: spec.version,
      settings: spec.settings,
      dependencies: spec.dependencies,
      callTimeoutMs: spec.callTimeoutMs,
    });
  }

  get pending(): number {
    return this.#endpoint.pending;
  }

  call(
    kind: CallMessage["kind"],
    method: string,
    args: readonly unknown[],
    options?: Parameters<RpcEndpoint["call"]>[3],
  ): Promise<unknown> {
    return this.#endpoint.call(kind, method, args, options);
  }

  terminate(reason = "terminated by the host"): Promise<void> {
    this.#die({ kind: "terminated", reason });
    return this.exited.then(() => {});
  }

  #die(info: ExitInfo): void {
    if (this.#gone) return;
    this.#gone = info;
    this.#worker.terminate();
    const error = info.error ?? new PluginCrashedError(this.#spec.id, info.reason);
    this.#endpoint.close(
      info.kind === "terminated"
        ? new PluginHostError("PLUGIN_NOT_RUNNING", info.reason, { cause: error })
        : error,
    );
    for (const c of this.#incoming.values()) c.abort(error);
    this.#incoming.clear();
    this.#loaded(
      false,
      new PluginHostError("LOAD_FAILED", info.reason, { pluginId: this.#spec.id, cause: error }),
    );
    this.#exit(info.error ? info : { ...info, error });
  }

  #receive(data: unknown): void {
    if (this.#gone) return;
    let m: WorkerMessage | string;
    try {
      m = parseWorkerMessage(data);
    } catch (e) {
      // The validator must not throw; if it ever does, the message is still just dropped.
      m = `unreadable message: ${e instanceof Error ? e.message : typeof e}`;
    }
    if (typeof m === "string") return this.#spec.onProtocolError(m);
    this.#dispatch(m);
  }

  #dispatch(m: WorkerMessage): void {
    const spec = this.#spec;
    switch (m.t) {
      case "ready":
        // Only the first: a plugin must not rewrite its method list later.
        if (this.#ready) return spec.onProtocolError("a second ready message");
        this.#ready = true;
        this.methods = Object.freeze([...m.methods]);
        return this.#loaded(true);
      case "result":
      case "error":
        if (!this.#endpoint.settle(m)) spec.onProtocolError(`answer to unknown call id ${m.id}`);
        return;
      case "log":
        return spec.onLog(m);
      case "metrics":
        return spec.onMetrics(m);
      case "exit":
        return this.#die({
          kind: "exit",
          reason: `the plugin ended its worker with ${m.how} (code ${m.code})`,
        });
      case "fatal": {
        const error = deserializeError(m.error, spec.id);
        const reason = m.phase === "load"
          ? `its module failed to load: ${error.name}: ${error.message}`
          : `uncaught ${error.name}: ${error.message}`;
        return this.#die({ kind: m.phase === "load" ? "load-failed" : "crash", reason, error });
      }
      case "cancel":
        return void this.#incoming.get(m.id)?.abort(new Error(m.reason));
      case "call":
        return void this.#serve(m);
    }
  }

  async #serve(m: CallMessage): Promise<void> {
    if (this.#incoming.has(m.id)) return this.#spec.onProtocolError(`duplicate call id ${m.id}`);
    const controller = new AbortController();
    this.#incoming.set(m.id, controller);
    try {
      const value = await this.#spec.onPluginCall(m.target!, m.method, m.args, controller.signal);
      if (!this.#gone) {
        this.#worker.postMessage({ v: 1, t: "result", id: m.id, value }, collectTransferables(value));
      }
    } catch (e) {
      if (!this.#gone) this.#worker.postMessage({ v: 1, t: "error", id: m.id, error: serializeError(e) });
    } finally {
      this.#incoming.delete(m.id);
    }
  }
}
