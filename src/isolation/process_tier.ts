/**
 * The process tier (`Isolation: "process"`): each plugin in its own `deno run` subprocess, holding its effective
 * permissions as flags, its heap cap as a V8 flag, and no environment of the host's but what its env grant
 * names. The host speaks the same RPC protocol to it over the child's stdin and stdout, framed by
 * `src/rpc/framing.ts`; the child's stderr goes to the host's log. Whatever the child does (exits, crashes,
 * runs out of heap, spins), it is one process ending: the plugin fails or restarts, the host keeps running.
 *
 * Unlike the worker tier, buffers are copied, not transferred: the sender keeps its `ArrayBuffer`s intact.
 *
 * @module
 */

import { PluginHostError } from "../errors.ts";
import { settledWithin } from "../_common/deadline.ts";
import { encodeFrame, FrameDecoder } from "../rpc/framing.ts";
import type { LoadMessage } from "../rpc/protocol.ts";
import { processCommand } from "./_process_command.ts";
import { StderrLog } from "./_stderr_log.ts";
import type { ExitInfo, IsolationTier, PluginConnection, SpawnSpec } from "./tier.ts";
import { Link, type LinkSink, type Transport } from "./_link.ts";

/** How long the last frames and stderr lines of an ended process get to arrive before its end is judged. */
const DRAIN_MS = 1000;

/**
 * A live plugin process.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProcessTier } from "@dotcompute/plugins";
 * const tier = new ProcessTier();
 * const running = tier.processes.map(({ id, pid }) => `${id} runs as pid ${pid}`);
 * assert.deepEqual(running, []); // until a host starts a plugin with Isolation "process" on it
 * ```
 */
export interface PluginProcess {
  /** The plugin id. */
  readonly id: string;
  /** The OS process id. */
  readonly pid: number;
}

