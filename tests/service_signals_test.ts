// The host as a service (issue 18 item 1): whatever chain starts it, SIGTERM, SIGINT or SIGHUP to the top process
// stops every plugin and leaves no process behind. Each case runs the README's start command (or a shorter
// chain) under `setsid`, so that the session it makes holds every process the chain starts; the test signals
// the top process and then checks that the session is empty.
import assert from "node:assert/strict";
import { pollUntil } from "./_helpers.ts";

const REPO = new URL("..", import.meta.url).pathname;
const DENO = Deno.execPath();
const HAS_SETSID = (() => {
  try {
    return new Deno.Command("setsid", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
})();
const HAS_NPX = (() => {
  try {
    return new Deno.Command("npx", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
})();

/** The pids of session `sid`'s processes still alive (zombies excluded). */
function session(sid: number): number[] {
  const out = new Deno.Command("ps", { args: ["-e", "-o", "pid=,sid=,stat="], stdout: "piped" }).outputSync();
  return new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => l.trim().split(/\s+/))
    .filter(([, s, stat]) => Number(s) === sid && !stat.startsWith("Z")).map(([p]) => Number(p));
}

interface Started {
  readonly pid: number;
  readonly lines: string[];
  /** Resolves with the line that matches `re` (reading stdout as it comes). */
  line(re: RegExp): Promise<string>;
  readonly status: Promise<Deno.CommandStatus>;
  readonly done: Promise<void>;
}

function start(cmd: string, args: string[]): Started {
  const child = new Deno.Command("setsid", {
    args: [cmd, ...args],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).spawn();
  const lines: string[] = [];
  const waiting: { re: RegExp; resolve(l: string): void }[] = [];
  const read = async (stream: ReadableStream<Uint8Array>, into: string[] | undefined): Promise<void> => {
    let rest = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const l of parts) {
        into?.push(l);
        for (const w of waiting.splice(0)) w.re.test(l) ? w.resolve(l) : waiting.push(w);
      }
    }
  };
  const errors: string[] = [];
  const done = Promise.all([read(child.stdout, lines), read(child.stderr, errors)]).then(() => {});
  return {
    pid: child.pid,
    lines,
    line(re) {
      const seen = lines.find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiting.push({ re, resolve });
        done.then(() =>
          reject(new Error(`no line ${re}; stdout:\n${lines.join("\n")}\nstderr:\n${errors.join("\n")}`))
        );
      });
    },
    status: child.status,
    done,
  };
}

/**
 * Starts `cmd`, waits for the admin line, checks /health, signals the top process (or, with `group`, every
 * process of the session, as a terminal's Ctrl-C does), and checks what is left.
 */
