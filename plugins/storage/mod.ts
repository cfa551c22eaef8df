// The key-value store. One file per key under data/kv/ (the key hex-encoded, so any string is a safe name);
// the value is stored as JSON. A write goes to a hidden temporary file that is fsynced and then renamed over
// the old one: rename is atomic, so readers and restarts see the old value or the new one, never a torn one.
import { definePlugin, type PluginContext } from "@dotcompute/plugins/plugin";

/** A value the store keeps: anything JSON can represent. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const KV = new URL("./data/kv/", import.meta.url);
const MAX_KEY = 256;
const encoder = new TextEncoder();
let maxValueBytes = 1024 * 1024;
let log: PluginContext["log"];

function invalid(message: string): Error {
  return Object.assign(new RangeError(message), { code: "INVALID_ARGUMENT" });
}

function fileOf(key: unknown): URL {
  if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY) {
    throw invalid(`a key must be a string of 1 to ${MAX_KEY} characters, got ${JSON.stringify(key)}`);
  }
  const hex = Array.from(encoder.encode(key), (b) => b.toString(16).padStart(2, "0")).join("");
  return new URL(`${hex}.json`, KV);
}

function keyOf(name: string): string | undefined {
  const m = /^((?:[0-9a-f]{2})+)\.json$/.exec(name);
  if (!m) return undefined;
  return new TextDecoder().decode(Uint8Array.from(m[1].match(/../g)!, (h) => parseInt(h, 16)));
}

/** Writes `text` to `target` atomically: temp file in the same folder, fsync, rename, fsync the folder. */
async function writeAtomic(target: URL, text: string): Promise<void> {
  const tmp = new URL(`.tmp-${crypto.randomUUID()}`, KV);
  const file = await Deno.open(tmp, { write: true, createNew: true });
  try {
    await file.write(encoder.encode(text));
    await file.sync();
  } finally {
    file.close();
  }
  try {
    await Deno.rename(tmp, target);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  // Make the rename itself durable. Not every platform can open a folder; the data is safe without it there.
  try {
    using dir = await Deno.open(KV, { read: true });
    await dir.sync();
  } catch { /* best effort */ }
}

export default definePlugin({
  validateSettings(settings: Readonly<Record<string, unknown>>): string[] {
    const max = settings.maxValueBytes;
    return Number.isSafeInteger(max) && (max as number) > 0
      ? []
      : [`"maxValueBytes" must be a whole number > 0, got ${JSON.stringify(max)}`];
  },
  async initialize(ctx: PluginContext): Promise<void> {
    log = ctx.log;
    maxValueBytes = Number(ctx.settings.maxValueBytes ?? maxValueBytes);
    await Deno.mkdir(KV, { recursive: true });
    // A write cut short by a crash leaves its temporary file behind; the old value is intact.
    for await (const e of Deno.readDir(KV)) {
      if (!e.name.startsWith(".tmp-")) continue;
      await Deno.remove(new URL(e.name, KV));
      log.warn("removed {file}, left by an interrupted write", { file: e.name });
    }
    log.info("key-value store in {dir}", { dir: KV.pathname });
  },
  configure(settings: Readonly<Record<string, unknown>>): void {
    maxValueBytes = Number(settings.maxValueBytes ?? maxValueBytes);
  },
  methods: {
    /** The value stored under `key`, or undefined. */
    async get(key: string): Promise<JsonValue | undefined> {
      try {
        return JSON.parse(await Deno.readTextFile(fileOf(key)));
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return undefined;
        throw e;
      }
    },
    /** Stores `value` under `key`, atomically. */
    async set(key: string, value: JsonValue): Promise<void> {
      const file = fileOf(key);
      const text = JSON.stringify(value);
      if (text === undefined) throw invalid(`the value of "${key}" cannot be stored as JSON`);
      const size = encoder.encode(text).length;
      if (size > maxValueBytes) {
        throw invalid(`the value of "${key}" is ${size} bytes as JSON; at most ${maxValueBytes} are allowed`);
      }
      await writeAtomic(file, text);
    },
    /** Removes `key`; true when it was there. */
    async delete(key: string): Promise<boolean> {
      try {
        await Deno.remove(fileOf(key));
        return true;
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return false;
        throw e;
      }
    },
    /** The keys starting with `prefix` (default all), sorted. */
    async list(prefix = ""): Promise<string[]> {
      const keys: string[] = [];
      for await (const e of Deno.readDir(KV)) {
        const key = e.isFile ? keyOf(e.name) : undefined;
        if (key !== undefined && key.startsWith(prefix)) keys.push(key);
      }
      return keys.sort();
    },
  },
});