/**
 * Runs plugins in their own `deno run` processes (the host needs `--allow-run` for `Deno.execPath()`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPluginHost, ProcessTier, WorkerTier } from "@dotcompute/plugins";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/hello`);
 * await Deno.writeTextFile(
 *   `${dir}/hello/plugin.jsonc`,
 *   '{ "id": "hello.world", "name": "hello", "version": "1.0.0" }',
 * );
 * await Deno.writeTextFile(
 *   `${dir}/hello/mod.ts`,
 *   'export default { methods: { greet: (n) => "hello " + n } };',
 * );
 * const processes = new ProcessTier();
 * const host = await createPluginHost({
 *   Plugins: { PluginsDirectory: dir, "hello.world": { Isolation: "process" } },
 * }, { tiers: { worker: new WorkerTier(), process: processes } });
 * assert.equal(processes.live, 0);
 * await host.start();
 * assert.deepEqual(processes.processes.map((p) => p.id), ["hello.world"]);
 * assert.equal(await host.getPlugin("hello.world")?.call("greet", "Ada"), "hello Ada");
 * await host.stop();
 * assert.equal(processes.live, 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class ProcessTier implements IsolationTier {
  /** Always `"process"`. */
  readonly kind = "process";
  readonly #live = new Set<PluginProcess>();

  /** Processes of this tier that are alive now. */
  get live(): number {
    return this.#live.size;
  }

  /** The plugin processes alive now (a plugin mid-swap has two). */
  get processes(): readonly PluginProcess[] {
    return [...this.#live];
  }

  /** Starts the plugin's process and loads its module. */
  spawn(spec: SpawnSpec): Promise<PluginConnection> {
    let pid = 0, conn: Link;
    try {
      conn = new Link(spec, "process", 0, (sink) => {
        const process = new ProcessTransport(spec, sink);
        pid = process.pid;
        return process;
      });
    } catch (e) {
      return Promise.reject(e);
    }
    const entry: PluginProcess = Object.freeze({ id: spec.id, pid });
    this.#live.add(entry);
    void conn.exited.then(() => this.#live.delete(entry));
    return conn.ready;
  }
}

/** A plugin's `deno run` child as its link drives it. */
class ProcessTransport implements Transport {
  readonly pid: number;
  readonly #spec: SpawnSpec;
  readonly #sink: LinkSink;
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #stderr: StderrLog;
  /** Settles once the process has ended and its output has been read (or DRAIN_MS passed). */
  readonly #ended: Promise<Deno.CommandStatus>;

  constructor(spec: SpawnSpec, sink: LinkSink) {
    this.#spec = spec;
    this.#sink = sink;
    const command = processCommand(spec.permissions, spec.maxMemoryMB);
    try {
      this.#child = new Deno.Command(command.command, {
        args: [...command.args],
        env: { ...command.env },
        clearEnv: true,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      // The host may not run Deno itself: say which flag, with the path it needs (through npx, a cache path).
      const hint = e instanceof Deno.errors.NotCapable
        ? `; the process tier runs each plugin as "${command.command}", so the host needs ` +
          `--allow-run=ps,${command.command} in its deno run flags (for "npx -y deno@2.9.6 task start", in the ` +
          `"start" task of deno.json), or Isolation "worker" for this plugin`
        : "";
      throw new PluginHostError(
        "LOAD_FAILED",
        `Cannot start a process for plugin "${spec.id}": ${e}${hint}`,
        {
          pluginId: spec.id,
          cause: e,
        },
      );
    }
    this.pid = this.#child.pid;
    this.#stdin = this.#child.stdin.getWriter();
    this.#stderr = new StderrLog(spec.id, this.#child.stderr);
    const framesRead = this.#readFrames(this.#child.stdout);
    this.#ended = this.#child.status.then(async (status) => {
      await settledWithin(Promise.all([framesRead, this.#stderr.done]), DRAIN_MS);
      return status;
    });
    void this.#ended.then((status) => sink.die(this.#judge(status)));
  }

  start(load: LoadMessage): void {
    this.send(load);
    if (this.#spec.traffic) this.#spec.traffic.messagesSent++;
  }

  /** Frames and writes one message; throws (DataCloneError) only when it cannot be serialized. */
  send(message: unknown): void {
    const frame = encodeFrame(message);
    // A failed write means the process is gone; its status says how, so the write error itself is dropped.
    if (!this.#sink.gone()) this.#stdin.write(frame).catch(() => {});
  }

  async #readFrames(stdout: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new FrameDecoder();
    try {
      for await (const chunk of stdout) {
        for (const data of decoder.push(chunk)) {
          this.#sink.receive(data);
        }
        if (decoder.error) {
          // The stream cannot be resynchronised: the process is ended (leaving the loop cancels stdout).
          this.#spec.onProtocolError(decoder.error.message);
          this.#sink.die({ kind: "crash", reason: `its output could not be read: ${decoder.error.message}` });
          break;
        }
      }
    } catch { /* the pipe broke: the process's status tells the rest */ }
  }

  /** How the process ended, judged from its status and last words. */
  #judge(status: Deno.CommandStatus): ExitInfo {
    const how = status.signal ? `signal ${status.signal}` : `code ${status.code}`;
    const fatalSignal = status.signal === "SIGTRAP" || status.signal === "SIGABRT" ||
      status.code === 133 || status.code === 134;
    if (this.#stderr.outOfMemory && fatalSignal) {
      const limit = this.#spec.maxMemoryMB ? `its heap limit of ${this.#spec.maxMemoryMB} MiB` : "the heap";
      return { kind: "memory", reason: `the plugin ran out of memory: it exceeded ${limit} (${how})` };
    }
    const last = this.#stderr.tail.slice(-2).join(" | ");
    const words = last ? `: ${last}` : "";
    if (!this.#sink.isReady()) {
      return { kind: "load-failed", reason: `its process ended while loading (${how})${words}` };
    }
    if (status.signal) return { kind: "crash", reason: `its process was ended by ${status.signal}${words}` };
    return { kind: "exit", reason: `its process exited with code ${status.code}${words}` };
  }

  /** Ends the process (SIGKILL stops even a busy loop) and waits until it is gone and its pipes are read. */
  async shutdown(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* it has already ended */ }
    await this.#stdin.close().catch(() => this.#stdin.abort().catch(() => {}));
    await this.#ended;
  }
}