async function signalled(cmd: string, args: string[], signal: Deno.Signal, group = false): Promise<Started> {
  const s = start(cmd, args);
  const url = (await s.line(/admin listening on http:\/\//)).split("admin listening on ")[1].trim();
  assert.equal((await fetch(`${url}/health`).then((r) => r.text())).length > 0, true);
  assert.ok(session(s.pid).length >= 1, "the host is running");
  Deno.kill(group ? -s.pid : s.pid, signal);
  await s.done; // every holder of the pipes has ended
  const left = await pollUntil(() => session(s.pid), (pids) => pids.length === 0, 10_000);
  assert.deepEqual(left, [], "processes of the session left behind");
  await s.status;
  await assert.rejects(fetch(`${url}/health`), "the admin API is gone");
  return s;
}

const START = ["task", "start"];
const routes: [string, string, string[]][] = [
  ["npx -y deno@2.9.6 task start", "npx", ["-y", "deno@2.9.6", ...START]],
  ["deno task start", DENO, START],
];

// SIGINT goes to the whole group, as Ctrl-C sends it: npm ignores a SIGINT sent to it alone while its child
// runs (it expects the child to have it too), so that one never reaches anything.
const cases = [["SIGTERM", false], ["SIGHUP", false], ["SIGINT", true]] as const;
for (const [name, cmd, args] of routes) {
  for (const [signal, group] of cases) {
    Deno.test({
      name: `service: ${signal} to \`${name}\`${
        group ? " (its whole group: Ctrl-C)" : ""
      } stops every plugin and leaves no process`,
      ignore: !HAS_SETSID || (cmd === "npx" && !HAS_NPX) || Deno.build.os !== "linux",
      async fn() {
        const s = await signalled(cmd, args, signal, group);
        const stopping = s.lines.find((l) => /stopping \d+ plugins/.test(l));
        assert.ok(stopping, s.lines.join("\n"));
        assert.ok(s.lines.includes("stopped"), s.lines.join("\n"));
      },
    });
  }
}

const DIRECT = ["run", "--unstable-worker-options", "--no-prompt", "-A", "src/cli/cli.ts", "run", "--config"];

Deno.test({
  name:
    "service: the CLI run directly exits 0 on SIGTERM, SIGINT and SIGHUP; its process-tier children end too",
  ignore: !HAS_SETSID || Deno.build.os !== "linux",
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "dotcompute_signals_" });
    try {
      // The example's plugins, one of them in the process tier: its `deno run` child is in the session too.
      const config = `${root}/host.json`;
      await Deno.writeTextFile(
        config,
        JSON.stringify({
          Plugins: {
            PluginsDirectory: `${REPO}plugins`,
            Admin: { Port: 0 },
            "hello.world": { Isolation: "process" },
          },
        }),
      );
      for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
        const s = start(DENO, [...DIRECT, config]);
        await s.line(/admin listening on/);
        assert.ok(session(s.pid).length >= 2, `${signal}: the host and its process-tier child`);
        Deno.kill(s.pid, signal);
        await s.done;
        assert.equal((await s.status).code, 0, signal);
        assert.ok(s.lines.includes("stopped"), signal);
        const left = await pollUntil(() => session(s.pid), (pids) => pids.length === 0, 10_000);
        assert.deepEqual(left, [], signal);
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "service: a second signal a second into the stop ends the host at once with 128 + its number",
  ignore: !HAS_SETSID || Deno.build.os !== "linux",
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "dotcompute_signals_" });
    try {
      const dir = `${root}/plugins/slow`;
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(
        `${dir}/plugin.jsonc`,
        JSON.stringify({ id: "slow", name: "slow", version: "1.0.0" }),
      );
      // Its stop never ends: the host waits for it (up to its stop timeout) when asked to stop.
      await Deno.writeTextFile(
        `${dir}/mod.ts`,
        `export default { stop: () => new Promise(() => {}), methods: {} };`,
      );
      const config = `${root}/host.json`;
      await Deno.writeTextFile(
        config,
        JSON.stringify({ Plugins: { PluginsDirectory: `${root}/plugins`, Admin: { Port: 0 } } }),
      );
      for (const [signal, code] of [["SIGTERM", 143], ["SIGINT", 130], ["SIGHUP", 129]] as const) {
        const s = start(DENO, [...DIRECT, config]);
        await s.line(/admin listening on/);
        Deno.kill(s.pid, signal);
        await s.line(/stopping 1 plugins/);
        // Repeats within a second are one Ctrl-C (the terminal signals the whole group): past it, a new signal.
        await new Promise((resolve) => setTimeout(resolve, 1100));
        Deno.kill(s.pid, signal);
        assert.equal((await s.status).code, code, signal);
        await s.done;
        assert.deepEqual(session(s.pid), [], signal);
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "service: a host whose parent is killed (SIGKILL: no signal reaches the host) stops itself",
  ignore: !HAS_SETSID || Deno.build.os !== "linux",
  async fn() {
    // sh starts the host and waits; killing sh leaves the host to PID 1, as npx does.
    const s = start("sh", ["-c", `"${DENO}" ${DIRECT.join(" ")} examples/host.jsonc; exit 0`]);
    await s.line(/admin listening on/);
    Deno.kill(s.pid, "SIGKILL");
    await s.line(/the process that started the host exited, stopping \d+ plugins/);
    await s.done;
    const left = await pollUntil(() => session(s.pid), (pids) => pids.length === 0, 10_000);
    assert.deepEqual(left, []);
  },
});
