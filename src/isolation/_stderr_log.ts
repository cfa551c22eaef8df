// A process-tier plugin's stderr, read line by line into the host's LogTape, bounded in line length and rate,
// and watched for V8's out-of-memory report.
import { getLogger } from "../_npm/logtape.ts";

/** Longer lines are cut (a line without a newline is cut there too, so nothing buffers without bound). */
const MAX_LINE = 4096;
/** Lines logged per second at most; the rest are counted and reported as dropped. */
const LINES_PER_SECOND = 200;
const TAIL = 8;
/** What V8 prints when a heap limit is reached (`Fatal JavaScript out of memory: Reached heap limit`...). */
const OOM = /Fatal JavaScript out of memory|JavaScript heap out of memory|Reached heap limit/;

/**
 * Reads one plugin process's stderr until it closes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StderrLog } from "./_stderr_log.ts";
 * const child = new Deno.Command(Deno.execPath(), {
 *   args: ["eval", "console.error('first'); console.error('second')"],
 *   stdout: "null",
 *   stderr: "piped",
 * }).spawn();
 * const stderr = new StderrLog("demo", child.stderr);
 * await Promise.all([child.status, stderr.done]);
 * assert.equal(stderr.outOfMemory, false);
 * assert.deepEqual(stderr.tail, ["first", "second"]); // the last lines, kept to explain an exit
 * ```
 */
export class StderrLog {
  /** Settles when the stream has ended (or failed). */
  readonly done: Promise<void>;
  /** Whether V8 reported running out of heap. */
  outOfMemory = false;
  readonly #tail: string[] = [];
  readonly #log;
  readonly #id: string;
  #windowStart = 0;
  #inWindow = 0;
  #dropped = 0;

  /** Starts reading `stream`, the stderr of plugin `id`. */
  constructor(id: string, stream: ReadableStream<Uint8Array>) {
    this.#id = id;
    this.#log = getLogger(["dotcompute", "plugin", id, "stderr"]);
    this.done = this.#read(stream).catch(() => {});
  }

  /** The last few lines, for an operator reading why the process ended. */
  get tail(): readonly string[] {
    return this.#tail;
  }

  async #read(stream: ReadableStream<Uint8Array>): Promise<void> {
    let line = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      let at = 0;
      for (let nl = text.indexOf("\n", at); nl !== -1; nl = text.indexOf("\n", at)) {
        this.#line(line + text.slice(at, nl));
        line = "";
        at = nl + 1;
      }
      line += text.slice(at);
      while (line.length >= MAX_LINE) {
        this.#line(line.slice(0, MAX_LINE));
        line = line.slice(MAX_LINE);
      }
    }
    if (line) this.#line(line);
    this.#flushDropped();
  }

  #line(raw: string): void {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (OOM.test(line)) this.outOfMemory = true;
    if (line.trim() === "") return;
    this.#tail.push(line.slice(0, 512));
    if (this.#tail.length > TAIL) this.#tail.shift();
    const now = Date.now();
    if (now - this.#windowStart >= 1000) {
      this.#flushDropped();
      this.#windowStart = now;
      this.#inWindow = 0;
    }
    if (++this.#inWindow > LINES_PER_SECOND) {
      this.#dropped++;
      return;
    }
    // The line is the message as it is: braces in it are text, not placeholders.
    this.#log.emit({
      level: "info",
      message: [line],
      rawMessage: line,
      properties: { pluginId: this.#id },
      timestamp: now,
    });
  }

  #flushDropped(): void {
    if (this.#dropped === 0) return;
    this.#log.warn("dropped {count} lines of stderr (more than {limit} a second)", {
      count: this.#dropped,
      limit: LINES_PER_SECOND,
      pluginId: this.#id,
    });
    this.#dropped = 0;
  }
}
