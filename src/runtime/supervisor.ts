// The entry of every plugin's Deno Worker: it holds the plugin's narrowed permissions but runs none of the
// plugin's code. It starts the plugin's own thread, a node:worker_threads Worker, which inherits the narrowing
// and adds what a Deno Worker lacks: a heap cap (resourceLimits: running out of heap ends that thread alone,
// where a Deno Worker would abort the whole host) and a terminate() that stops even a busy loop. Calls go
// straight between the host and the plugin's thread over the MessagePort handed through here; this module only
// reports how the thread ended and ends it when the host asks.
import { Worker as ThreadWorker } from "node:worker_threads";

/** Host → supervisor. */
type Command =
  | { t: "spawn"; url: string; port: MessagePort; maxMemoryMB?: number }
  | { t: "kill"; reason: string };

const scope = globalThis as unknown as {
  postMessage(message: unknown): void;
  onmessage: ((e: MessageEvent<Command>) => void) | null;
};

let thread: ThreadWorker | undefined;
let killing: string | undefined;
let exiting = false;
let reported = false;

function report(kind: "memory" | "exit" | "crash" | "killed", reason: string, code?: number): void {
  if (reported) return;
  reported = true;
  scope.postMessage({ t: "died", kind, reason, code });
}

scope.onmessage = (e) => {
  const m = e.data;
  if (m.t === "spawn" && !thread) {
    const limits = m.maxMemoryMB
      ? { maxOldGenerationSizeMb: m.maxMemoryMB, maxYoungGenerationSizeMb: 16 }
      : {};
    thread = new ThreadWorker(new URL(m.url), {
      workerData: { port: m.port },
      transferList: [m.port as unknown as Transferable] as never,
      resourceLimits: limits,
    });
    thread.on("error", (error: Error & { code?: string }) => {
      if (error.code === "ERR_WORKER_OUT_OF_MEMORY") {
        report("memory", `the plugin exceeded its heap limit of ${m.maxMemoryMB} MiB`);
      } else report("crash", `uncaught ${error.name}: ${error.message}`);
    });
    // The runtime tells us before the plugin ends its own thread (Deno.exit, close(), process.exit).
    thread.on("message", (msg: { t?: string } | null) => {
      if (msg?.t === "exit") exiting = true;
    });
    thread.on("exit", (code: number) => {
      if (killing !== undefined) report("killed", killing, code);
      else if (!exiting && code !== 0 && m.maxMemoryMB) {
        // Measured: a thread that reaches its heap cap while serving a call ends with code 1 and no error
        // event; nothing else ends it silently (an uncaught error comes as an error event first).
        report(
          "memory",
          `the plugin's thread ended abruptly (code ${code}) at its heap limit of ${m.maxMemoryMB} MiB`,
        );
      } else report("exit", `the plugin's thread ended (code ${code})`, code);
    });
  } else if (m.t === "kill") {
    killing = m.reason;
    if (!thread) return report("killed", m.reason);
    void thread.terminate();
  }
};
