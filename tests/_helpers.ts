// Test helpers: real plugin folders in a temp dir, a real host on them, and a LogTape sink to read logs.
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { join } from "node:path";
import { createPluginHost, type PluginHost, type PluginHostOptions } from "../mod.ts";

export interface PluginSource {
  readonly manifest: Record<string, unknown>;
  /** The entry module's source (mod.ts). */
  readonly code: string;
  /** More files, relative to the plugin folder. */
  readonly files?: Readonly<Record<string, string>>;
}

/** Writes each plugin into `<root>/plugins/<folder>`; returns the plugins folder. */
export async function writePlugins(
  root: string,
  plugins: Readonly<Record<string, PluginSource>>,
): Promise<string> {
  const dir = join(root, "plugins");
  for (const [folder, p] of Object.entries(plugins)) {
    const pdir = join(dir, folder);
    await Deno.mkdir(pdir, { recursive: true });
    await Deno.writeTextFile(
      join(pdir, "plugin.jsonc"),
      JSON.stringify({ name: folder, version: "1.0.0", ...p.manifest }),
    );
    await Deno.writeTextFile(join(pdir, "mod.ts"), p.code);
    for (const [name, text] of Object.entries(p.files ?? {})) {
      await Deno.mkdir(join(pdir, name, ".."), { recursive: true });
      await Deno.writeTextFile(join(pdir, name), text);
    }
  }
  return dir;
}

/** A temp dir with the plugins, a host over them (not started), and cleanup. */
export async function hostWith(
  plugins: Readonly<Record<string, PluginSource>>,
  config: Record<string, unknown> = {},
  options: PluginHostOptions = {},
): Promise<{ host: PluginHost; root: string } & AsyncDisposable> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_test_" }));
  const pluginsDir = await writePlugins(root, plugins);
  const plugins_ = (config.Plugins ?? {}) as Record<string, unknown>;
  const host = await createPluginHost(
    { ...config, Plugins: { PluginsDirectory: pluginsDir, ...plugins_ } },
    options,
  );
  return {
    host,
    root,
    async [Symbol.asyncDispose]() {
      await host.stop();
      await Deno.remove(root, { recursive: true });
    },
  };
}

/** Captures every log record while the returned object is alive. */
export async function captureLogs(): Promise<{ records: LogRecord[] } & AsyncDisposable> {
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { mem: (r) => void records.push(r) },
    loggers: [
      { category: ["dotcompute"], sinks: ["mem"], lowestLevel: "debug" },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "fatal" },
    ],
  });
  return { records, [Symbol.asyncDispose]: () => reset() };
}

/** Resolves with the first event for which `pred` holds. */
export function nextEvent<K extends "state" | "crash">(
  host: PluginHost,
  type: K,
  pred: (e: Parameters<Parameters<PluginHost["on"]>[1]>[0]) => boolean,
): Promise<unknown> {
  return new Promise((resolve) => {
    const off = host.on(type, (e) => {
      if (pred(e)) {
        off();
        resolve(e);
      }
    });
  });
}

/**
 * Reads `read()` every 100 ms until `ok` holds for its value or `ms` pass; resolves with the last value, for the
 * caller to assert on. For outcomes the host reports only in a handle's state (usage, a kill), not as an event.
 */
export async function pollUntil<T>(
  read: () => T | Promise<T>,
  ok: (value: T) => boolean,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (let value = await read();; value = await read()) {
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `deno run` with the host's flags and every permission: the start of a subprocess host's command line. */
export const DENO_RUN: readonly string[] = ["run", "--unstable-worker-options", "--no-prompt", "-A"];
