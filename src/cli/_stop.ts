// When `run` stops: SIGINT, SIGTERM or SIGHUP, or the end of a process that started it. Measured through
// `npx -y deno@2.9.6 task start`: a SIGTERM to npx ends npx and the `deno` package's Node launcher at once
// (exit 143), which leaves `deno task` and the host running under PID 1; no signal reaches the host. So the
// host watches every process above it (pid and start time) and stops when one of them ends, as a host whose
// parent is gone must. It reads them from /proc when it may (Deno asks for --allow-all there), else from
// `ps` when it may run it (the start task grants --allow-run=ps), else it watches its own parent's pid.

/** Why the host stops. */
export type StopReason = Deno.Signal | "parent exited";

/** A running watch: `reason` resolves once; `remove()` ends every listener and timer. */
export interface StopWatch {
  readonly reason: Promise<StopReason>;
  remove(): void;
}

const POSIX: readonly Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
/** The exit code of a second signal: 128 + its number, as a shell reports a process ended by it. */
const SIGNAL_EXIT: Readonly<Record<string, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
/** How often the processes above are read (`ps` costs a few ms of CPU each time). */
const POLL_MS = 1000;

/** One process above this one: its pid and its start time (field 22 of /proc/PID/stat). */
interface Ancestor {
  readonly pid: number;
  readonly start: string;
}

/** Fields of /proc/PID/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid: number | "self"): string[] | undefined {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** Every process of this machine as pid → [parent, start time], through /proc or `ps`. */
type Table = (pids?: readonly number[]) => Map<number, readonly [number, string]> | undefined;

const fromProc: Table = (pids) => {
  const table = new Map<number, readonly [number, string]>();
  for (const pid of pids ?? []) {
    const fields = statFields(pid);
    if (fields) table.set(pid, [Number(fields[1]), fields[19]]);
  }
  return table;
};

const psCommand = (pids?: readonly number[]): Deno.Command =>
  new Deno.Command("ps", {
    args: ["-o", "pid=,ppid=,lstart=", ...(pids ? ["-p", pids.join(",")] : ["-e"])],
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  });

function psTable(stdout: Uint8Array): Map<number, readonly [number, string]> {
  const table = new Map<number, readonly [number, string]>();
  for (const line of new TextDecoder().decode(stdout).split("\n")) {
    const [pid, ppid, ...start] = line.trim().split(/\s+/);
    if (pid && ppid) table.set(Number(pid), [Number(ppid), start.join(" ")]);
  }
  return table;
}

/** Once, at the start (before the host serves anything); the polls use {@linkcode psLater}. */
const fromPs: Table = (pids) => {
  try {
    return psTable(psCommand(pids).outputSync().stdout);
  } catch {
    return undefined;
  }
};

/** `ps` off the event loop: a poll every second must not block the host's calls for its ~5-20 ms. */
async function psLater(pids: readonly number[]): Promise<Map<number, readonly [number, string]> | undefined> {
  try {
    return psTable((await psCommand(pids).output()).stdout);
  } catch {
    return undefined;
  }
}

/** Every process above this one, nearest first, up to (not including) PID 1 of this namespace. */
export function ancestors(table: Table = fromProc): Ancestor[] | undefined {
  const found: Ancestor[] = [];
  const all = table === fromPs ? fromPs() : undefined;
  for (let pid = Deno.ppid; pid > 1 && found.length < 64;) {
    const row = all ? all.get(pid) : table([pid])?.get(pid);
    if (!row) break;
    found.push({ pid, start: row[1] });
    pid = row[0];
  }
  return found;
}

function granted(descriptor: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(descriptor).state === "granted";
  } catch {
    return false;
  }
}

/** How the processes above are read here: /proc (all access), `ps` (run access to it), or not at all. */
function tableHere(): Table | undefined {
  if (Deno.build.os === "windows") return undefined;
  if (Deno.build.os === "linux" && granted({ name: "read", path: "/proc/self/stat" }) && statFields("self")) {
    return fromProc;
  }
  return granted({ name: "run", command: "ps" }) ? fromPs : undefined;
}

/**
 * Resolves on the first SIGINT, SIGTERM or SIGHUP, or when a process above this one ends. A signal a second or
 * more after the first ends the process at once with 128 + its number (130, 143, 129); repeats within the
 * second are the same Ctrl-C (the terminal signals the whole group, and `npx` and `deno task` forward it).
 */
export function watchForStop(
  onAgain: (signal: Deno.Signal, code: number) => void = (signal, code) => {
    console.error(`received ${signal} again: exiting without waiting for the plugins`);
    Deno.exit(code);
  },
): StopWatch {
  const { promise, resolve } = Promise.withResolvers<StopReason>();
  let first = 0;
  const signals = Deno.build.os === "windows" ? (["SIGINT"] as const) : POSIX;
  const handlers = signals.map((sig) => {
    const handler = (): void => {
      if (first === 0) {
        first = performance.now();
        return resolve(sig);
      }
      if (performance.now() - first >= 1000) onAgain(sig, SIGNAL_EXIT[sig] ?? 130);
    };
    Deno.addSignalListener(sig, handler);
    return [sig, handler] as const;
  });
  const table = tableHere();
  const above = table ? ancestors(table) : undefined;
  const parent = Deno.ppid;
  const pids = above?.map((a) => a.pid);
  const gone = table && above && pids!.length > 0
    ? async (): Promise<boolean> => {
      const now = table === fromPs ? await psLater(pids!) : table(pids);
      return now !== undefined && above.some((a) => now.get(a.pid)?.[1] !== a.start);
    }
    : (): Promise<boolean> => Promise.resolve(Deno.ppid !== parent);
  let polling = false;
  const timer = setInterval(async () => {
    if (polling) return; // a slow ps never piles up
    polling = true;
    const ended = await gone().finally(() => polling = false);
    if (first === 0 && ended) {
      first = performance.now();
      resolve("parent exited");
    }
  }, POLL_MS);
  Deno.unrefTimer(timer);
  return {
    reason: promise,
    remove(): void {
      clearInterval(timer);
      for (const [sig, handler] of handlers) Deno.removeSignalListener(sig, handler);
    },
  };
}
