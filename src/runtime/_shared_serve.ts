// The worker's side of the shared-memory call slot (src/rpc/_shared_slot.ts): waits for the host's lone small
// calls with Atomics.waitAsync, hands each to the runtime as a call message, and writes its answer back when
// JSON carries it exactly; any other answer is posted, and the slot only released.
import type { CallMessage, ErrorMessage, ResultMessage } from "../rpc/protocol.ts";
import {
  AREA,
  DATA,
  jsonExact,
  POSTED,
  readText,
  REQ_LEN,
  REQ_SEQ,
  RES_ERROR,
  RES_KIND,
  RES_LEN,
  RES_POSTED,
  RES_RESULT,
  RES_SEQ,
  writeText,
} from "../rpc/_shared_slot.ts";
import { errorOf, unsendable } from "./_answers.ts";

/** The slot as the runtime sees it. */
export interface SharedServer {
  /**
   * Answers the call the slot carries: through the slot when JSON carries the answer exactly, else by `post`
   * (then it only frees the slot). False when `m` answers another call.
   */
  answer(m: ResultMessage | ErrorMessage, transfer: Transferable[], method?: string): boolean;
}

/**
 * Serves the slot in `buffer`: its calls go to `onCall`; answers that do not fit it go by `post`. `posted`
 * counts every message this thread has posted; each answer carries that count, and the host delivers the answer
 * only once it has received as many messages, so it has seen a call's logs (and anything posted before) first.
 * `isProxy` keeps a Proxy out of the slot (JSON would read it through its traps).
 */
export function serveShared(
  buffer: SharedArrayBuffer,
  onCall: (m: CallMessage) => void,
  post: (m: ResultMessage | ErrorMessage, transfer: Transferable[]) => void,
  posted: () => number,
  isProxy: (v: object) => boolean,
): SharedServer {
  const i32 = new Int32Array(buffer);
  const u8 = new Uint8Array(buffer);
  let seen = 0;
  let current: number | undefined;

  const finish = (kind: number, length: number): void => {
    current = undefined;
    i32[RES_KIND] = kind;
    i32[RES_LEN] = length;
    i32[POSTED] = posted();
    Atomics.store(i32, RES_SEQ, seen);
    Atomics.notify(i32, RES_SEQ);
  };

  /** The answer as the slot's text (a result wrapped in an array, so `undefined` fits), or undefined. */
  const encode = (m: ResultMessage | ErrorMessage): string | undefined => {
    try {
      if (m.t === "error") return JSON.stringify(m.error);
      if (m.value === undefined) return "[]";
      return jsonExact(m.value, isProxy) ? `[${JSON.stringify(m.value)}]` : undefined;
    } catch {
      return undefined; // a getter threw: the posted answer reports it
    }
  };

  const server: SharedServer = {
    answer(m, transfer, method): boolean {
      if (m.id !== current) return false;
      const text = transfer.length === 0 ? encode(m) : undefined;
      const length = text === undefined ? -1 : writeText(u8, DATA + AREA, text);
      if (length >= 0) {
        finish(m.t === "result" ? RES_RESULT : RES_ERROR, length);
        return true;
      }
      // Freed first, so that once the host has the posted answer it also finds the slot free.
      finish(RES_POSTED, 0);
      try {
        post(m, transfer);
      } catch (e) {
        post({ v: 1, t: "error", id: m.id, error: unsendable(method, e) }, []); // an uncloneable result
      }
      return true;
    },
  };

  void (async () => {
    for (;;) {
      const wait = Atomics.waitAsync(i32, REQ_SEQ, seen);
      if (wait.async) await wait.value;
      const next = Atomics.load(i32, REQ_SEQ);
      if (next === seen) continue;
      seen = next;
      const [id, method, args] = JSON.parse(readText(u8, DATA, i32[REQ_LEN])) as [number, string, unknown[]];
      current = id;
      try {
        onCall({ v: 1, t: "call", id, kind: "method", method, args });
      } catch (e) {
        // Serving must answer every call: a slot left busy would hold this plugin's calls until they time out.
        if (current === id) server.answer({ v: 1, t: "error", id, error: errorOf(e) }, []);
      }
    }
  })();
  return server;
}
