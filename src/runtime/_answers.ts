// How the runtime sends answers: those ready in the same tick go back as one batch (one message, one wake-up
// of the host, for a burst), and what it needs to know whether a call posted anything on its way.
import {
  BATCH_FLUSH_AT,
  type ErrorMessage,
  type ResultMessage,
  type WorkerMessage,
} from "../rpc/protocol.ts";
import { serializeError } from "../rpc/_wire_errors.ts";

// Taken at load: in a plugin's Worker, the plugin's code could replace the global afterwards.
const queue = queueMicrotask;

type Post = (message: WorkerMessage, transfer?: Transferable[]) => void;

/** Queues answers and sends them at the end of the tick: one alone, several as one batch. */
export class AnswerQueue {
  readonly #post: Post;
  #messages: (ResultMessage | ErrorMessage)[] = [];
  #transfers: Transferable[][] = [];
  #queued = false;

  constructor(post: Post) {
    this.#post = post;
  }

  push(message: ResultMessage | ErrorMessage, transfer: Transferable[]): void {
    this.#messages.push(message);
    this.#transfers.push(transfer);
    if (this.#messages.length >= BATCH_FLUSH_AT) return this.#flush();
    if (this.#queued) return;
    this.#queued = true;
    queue(() => this.#flush());
  }

  #flush(): void {
    this.#queued = false;
    const messages = this.#messages, transfers = this.#transfers;
    this.#messages = [];
    this.#transfers = [];
    if (messages.length > 1) {
      try {
        return this.#post({ v: 1, t: "batch", messages }, transfers.flat());
      } catch { /* a value cannot be cloned: send each alone, so only that call fails */ }
    }
    for (let i = 0; i < messages.length; i++) {
      try {
        this.#post(messages[i], transfers[i]);
      } catch (e) {
        this.#post({ v: 1, t: "error", id: messages[i].id, error: serializeError(e) });
      }
    }
  }
}

/**
 * Counts every message the worker scope posts from now on (the runtime's and the plugin's own), by wrapping
 * its postMessage: see serveShared. Returns the counter.
 */
export function countPosts(
  scope: { postMessage(message: unknown, transfer?: Transferable[]): void },
): () => number {
  let count = 0;
  const original = scope.postMessage;
  const counted = function postMessage(message: unknown, transfer?: Transferable[]): void {
    count++;
    // Same arity as the caller: one argument keeps Deno's fast path.
    if (arguments.length > 1) original.call(scope, message, transfer);
    else original.call(scope, message);
  };
  const d = Object.getOwnPropertyDescriptor(scope, "postMessage");
  if (!d || !("value" in d)) return () => NaN; // cannot count: NaN never equals itself, so nothing uses the slot
  Object.defineProperty(scope, "postMessage", { ...d, value: counted });
  return () => count;
}
