// Helpers of the test kit (src/testing/testing.ts): log capture shared by every live kit, folder copies, grants.
import { configure, getConfig, type LogRecord, reset } from "../_npm/logtape.ts";
import { isAbsolute, join, resolve } from "node:path";
import type { TestPermissions } from "./types.ts";

/** One log record as the test kit keeps it: the message rendered, the properties as logged. */
export interface CapturedLog {
  /** `["dotcompute", "plugin", id, ...]` for a plugin's records, `["dotcompute", "host"]`... for the host's. */
  readonly category: readonly string[];
  /** `trace` … `fatal`. */
  readonly level: string;
  /** The message with its properties filled in. */
  readonly message: string;
  /** The record's properties. */
  readonly properties: Readonly<Record<string, unknown>>;
  /** When it was logged (ms since the epoch). */
  readonly timestamp: number;
}

interface Capture extends AsyncDisposable {
  readonly records: readonly CapturedLog[];
  waitFor(match: (log: CapturedLog) => boolean): Promise<CapturedLog>;
}

// One LogTape configuration serves every kit alive at once; the last one out resets it.
let users = 0;
let ours = false;
const records: CapturedLog[] = [];
const waiters = new Set<{ match: (l: CapturedLog) => boolean; resolve: (l: CapturedLog) => void }>();

function sink(r: LogRecord): void {
  const log: CapturedLog = {
    category: r.category,
    level: r.level,
    message: r.message.map((part) => typeof part === "string" ? part : render(part)).join(""),
    properties: r.properties,
    timestamp: r.timestamp,
  };
  records.push(log);
  for (const w of waiters) {
    if (w.match(log)) {
      waiters.delete(w);
      w.resolve(log);
    }
  }
}

function render(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Captures `["dotcompute", ...]` records until disposed, unless the test configured LogTape itself. */
export async function captureHostLogs(): Promise<Capture> {
  if (users++ === 0) {
    records.length = 0;
    ours = getConfig() === null;
    if (ours) {
      await configure({
        sinks: { kit: sink },
        loggers: [
          { category: ["dotcompute"], sinks: ["kit"], lowestLevel: "debug" },
          { category: ["logtape", "meta"], sinks: [], lowestLevel: "fatal" },
        ],
      });
    }
  }
  const start = records.length;
  const mine = new Set<(typeof waiters extends Set<infer W> ? W : never)>();
  return {
    get records(): readonly CapturedLog[] {
      return records.slice(start);
    },
    waitFor(match: (log: CapturedLog) => boolean): Promise<CapturedLog> {
      const seen = records.slice(start).find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => {
        const w = { match, resolve };
        waiters.add(w);
        mine.add(w);
      });
    },
    async [Symbol.asyncDispose](): Promise<void> {
      for (const w of mine) waiters.delete(w);
      if (--users === 0 && ours) {
        ours = false;
        await reset();
      }
    },
  };
}

const SKIPPED = new Set(["data", ".git", "node_modules"]);

/** Copies a plugin folder (not its `data/`, `.git/` or `node_modules/`; symlinks as they are). */
export async function copyPluginFolder(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (SKIPPED.has(e.name)) continue;
    const src = join(from, e.name), dst = join(to, e.name);
    if (e.isSymlink) await Deno.symlink(await Deno.readLink(src), dst);
    else if (e.isDirectory) await copyPluginFolder(src, dst);
    else await Deno.copyFile(src, dst);
  }
}

/** The `PluginSecurity` entry that grants `p`, with relative paths resolved against `dir`. */
export function securityEntry(p: TestPermissions, dir: string): Record<string, unknown> {
  const paths = [...(p.read ?? []), ...(p.write ?? [])].map((x) =>
    x.startsWith("file:") || isAbsolute(x) ? x : resolve(dir, x)
  );
  return {
    AllowFileSystemAccess: paths.length > 0,
    AllowedPaths: paths,
    AllowNetworkAccess: (p.net ?? []).length > 0,
    AllowedNetworkEndpoints: [...(p.net ?? [])],
    AllowedEnvironmentVariables: [...(p.env ?? [])],
    ...(p.gpu ? { AllowGpu: true } : {}),
  };
}
