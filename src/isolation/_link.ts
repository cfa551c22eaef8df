/**
 * Internal: what both tiers' connections are, whatever carries their messages. A {@linkcode Link} owns the
 * endpoint of the host's calls, the inbox of what the plugin sends, the load timeout and the plugin's one death;
 * a {@linkcode Transport} (a Worker, a child process) only moves messages and ends its unit.
 *
 * @module
 */

import { PluginCrashedError, PluginHostError } from "../errors.ts";
import { RpcEndpoint } from "../rpc/endpoint.ts";
import type { CallMessage, LoadMessage } from "../rpc/protocol.ts";
import { Inbox, loadMessage } from "./_inbox.ts";
import type { ExitInfo, PluginConnection, SpawnSpec } from "./tier.ts";

/** What a transport tells its link. */
export interface LinkSink {
  /** One message from the plugin, as it arrived (the inbox validates it); `viaSlot`: not a posted message. */
  receive(data: unknown, viaSlot?: boolean): void;
  /** The unit ended, or must: how. */
  die(info: ExitInfo): void;
  /** Whether the plugin has said it loaded (an end before that is a failed load). */
  isReady(): boolean;
  /** Whether the plugin is already gone. */
  gone(): boolean;
  /** Whether a call into the plugin is in flight. */
  busy(): boolean;
}

/** One plugin's unit (a Worker, a process) as its link drives it. */
export interface Transport {
  /** Sends one message (a transfer list where the channel can move buffers). */
  send(message: unknown, transfer: Transferable[]): void;
  /** The lone small call's fast path, when it has one (the direct worker's shared slot): whether it took it. */
  readonly fastSend?: (message: CallMessage) => boolean;
  /** Sends the first message; the transport may add what only it knows (a shared buffer). */
  start(load: LoadMessage): void;
  /** The link died: stop whatever the transport runs beside the unit (ticks, shared slots). */
  closing?(): void;
  /** Ends the unit, even a spinning one, and resolves once it is gone. */
  shutdown(reason: string): Promise<void>;
}

/** A plugin's connection in either tier. */
export class Link implements PluginConnection {
  readonly ready: Promise<PluginConnection>;
  readonly exited: Promise<ExitInfo>;
  #methods: readonly string[] = [];
  /** The skippable hooks the plugin defines, if it said (ReadyMessage.hooks). */
  #hooks: ReadonlySet<string> | undefined;
  readonly #spec: SpawnSpec;
  readonly #transport: Transport;
  readonly #endpoint: RpcEndpoint;
  readonly #inbox: Inbox;
  #exit!: (info: ExitInfo) => void;
  #gone: ExitInfo | undefined;
  #loaded!: (ok: boolean, error?: Error) => void;

  /** `unit` names it in messages; `bootMs` is the host's own start cost, added to the plugin's load timeout. */
  constructor(spec: SpawnSpec, unit: string, bootMs: number, transport: (sink: LinkSink) => Transport) {
    this.#spec = spec;
    this.exited = new Promise((resolve) => this.#exit = resolve);
    const traffic = spec.traffic;
    const t = this.#transport = transport({
      receive: (data, viaSlot) => {
        if (traffic && !viaSlot) traffic.messagesReceived++;
        this.#inbox.receive(data);
      },
      die: (info) => this.#die(info),
      isReady: () => this.#inbox.isReady,
      gone: () => this.#gone !== undefined,
      busy: () => this.#endpoint.pending > 0,
    });
    const send = (m: unknown, transfer: Transferable[]): void => {
      t.send(m, transfer);
      if (traffic) traffic.messagesSent++;
    };
    this.#endpoint = new RpcEndpoint({
      peer: spec.id,
      defaultTimeoutMs: spec.callTimeoutMs,
      send,
      batch: true,
      ...(spec.onMethodEnd ? { onMethodEnd: spec.onMethodEnd } : {}),
      ...(t.fastSend ? { fastSend: t.fastSend } : {}),
    });
    this.#inbox = new Inbox({
      spec,
      endpoint: this.#endpoint,
      unit,
      send,
      gone: () => this.#gone !== undefined,
      die: (info) => this.#die(info),
      ready: (methods, hooks) => {
        this.#methods = methods;
        this.#hooks = hooks;
        this.#loaded(true);
      },
    });
    this.ready = new Promise<PluginConnection>((resolve, reject) => {
      // Cleared once loaded: a timer per spawn, not per call.
      const timer = setTimeout(
        () => this.#die({ kind: "load-failed", reason: `loading took longer than ${spec.loadTimeoutMs} ms` }),
        spec.loadTimeoutMs + bootMs,
      );
      this.#loaded = (ok, error) => {
        clearTimeout(timer);
        if (ok) resolve(this);
        else reject(error);
      };
    });
    if (!spec.admission) t.start(loadMessage(spec));
    else {
      spec.admission.then(
        (verdict) => this.#gone || t.start(loadMessage({ ...spec, ...verdict })),
        (e: unknown) => {
          const error = e instanceof Error ? e : new Error(String(e));
          this.#die({ kind: "load-failed", reason: error.message, error });
        },
      );
    }
  }

  get methods(): readonly string[] {
    return this.#methods;
  }

  get gone(): boolean {
    return this.#gone !== undefined;
  }

  get pending(): number {
    return this.#endpoint.pending;
  }

  idle(): Promise<void> {
    return this.#endpoint.idle();
  }

  // One signature serves both of PluginConnection's (a hook by HookName, a method by name).
  call(
    kind: CallMessage["kind"],
    method: string,
    args: readonly unknown[],
    options?: Parameters<RpcEndpoint["call"]>[3],
  ): Promise<unknown> {
    if (kind === "hook" && this.#skips(method)) return Promise.resolve(undefined);
    return this.#endpoint.call(kind, method, args, options);
  }

  /** A hook the plugin does not define, that would do nothing in it: no round trip (on a live unit only). */
  #skips(hook: string): boolean {
    const has = this.#hooks;
    if (!has || this.#gone) return false;
    if (hook === "initialize") return !has.has("initialize") && !has.has("validateSettings");
    return hook === "start" && !has.has("start");
  }

  kill(kind: "timeout" | "cpu" | "memory", reason: string): Promise<void> {
    this.#die({ kind, reason });
    return this.exited.then(() => {});
  }

  terminate(reason = "terminated by the host"): Promise<void> {
    this.#die({ kind: "terminated", reason });
    return this.exited.then(() => {});
  }

  /** The plugin's one death: every pending call and load rejects with why, then the unit ends. */
  #die(info: ExitInfo): void {
    if (this.#gone) return;
    this.#gone = info;
    this.#transport.closing?.();
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
    void this.#transport.shutdown(info.reason).then(() => this.#exit(final));
  }
}
