// The entry of a plugin's own node:worker_threads thread, started by the supervisor inside the plugin's narrowed
// Deno Worker when the plugin has a heap cap or a CPU budget. It takes the MessagePort to the host from
// workerData and serves the plugin over it (plugin_main.ts). Node's modules are loaded here, not in
// plugin_main.ts, so that a plugin in a plain Deno Worker does not pay for them.
import { setImmediate } from "node:timers";
import { parentPort, workerData } from "node:worker_threads";
import { type Channel, serveOn } from "./plugin_main.ts";

const port = (workerData as { port?: MessagePort } | null | undefined)?.port;
if (!port) throw new Error("thread_main.ts: the supervisor passed no MessagePort in workerData");
serveOn(port as unknown as Channel, {
  parent: parentPort ?? undefined,
  // Measured: a thread that reaches its heap cap inside a MessagePort handler hangs instead of ending, while
  // one that reaches it in a task of its own ends; so each call runs as its own task.
  ownTask: (serve, m) => void setImmediate(serve, m),
});
