// How the runtime sends answers: those ready in the same tick go back as one batch (one message, one wake-up
// of the host, for a burst), and what it needs to know whether a call posted anything on its way.
import type { ErrorMessage, ResultMessage, WorkerMessage } from "../rpc/protocol.ts";
import { Batcher } from "../rpc/batcher.ts";
import { serializeError } from "../rpc/_wire_errors.ts";
import { collectTransferables } from "../rpc/_transfer.ts";
import type { SerializedError } from "../rpc/protocol.ts";

type Post = (message: WorkerMessage, transfer?: Transferable[]) => void;

/** Answers ready first wait at most this long for a long tick to end (see Batcher's `flushAfterMs`). */
const ANSWERS_FLUSH_AFTER_MS = 2;

/** What the plugin threw, as it crosses the wire; a value that throws when read (a Proxy...) is named so. */
export function errorOf(e: unknown): SerializedError {
  try {
    return serializeError(e);
  } catch {
    return { name: "Error", message: "the plugin threw a value that cannot be read" };
  }
}

/** The buffers a result may move; none when looking at it throws (a getter, a Proxy): sending it will say why. */
export function transferOf(value: unknown): Transferable[] {
  if (typeof value !== "object" || value === null) return [];
  try {
    return collectTransferables(value);
  } catch {
    return [];
  }
}

/** The error a call gets when its result cannot be sent (DataCloneError, a getter that threw, too deep...). */
export function unsendable(method: string | undefined, e: unknown): SerializedError {
  const why = errorOf(e);
  const what = method === undefined ? "The result" : `The result of method "${method.slice(0, 256)}"`;
  return {
    name: why.name === "Error" ? "DataCloneError" : why.name,
    message: `${what} cannot be sent to the host: ${why.message}`.slice(0, 8 * 1024),
  };
}

/** Queues answers and sends them at the end of the tick: one alone, several as one batch. */
export class AnswerQueue {
  readonly #batch: Batcher<ResultMessage | ErrorMessage, string>;

  constructor(post: Post) {
    this.#batch = new Batcher<ResultMessage | ErrorMessage, string>(post, (m, e, method) => {
      // Only this call fails, with why; the others of the batch are sent as they were.
      try {
        post({ v: 1, t: "error", id: m.id, error: unsendable(method, e) });
      } catch { /* the channel itself is gone */ }
    }, ANSWERS_FLUSH_AFTER_MS);
  }

  /** Queues an answer; `method` names the call in the error sent instead when its result cannot be sent. */
  push(message: ResultMessage | ErrorMessage, transfer: Transferable[], method?: string): void {
    this.#batch.push(message, transfer, method);
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
    // Same arity as the caller: one argument keeps Deno's fast path.
    if (arguments.length > 1) original.call(scope, message, transfer);
    else original.call(scope, message);
    // Counted once posted: a message that could not be cloned was never sent, and the host, waiting for it,
    // would hold every later answer of the shared slot.
    count++;
  };
  const d = Object.getOwnPropertyDescriptor(scope, "postMessage");
  if (!d || !("value" in d)) return () => NaN; // cannot count: NaN never equals itself, so nothing uses the slot
  Object.defineProperty(scope, "postMessage", { ...d, value: counted });
  return () => count;
}
