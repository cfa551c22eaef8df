// A real nats-server for the fleet's tests: on 127.0.0.1, a port of its own choosing (-p -1, read back from
// its log), JetStream in a temp folder; stopped (and its folder removed) on dispose. Ready when its log says
// so: no sleep. `restart()` stops it and starts it again on the same port, as an operator's restart would.

export interface NatsServer extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGKILL when `hard`) and starts it again on the same port and store. */
  restart(hard?: boolean): Promise<void>;
}

/** Whether Debian's nats-server is installed (.ci/run installs it); the fleet's tests need it. */
export const natsServerPath: string | undefined = await (async () => {
  for (const p of ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]) {
    if (await Deno.stat(p).then(() => true, () => false)) return p;
  }
  return undefined;
})();

async function launch(store: string, port: number): Promise<{ child: Deno.ChildProcess; port: number }> {
  const child = new Deno.Command(natsServerPath!, {
    args: ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    log += value;
    if (/Server is ready/.test(log)) {
      const m = /Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(log);
      void (async () => { // keep draining its log, or it blocks on a full pipe
        while (!(await reader.read()).done) { /* discard */ }
      })().catch(() => {});
      return { child, port: m ? Number(m[1]) : port };
    }
  }
  throw new Error(`nats-server did not start:\n${log}`);
}

export async function startNats(): Promise<NatsServer> {
  if (!natsServerPath) throw new Error("nats-server is not installed (apt-get install nats-server)");
  const store = await Deno.makeTempDir({ prefix: "dotcompute_nats_" });
  let { child, port } = await launch(store, -1);
  const stop = async (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch { /* already gone */ }
    await child.status;
  };
  return {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    async restart(hard = false) {
      await stop(hard ? "SIGKILL" : "SIGTERM");
      ({ child, port } = await launch(store, port));
    },
    async [Symbol.asyncDispose]() {
      await stop("SIGTERM");
      await Deno.remove(store, { recursive: true }).catch(() => {});
    },
  };
}
