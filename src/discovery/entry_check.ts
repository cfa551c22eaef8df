// `validate`'s check of a plugin's entry, the way the host loads it: in a Worker granted nothing (what a plugin
// with no PluginSecurity entry gets: its own folder), the import scan first, then the module loaded and its
// default export recognized by the real runtime — and nothing started: no initialize, no start. A syntax
// error, a module that throws at load, an export that is not a plugin, an npm package not allowed: each is
// one located diagnostic, as the host would fail the plugin.
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Diagnostic } from "../errors.ts";
import { checkImports } from "./import_check.ts";
import { computePermissions } from "../permissions/permissions.ts";
import type { DiscoveredPlugin } from "./plugin_folder.ts";
import type { IsolationTier } from "../isolation/tier.ts";
import { WorkerTier } from "../isolation/worker_tier.ts";

const API = new URL("../plugin_api.ts", import.meta.url);
const LOAD_TIMEOUT_MS = 10_000;

/** The first `file:///…:line:col` a load error names, as a place in a file. */
function located(message: string, fallback: string): Pick<Diagnostic, "file" | "line" | "column"> {
  const m = /(file:\/\/\/[^\s:'"`)]+):(\d+):(\d+)/.exec(message);
  if (!m) return { file: fallback };
  return { file: fileURLToPath(m[1]), line: Number(m[2]), column: Number(m[3]) };
}

/** Why the entry of `plugin` would fail to load in the host, or none when it loads. */
export async function checkEntry(
  plugin: DiscoveredPlugin,
  tier: IsolationTier = new WorkerTier(),
): Promise<Diagnostic[]> {
  const permissions = computePermissions({
    manifestPermissions: plugin.manifest.permissions,
    pluginDir: plugin.dir,
    implicitRead: [plugin.dir, ...(API.protocol === "file:" ? [fileURLToPath(API)] : [])],
  });
  const entryUrl = pathToFileURL(plugin.entryPath).href;
  const imports = checkImports(plugin.manifest.id, entryUrl, plugin.dir, permissions);
  if (imports.problems.length > 0) {
    return imports.problems.map((text) => {
      const m = /^(.+?):(\d+):(\d+): ([\s\S]*)$/.exec(text);
      return m
        ? { file: m[1], line: Number(m[2]), column: Number(m[3]), message: m[4] }
        : { file: plugin.entryPath, message: text };
    });
  }
  try {
    const conn = await tier.spawn({
      id: plugin.manifest.id,
      name: plugin.manifest.name,
      version: plugin.manifest.version,
      entryUrl,
      settings: plugin.manifest.settings,
      dependencies: [],
      permissions,
      ...(imports.importHook ? { importHook: true } : {}),
      callTimeoutMs: LOAD_TIMEOUT_MS,
      loadTimeoutMs: LOAD_TIMEOUT_MS,
      onLog: () => {},
      onMetrics: () => {},
      onProtocolError: () => {},
      onPluginCall: () => Promise.reject(new Error("validate starts nothing")),
    });
    await conn.terminate("validated");
    return [];
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return [{ ...located(message, plugin.entryPath), field: "entry", message }];
  }
}
