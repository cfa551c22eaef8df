// Messages over the servers' max_payload (1 MiB by default): the frame goes into the fleet's spill bucket (a
// JetStream object store, chunked there) and the message carries only a pointer to it; the receiver reads the
// frame back and deletes it. Orphans (a receiver that died first) expire with the bucket's TTL.
import type { NatsConnection, ObjectStore } from "../_npm/nats.ts";
import { Objm } from "../_npm/nats.ts";
import { PluginHostError } from "../errors.ts";
import { decodeFrame, encodeFrame } from "./_codec.ts";
import { FLEET_PROTOCOL } from "./protocol.ts";

/** Room left under max_payload for NATS's own headers. */
const HEADROOM = 4096;
/** A spilled frame past this is refused on both sides. */
export const MAX_SPILL_BYTES = 256 << 20;
const TTL_NS = 10 * 60 * 1e9;
const KEY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Pointer {
  readonly v: typeof FLEET_PROTOCOL;
  readonly spill: string;
  readonly n: number;
}

function isPointer(v: unknown): v is Pointer {
  if (typeof v !== "object" || v === null || !Object.hasOwn(v, "spill")) return false;
  const p = v as Record<string, unknown>;
  if (p.v !== FLEET_PROTOCOL || typeof p.spill !== "string" || !KEY.test(p.spill)) {
    throw new PluginHostError("PROTOCOL_ERROR", 'a fleet message: "spill" must name a spilled frame');
  }
  if (typeof p.n !== "number" || !Number.isInteger(p.n) || p.n < 0 || p.n > MAX_SPILL_BYTES) {
    throw new PluginHostError(
      "PROTOCOL_ERROR",
      `a fleet message: "n" must be a size up to ${MAX_SPILL_BYTES}`,
    );
  }
  return true;
}

export class Spill {
  readonly #nc: NatsConnection;
  readonly #bucket: string;
  #store: Promise<ObjectStore> | undefined;

  constructor(nc: NatsConnection, bucket: string) {
    this.#nc = nc;
    this.#bucket = bucket;
  }

  #open(): Promise<ObjectStore> {
    this.#store ??= new Objm(this.#nc).create(this.#bucket, { ttl: TTL_NS }).catch((e) => {
      this.#store = undefined;
      throw new PluginHostError(
        "REMOTE_ERROR",
        `A message over the NATS servers' max_payload needs JetStream (the spill bucket ${this.#bucket}): ${e}`,
        { cause: e },
      );
    });
    return this.#store;
  }

  /**
   * The bytes to send for `frame`: itself when it fits (at once, no promise: the common case stays off the
   * microtask queue), else a promise of a pointer to it in the spill bucket.
   */
  out(frame: Uint8Array): Uint8Array | Promise<Uint8Array> {
    const max = this.#nc.info?.max_payload ?? 1 << 20;
    return frame.byteLength <= max - HEADROOM ? frame : this.#put(frame);
  }

  async #put(frame: Uint8Array): Promise<Uint8Array> {
    if (frame.byteLength > MAX_SPILL_BYTES) {
      throw new PluginHostError(
        "REMOTE_ERROR",
        `A call across hosts carries at most ${MAX_SPILL_BYTES} bytes; this one is ${frame.byteLength}`,
      );
    }
    const store = await this.#open();
    const key = crypto.randomUUID();
    await store.putBlob({ name: key }, frame);
    return encodeFrame({ v: FLEET_PROTOCOL, spill: key, n: frame.byteLength } satisfies Pointer);
  }

  /**
   * The decoded message `data` carries (at once, no promise), or for a pointer the promise of its frame, read
   * back from the bucket, then deleted. Never itself a promise otherwise: a frame decodes to JSON values.
   */
  read(data: Uint8Array): unknown {
    const v = decodeFrame(data);
    return isPointer(v) ? this.#fetch(v) : v;
  }

  async #fetch(v: Pointer): Promise<unknown> {
    const store = await this.#open();
    const info = await store.info(v.spill);
    if (!info || info.deleted || info.size !== v.n) {
      throw new PluginHostError("PROTOCOL_ERROR", `a fleet message: spilled frame ${v.spill} is not there`);
    }
    const frame = await store.getBlob(v.spill);
    // Read once. Awaited: a few hundred µs beside a frame of megabytes; the TTL takes what a crash leaves.
    await store.delete(v.spill).catch(() => {});
    if (!frame) {
      throw new PluginHostError("PROTOCOL_ERROR", `a fleet message: spilled frame ${v.spill} is gone`);
    }
    return decodeFrame(frame);
  }
}
