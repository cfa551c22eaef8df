/**
 * A test kit for plugin authors (the `./testing` export): start one plugin in a real host — its own Worker,
 * its own narrowed permissions — in one line, call it, read its logs and metrics, dispose it.
 *
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { testPlugin } from "@dotcompute/plugins/testing";
 * import type plugin from "./mod.ts";
 *
 * Deno.test("greets", async () => {
 *   await using p = await testPlugin<typeof plugin>(new URL(".", import.meta.url), {
 *     settings: { greeting: "hi" },
 *   });
 *   assert.equal(await p.call("greet", "Ada"), "hi Ada");
 *   assert.equal(p.metrics().calls, 1);
 * });
 * ```
 *
 * Tests need the host's flags: `deno test --unstable-worker-options --no-prompt -A`.
 *
 * @module
 */

import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createPluginHost } from "../create.ts";
import type { PluginHost, PluginHostOptions } from "../host/types.ts";
import type { PluginState } from "../lifecycle/lifecycle.ts";
import type { PluginMetricsSnapshot } from "../plugin/metrics.ts";
import type { PluginHandle } from "../plugin/types.ts";
import type { PluginMethods } from "../plugin_api.ts";
import { loadPluginFolder } from "../discovery/plugin_folder.ts";
import { type CapturedLog, captureHostLogs, copyPluginFolder, securityEntry } from "./_support.ts";
import type { TestPermissions } from "./types.ts";
export type { TestPermissions } from "./types.ts";

export type { CapturedLog } from "./_support.ts";

/** Options of {@linkcode testPlugin}; every one is optional. */
export interface TestPluginOptions {
  /** The host configuration's `Settings` for the plugin (over its manifest's defaults). Default none. */
  readonly settings?: Readonly<Record<string, unknown>>;
  /**
   * What the operator grants it. It still gets only what its manifest asks for within this grant, exactly as
   * in production. `"manifest"` grants everything its manifest asks for. Default: nothing (deny by default).
   */
  readonly permissions?: TestPermissions | "manifest";
  /** More of the plugin's block in the host config (`Isolation`, `ResourceLimits`...). Default none. */
  readonly block?: Readonly<Record<string, unknown>>;
  /** More of the host config's `Plugins` section (`CallTimeout`...) and other sections. Default none. */
  readonly config?: Readonly<Record<string, unknown>>;
  /** More plugin folders to run beside it (its dependencies); discovered like it. Default none. */
  readonly with?: readonly (string | URL)[];
  /**
   * Run copies of the folders in a temporary plugins folder (without their `data/`), so whatever the plugin
   * writes stays out of the source tree and goes with the kit. `false` runs them in place (needed when a
   * plugin imports files outside its folder by relative path). Default true.
   */
  readonly copy?: boolean;
  /** Throw when the plugin does not reach `Running` (with its last error). Default true. */
  readonly expectRunning?: boolean;
  /** Options of the host. Default: no config watching, the default restart policy. */
  readonly hostOptions?: PluginHostOptions;
}

/** A plugin running in a test host; `await using` disposes it (stops the host, removes the copies). */
export interface PluginUnderTest<M> extends AsyncDisposable {
  /** The plugin's id (from its manifest). */
  readonly id: string;
  /** The folder it runs from (the copy, unless `copy: false`). */
  readonly dir: string;
  /** The plugins folder of the test host. */
  readonly pluginsDir: string;
  /** The test host. */
  readonly host: PluginHost;
  /** The plugin's handle in the host, typed by `M`. */
  readonly handle: PluginHandle<M>;
  /** Its state now. */
  readonly state: PluginState;
  /** Calls one of its methods (buffers transferred), like `handle.call`. */
  readonly call: PluginHandle<M>["call"];
  /** The plugin's log records so far (records of other plugins and the host: {@linkcode hostLogs}). */
  readonly logs: readonly CapturedLog[];
  /** Every `["dotcompute", ...]` log record so far. Empty when the test configured LogTape itself. */
  readonly hostLogs: readonly CapturedLog[];
  /** Resolves with the first record of this plugin (past or future) for which `match` holds. */
  waitForLog(match: (log: CapturedLog) => boolean): Promise<CapturedLog>;
  /** Its metrics now: calls, errors, latency, restarts, its own counters and histograms. */
  metrics(): PluginMetricsSnapshot;
  /** Stops it and starts it again (a new Worker; what it wrote to disk stays). */
  restart(): Promise<void>;
  /** Reads its folder again and loads what is there now (a hot reload). */
  reload(): Promise<void>;
}

