// The main module of a process-tier plugin: `deno run` starts it with the plugin's permissions as flags. It
// serves the same RPC protocol as the worker runtime (plugin_main.ts) over stdin (host → plugin) and stdout
// (plugin → host), framed by src/rpc/framing.ts.
//
// stdout belongs to the frames alone. Before any plugin code loads, `Deno.stdout` and `process.stdout` are
// sent to stderr (which the host logs line by line), and the runtime turns the console and both streams into
// the plugin's log records (_ambient.ts), as in a Worker. A plugin that still reaches the real file
// descriptor 1 only garbles its own channel: the host sees a bad frame, reports a protocol error and ends this
// process.
//
// The host's death closes stdin; this process then exits by itself (unless the plugin keeps its thread busy,
// in which case only the host's SIGKILL or the plugin returning ends it).
import process from "node:process";
import { encodeFrame, FrameDecoder } from "../rpc/framing.ts";
import type { HostMessage } from "../rpc/protocol.ts";

// Captured before the runtime hardens Deno.exit and before the plugin could touch any of them.
const frames = Deno.stdout;
const exit = Deno.exit.bind(Deno);
const stdin = Deno.stdin.readable;

Object.defineProperty(Deno, "stdout", { value: Deno.stderr, writable: false, configurable: false });
Object.defineProperty(process, "stdout", { get: () => process.stderr, configurable: false });

/** Writes one whole frame. The write blocks until the host reads it, which keeps frames in order and whole. */
function write(frame: Uint8Array): void {
  try {
    for (let at = 0; at < frame.length;) at += frames.writeSync(frame.subarray(at));
  } catch {
    exit(0); // the host is gone (broken pipe): nobody is left to serve
  }
}

interface Channel {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<HostMessage>) => void) | null;
}

const channel: Channel = {
  onmessage: null,
  // Buffers are copied across the pipe: the transfer list has nothing to move.
  postMessage(message: unknown): void {
    write(encodeFrame(message)); // an uncloneable value throws DataCloneError here, as postMessage does
  },
};

// The host's death closes stdin, but only this thread would notice, and a plugin in a busy loop keeps it: the
// child would run on after a SIGKILLed host. A Worker of its own (a data: module: it needs no read grant)
// watches the parent instead and ends the process when it is gone (reparented). It sleeps in Atomics.wait,
// with no event loop or timer (a timer alone costs a Worker ~1.7 MiB). Started before the runtime takes the
// Worker constructor away from the plugin.
const WATCH = `const parent = Deno.ppid, cell = new Int32Array(new SharedArrayBuffer(4));
  while (Deno.ppid === parent) Atomics.wait(cell, 0, 0, 500);
  Deno.kill(Deno.pid, "SIGKILL");`;
new Worker(`data:text/javascript,${encodeURIComponent(WATCH)}`, { type: "module" });

const { serveOn } = await import("./plugin_main.ts");
serveOn(channel, { processTier: true });

async function pump(): Promise<never> {
  const decoder = new FrameDecoder();
  for await (const chunk of stdin) {
    for (const data of decoder.push(chunk)) channel.onmessage?.({ data } as MessageEvent<HostMessage>);
    if (decoder.error) {
      console.error(`dotcompute: unreadable input from the host: ${decoder.error.message}`);
      return exit(70);
    }
  }
  return exit(0); // stdin closed: the host is gone or done with this plugin
}
void pump();
