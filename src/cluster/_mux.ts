// Requests from this host, answered on one inbox subscription: each request's reply subject is the inbox and
// a token, its answer found by the token. The client's own request() does the same but makes an Error (with
// its stack) for every request it completes, a tenth of a fleet call's CPU; this one makes errors only for
// calls that fail.
import { createInbox, type Msg, type NatsConnection } from "../_npm/nats.ts";

interface Pending {
  readonly resolve: (msg: Msg) => void;
  readonly reject: (e: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** Why a request got no answer: nobody serves the subject, or none came in time. */
export class MuxError extends Error {
  readonly reason: "no-responders" | "timeout";
  constructor(reason: "no-responders" | "timeout") {
    super(reason === "timeout" ? "no answer in time" : "nobody serves the subject");
    this.reason = reason;
  }
}

export class RequestMux {
  readonly #nc: NatsConnection;
  readonly #prefix: string;
  readonly #pending = new Map<string, Pending>();
  #next = 0;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
    this.#prefix = `${createInbox()}.`;
    // Ends with the connection's drain.
    nc.subscribe(`${this.#prefix}*`, {
      callback: (err, msg) => {
        if (err) return;
        const token = msg.subject.slice(this.#prefix.length);
        const p = this.#pending.get(token);
        if (!p) return; // late, after its timeout
        this.#pending.delete(token);
        clearTimeout(p.timer);
        // The server's "no responders" status: an empty message with a 503 header.
        if (msg.data.length === 0 && msg.headers?.code === 503) p.reject(new MuxError("no-responders"));
        else p.resolve(msg);
      },
    });
  }

  /** Publishes `data` to `subject` and resolves with its answer, or rejects with a {@linkcode MuxError}. */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Msg> {
    const token = (this.#next++).toString(36);
    return new Promise<Msg>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(token);
        reject(new MuxError("timeout"));
      }, timeoutMs);
      this.#pending.set(token, { resolve, reject, timer });
      try {
        this.#nc.publish(subject, data, { reply: this.#prefix + token });
      } catch (e) {
        this.#pending.delete(token);
        clearTimeout(timer);
        reject(e);
      }
    });
  }
}