/**
 * Starts the plugin in folder `plugin` in a new host and waits until it is Running. Name its type
 * (`typeof plugin` of its default export) to type `call`.
 *
 * @throws {Error} when the folder is not a valid plugin, or (unless `expectRunning: false`) when the plugin
 * does not reach Running; the message names the state and the plugin's last error.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { testPlugin } from "@dotcompute/plugins/testing";
 * // A copy of the folder runs, so what it writes stays out of the source tree.
 * await using p = await testPlugin("plugins/storage", { permissions: "manifest" });
 * await p.call("set", "k", "v");
 * await p.restart();
 * assert.equal(await p.call("get", "k"), "v"); // kept on disk across the restart
 * assert.equal(p.metrics().restarts, 1);
 * assert.ok(p.logs.length > 0);
 * ```
 */
export async function testPlugin<P = unknown>(
  plugin: string | URL,
  options: TestPluginOptions = {},
): Promise<PluginUnderTest<PluginMethods<P>>> {
  const source = toPath(plugin);
  const { manifest } = await loadPluginFolder(source);
  const copy = options.copy ?? true;
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_testing_" }));
  const logs = await captureHostLogs();
  const cleanup = async (): Promise<void> => {
    await logs[Symbol.asyncDispose]();
    await Deno.remove(root, { recursive: true });
  };
  let host: PluginHost | undefined;
  try {
    const pluginsDir = join(root, "plugins");
    await Deno.mkdir(pluginsDir);
    const place = async (dir: string): Promise<string> => {
      const target = join(pluginsDir, basename(dir));
      if (copy) await copyPluginFolder(dir, target);
      else await Deno.symlink(dir, target);
      return copy ? target : await Deno.realPath(dir);
    };
    const dir = await place(source);
    for (const other of options.with ?? []) await place(toPath(other));
    const given = options.config ?? {};
    const plugins = (given.Plugins ?? {}) as Record<string, unknown>;
    const security = (given.PluginSecurity ?? {}) as Record<string, unknown>;
    const grant = options.permissions === "manifest" ? manifest.permissions : options.permissions;
    host = await createPluginHost({
      ...given,
      Plugins: {
        ...plugins,
        PluginsDirectory: pluginsDir,
        [manifest.id]: { ...options.block, ...(options.settings ? { Settings: options.settings } : {}) },
      },
      PluginSecurity: { ...security, ...(grant ? { [manifest.id]: securityEntry(grant, dir) } : {}) },
    }, { watchConfig: false, ...options.hostOptions });
    await host.start();
    const handle = host.getPlugin<P>(manifest.id);
    if (!handle) throw new Error(`Cannot test plugin "${manifest.id}": the host did not discover ${source}`);
    if ((options.expectRunning ?? true) && handle.state !== "Running") {
      throw new Error(
        `Plugin "${manifest.id}" is ${handle.state}, not Running: ${handle.lastError?.message ?? "no error"}`,
        { cause: handle.lastError },
      );
    }
    const h = host;
    const mine = (l: CapturedLog): boolean => l.category[1] === "plugin" && l.category[2] === manifest.id;
    return {
      id: manifest.id,
      dir,
      pluginsDir,
      host: h,
      handle,
      get state(): PluginState {
        return handle.state;
      },
      call: handle.call.bind(handle) as PluginHandle<PluginMethods<P>>["call"],
      get logs(): readonly CapturedLog[] {
        return logs.records.filter(mine);
      },
      get hostLogs(): readonly CapturedLog[] {
        return [...logs.records];
      },
      waitForLog: (match) => logs.waitFor((l) => mine(l) && match(l)),
      metrics: () => handle.getMetrics(),
      async restart(): Promise<void> {
        await h.stopPlugin(manifest.id);
        await h.startPlugin(manifest.id);
      },
      async reload(): Promise<void> {
        await h.reload(manifest.id);
      },
      async [Symbol.asyncDispose](): Promise<void> {
        try {
          await h.stop();
        } finally {
          await cleanup();
        }
      },
    };
  } catch (e) {
    await host?.stop().catch(() => {});
    await cleanup();
    throw e;
  }
}

const toPath = (p: string | URL): string => resolve(p instanceof URL ? fileURLToPath(p) : p);
