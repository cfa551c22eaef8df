// The peers a call through the host is measured against, on the same kind of worker (a Deno Worker with the
// same narrowed permissions as a plugin: none at all): a raw postMessage echo and Comlink.
import * as Comlink from "comlink";

const RAW_ECHO = new URL("./workers/raw_echo.ts", import.meta.url);
const COMLINK_ECHO = new URL("./workers/comlink_echo.ts", import.meta.url);
const options = { type: "module", deno: { permissions: "none" } } as const;

/** A raw echo worker: one postMessage each way per call, matched by id (so calls can be pipelined). */
export class RawEcho implements Disposable {
  readonly #worker = new Worker(RAW_ECHO, options);
  readonly #pending = new Map<number, (v: unknown) => void>();
  #next = 0;
  #buffer: ((b: ArrayBuffer) => void) | undefined;

  constructor() {
    this.#worker.onmessage = (e: MessageEvent) => {
      const data = e.data;
      if (data instanceof ArrayBuffer) return this.#buffer?.(data);
      const resolve = this.#pending.get(data.id)!;
      this.#pending.delete(data.id);
      resolve(data.v);
    };
  }

  /** Sends `v` and resolves with the echo. */
  call(v: unknown): Promise<unknown> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#worker.postMessage({ id, v });
    });
  }

  /** Transfers `buffer` there and back (one at a time). */
  bounce(buffer: ArrayBuffer): Promise<ArrayBuffer> {
    return new Promise((resolve) => {
      this.#buffer = resolve;
      this.#worker.postMessage(buffer, [buffer]);
    });
  }

  [Symbol.dispose](): void {
    this.#worker.terminate();
  }
}

/** The same methods as the bench plugin, through Comlink. */
export interface ComlinkApi {
  sum(values: number[]): number;
  echo<T>(x: T): T;
}

/** A Comlink-wrapped worker and how to end it. */
export function comlinkPeer(): { api: Comlink.Remote<ComlinkApi> } & Disposable {
  const worker = new Worker(COMLINK_ECHO, options);
  return { api: Comlink.wrap<ComlinkApi>(worker), [Symbol.dispose]: () => worker.terminate() };
}
