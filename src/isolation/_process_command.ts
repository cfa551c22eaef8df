// What the process tier runs: the `deno run` command line and environment of one plugin's process.
import { fileURLToPath } from "node:url";
import { toDenoFlags } from "../permissions/permissions.ts";
import type { EffectivePermissions } from "../permissions/permissions.ts";
import { WRAPPER_READS } from "./_wrapper_reads.ts";

const MAIN = new URL("../runtime/process_main.ts", import.meta.url);
/** The package's deno.json: its import map sends plugins' `node:process` to the sandboxed one. */
const CONFIG = new URL("../../deno.json", import.meta.url);
const PROXY_VARS = ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"];

/**
 * A `deno run` invocation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { processCommand, type ProcessCommand } from "./_process_command.ts";
 * import { computePermissions } from "../permissions/permissions.ts";
 * const none = computePermissions({ manifestPermissions: { read: [], write: [], net: [], env: [] }, pluginDir: "/p" });
 * const command: ProcessCommand = processCommand(none, 64);
 * assert.equal(command.command, Deno.execPath());
 * assert.ok(command.args.includes("--no-prompt"));
 * ```
 */
export interface ProcessCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

function localConfig(): string | undefined {
  if (CONFIG.protocol !== "file:") return undefined;
  const path = fileURLToPath(CONFIG);
  try {
    return Deno.statSync(path).isFile ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The flags that decide where modules may come from. From a local checkout the runtime is local, so nothing
 * remote may load at all; from a remote copy of the package (JSR) the runtime itself comes from its origin, so
 * imports are narrowed to that one host instead of Deno's default list. npm only for a plugin allowed some
 * package: the host's scan and the runtime's import hook then judge each one (src/discovery/import_check.ts).
 */
function moduleFlags(p: EffectivePermissions): string[] {
  const npm = (p.npm?.length ?? 0) > 0 ? [] : ["--no-npm"];
  if (MAIN.protocol === "file:") {
    const config = localConfig();
    return [...(config ? ["--config", config] : ["--no-config"]), "--no-remote", ...npm, "--no-lock"];
  }
  const port = MAIN.port || (MAIN.protocol === "https:" ? "443" : "80");
  return ["--no-config", ...npm, "--no-lock", `--allow-import=${MAIN.hostname}:${port}`];
}

function hostEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // the host may not read it: then the plugin gets nothing either
  }
}

/** Where this host's Deno keeps its caches, so the child reuses them (compiled runtime, no downloads). */
function denoDir(): string | undefined {
  const explicit = hostEnv("DENO_DIR");
  if (explicit) return explicit;
  if (Deno.build.os === "windows") {
    const local = hostEnv("LOCALAPPDATA");
    return local ? `${local}\\deno` : undefined;
  }
  const home = hostEnv("HOME");
  if (Deno.build.os === "darwin") return home ? `${home}/Library/Caches/deno` : undefined;
  const xdg = hostEnv("XDG_CACHE_HOME");
  return xdg ? `${xdg}/deno` : home ? `${home}/.cache/deno` : undefined;
}

/**
 * The child's environment: nothing of the host's but what the plugin's env grant names, Deno's cache
 * location, proxy settings for a plugin granted network access, and what the OS needs on Windows.
 */
function childEnv(p: EffectivePermissions): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  const pass = (name: string): void => {
    const value = hostEnv(name);
    if (value !== undefined) env[name] = value;
  };
  const dir = denoDir();
  if (dir) env.DENO_DIR = dir;
  // The child fetches the packages it is allowed from the host's registry (its .npmrc is found from HOME); the
  // plugin cannot read these without an env grant naming them.
  if ((p.npm?.length ?? 0) > 0) ["NPM_CONFIG_REGISTRY", "DENO_CERT", "HOME", "USERPROFILE"].forEach(pass);
  if (Deno.build.os === "windows") ["SystemRoot", "TEMP", "TMP"].forEach(pass);
  if (p.net.length > 0) PROXY_VARS.forEach(pass);
  for (const name of p.env) {
    if (!name.endsWith("*")) {
      pass(name);
      continue;
    }
    try {
      const prefix = name.slice(0, -1);
      for (const [k, v] of Object.entries(Deno.env.toObject())) if (k.startsWith(prefix)) env[k] = v;
    } catch { /* the host cannot list its environment: a prefix grant passes nothing */ }
  }
  return env;
}

/**
 * The command that runs one plugin: its effective permissions as flags (and nothing else: no run, ffi, sys,
 * or imports beyond the runtime's own), code generation from strings off, and its heap cap.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { processCommand } from "./_process_command.ts";
 * import { computePermissions } from "../permissions/permissions.ts";
 * const none = computePermissions({ manifestPermissions: { read: [], write: [], net: [], env: [] }, pluginDir: "/p" });
 * assert.equal(
 *   processCommand(none, 64).args.find((a) => a.startsWith("--v8-flags")),
 *   "--v8-flags=--disallow-code-generation-from-strings,--max-old-space-size=64",
 * );
 * ```
 */
export function processCommand(p: EffectivePermissions, maxMemoryMB: number | undefined): ProcessCommand {
  const v8 = "--disallow-code-generation-from-strings" +
    (maxMemoryMB ? `,--max-old-space-size=${maxMemoryMB}` : "");
  return {
    command: Deno.execPath(),
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      `--v8-flags=${v8}`,
      ...moduleFlags(p),
      ...toDenoFlags({ ...p, read: [...p.read, ...WRAPPER_READS] }),
      MAIN.protocol === "file:" ? fileURLToPath(MAIN) : MAIN.href,
    ],
    env: childEnv(p),
  };
}
