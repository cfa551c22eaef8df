// Calls from this host to plugins on others: one request per call on the callee host's subject, answered on
// one inbox of this host's (src/cluster/_mux.ts). The owner of the calls in flight per host: a host the beats lose rejects its
// calls at once with HOST_LOST (a NATS request to a dead host would only time out).
import { PluginHostError } from "../errors.ts";
import type { NatsConnection } from "../_npm/nats.ts";
import { MuxError, RequestMux } from "./_mux.ts";
import { deserializeError } from "../rpc/_wire_errors.ts";
import { encodeFrame } from "./_codec.ts";
import { type CallRequest, FLEET_PROTOCOL, parseCallReply } from "./protocol.ts";
import type { RemoteOffer } from "./types.ts";
import type { Spill } from "./_spill.ts";

// The codes a host's answer may carry that keep their meaning here (others become plain errors by name).
const REMOTE_CODES: ReadonlySet<string> = new Set([
  "METHOD_NOT_FOUND",
  "PERMISSION_DENIED",
  "PLUGIN_NOT_FOUND",
  "PLUGIN_NOT_RUNNING",
  "PLUGIN_OVERLOADED",
  "PLUGIN_CRASHED",
  "CALL_TIMEOUT",
  "CALL_ABORTED",
  "REMOTE_ERROR",
  "REPLICA_LOST",
  "QUEUE_TIMEOUT",
  "HOST_STOPPED",
  "PROTOCOL_ERROR",
]);

interface InFlight {
  readonly reject: (e: Error) => void;
}

export class RemoteCalls {
  readonly #mux: RequestMux;
  readonly #subject: (hostId: string) => string;
  readonly #hostId: string;
  readonly #inFlight = new Map<string, Set<InFlight>>();
  readonly #spill: Spill;

  constructor(nc: NatsConnection, subject: (hostId: string) => string, hostId: string, spill: Spill) {
    this.#mux = new RequestMux(nc);
    this.#spill = spill;
    this.#subject = subject;
    this.#hostId = hostId;
  }

  /** Calls in flight from here to `hostId`. */
  load(hostId: string): number {
    return this.#inFlight.get(hostId)?.size ?? 0;
  }

  /** Rejects every call in flight to `hostId` with HOST_LOST. */
  lost(hostId: string, why: string): void {
    const calls = this.#inFlight.get(hostId);
    this.#inFlight.delete(hostId);
    for (const c of calls ?? []) c.reject(hostLost(hostId, why));
  }

  /** One call; rejects with HOST_LOST when the host is lost or nobody serves its subject. */
  async request(
    to: RemoteOffer,
    method: string,
    args: readonly unknown[],
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<unknown> {
    signal?.throwIfAborted();
    const body: CallRequest = {
      v: FLEET_PROTOCOL,
      caller: this.#hostId,
      plugin: to.id,
      method,
      args,
      timeoutMs,
    };
    let entry: InFlight | undefined;
    const settled = new Promise<never>((_, reject) => {
      entry = { reject };
    });
    const calls = this.#inFlight.get(to.hostId) ?? new Set<InFlight>();
    this.#inFlight.set(to.hostId, calls);
    calls.add(entry!);
    const onAbort = () =>
      entry!.reject(new PluginHostError("CALL_ABORTED", `The call to "${to.id}" was aborted`));
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const out = this.#spill.out(encodeFrame(body));
      const frame = out instanceof Promise ? await out : out;
      const reply = await Promise.race([
        this.#mux.request(this.#subject(to.hostId), frame, timeoutMs),
        settled,
      ]);
      const read = this.#spill.read(reply.data);
      const answer = parseCallReply(read instanceof Promise ? await read : read);
      if (answer.ok) return answer.value;
      const e = answer.error;
      if (e.name === "PluginHostError" && e.code && REMOTE_CODES.has(e.code)) {
        throw new PluginHostError(e.code as never, e.message, { pluginId: to.id });
      }
      throw deserializeError(e, to.id);
    } catch (e) {
      if (e instanceof MuxError && e.reason === "no-responders") {
        throw hostLost(to.hostId, "nobody serves its subject");
      }
      if (e instanceof MuxError) {
        throw new PluginHostError(
          "CALL_TIMEOUT",
          `Call to "${to.id}.${method}" on host "${to.hostId}" timed out after ${timeoutMs} ms`,
          { pluginId: to.id },
        );
      }
      throw e;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      calls.delete(entry!);
      if (calls.size === 0 && this.#inFlight.get(to.hostId) === calls) this.#inFlight.delete(to.hostId);
    }
  }
}

const hostLost = (hostId: string, why: string): PluginHostError =>
  new PluginHostError("HOST_LOST", `Host "${hostId}" of the fleet was lost (${why})`);
