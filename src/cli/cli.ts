/**
 * The command line (CONTRACT §4): `deno task cli <command>`, or this package's `./cli` export.
 *
 * ```sh
 * deno task cli run --config examples/host.jsonc --port 0
 * deno task cli discover plugins --json
 * deno task cli validate plugins
 * ```
 *
 * Exit codes: 0 success; 1 problems found (`validate`, `discover`) or a failure (a bad configuration, a
 * plugins folder that cannot be read); 2 a usage error or a command not implemented yet.
 *
 * @module
 */

import { isLogLevel, type LogLevel } from "../_npm/logtape.ts";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig, pluginConfigFor } from "../config/config.ts";
import { isLogFormat } from "../logging/format.ts";
import { ConfigError, formatDiagnostic, PluginHostError } from "../errors.ts";
import { createPluginHost } from "../create.ts";
import type { PluginHost } from "../host/types.ts";
import { configureLogging, paintStatus, style, table } from "./_output.ts";
import { discoverCommand, validateCommand } from "./_plugins.ts";
import { newCommand } from "./_new.ts";
import { TRUST_COMMANDS, trustCommand } from "./_trust.ts";
import { FLEET_COMMANDS, fleetCommand } from "./_fleet.ts";
import { UsageError } from "./_usage.ts";
import { watchForStop } from "./_stop.ts";

const USAGE = `Usage: deno task cli <command> [options]

Commands:
  run --config FILE [--plugins DIR] [--port N] [--log-level LEVEL] [--log-format text|json]
                          run a host until SIGINT, SIGTERM or SIGHUP (or until the process that
                          started it exits), then stop every plugin and exit 0
  discover DIR [--json]   list the plugins in DIR and every failure with its reason (exit 1 on failures)
  validate DIR [--json]   check manifests, entries and dependencies; print file:line:col: message
                          for each problem (exit 1 on problems)
  keygen --out PREFIX     write an Ed25519 key pair (PREFIX.key, PREFIX.pub); print its thumbprint
  sign DIR --key FILE     sign a plugin folder: write DIR/plugin.sig.json (manifest + every file's digest)
  verify DIR [--trusted THUMBPRINT ...]
                          check a plugin folder's signature (exit 1 naming every file that differs)
  approvals --url URL [--token T]
                          list the plugin versions held because they ask for more permissions
  approve ID --url URL [--token T] / reject ID --url URL [--token T]
                          load / drop the held version of plugin ID, through a running host's admin API
                          (the token may also come from DOTCOMPUTE_ADMIN_TOKEN)
  approve ID --cluster URL [--version V] / reject ID --cluster URL [--version V]
                          decide for every host of the fleet at once (default V: the published one)
  publish DIR --cluster URL
                          put a signed plugin folder into the fleet's bundle store (refused unless its
                          plugin.sig.json verifies); hosts with Cluster.Bundles install it
  fleet --cluster URL [--json]
                          list the fleet's hosts and their plugins
                          (--cluster takes: [--name FLEET] [--token T | --creds FILE]; the token may also
                          come from DOTCOMPUTE_CLUSTER_TOKEN)
  new ID [--dir DIR] [--json]
                          scaffold a plugin folder (default ./ID): plugin.jsonc, mod.ts and a
                          mod_test.ts that passes as generated (exit 1 if DIR is not empty)

Options:
  -h, --help              show this help

Exit codes: 0 success, 1 problems or failure, 2 usage error.`;

const NOT_IMPLEMENTED: ReadonlySet<string> = new Set<string>();

const help = { type: "boolean", short: "h" } as const;

/** The one folder argument of `command`. */
function folderArgument(command: string, positionals: readonly string[]): string {
  if (positionals.length === 0) throw new UsageError(`"${command}" needs a folder: ${command} DIR`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  return positionals[0];
}

/**
 * Runs the command line with `args` (without the program name) and resolves with the exit code. `run` resolves
 * only after SIGINT or SIGTERM.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "@dotcompute/plugins/cli";
 * assert.equal(await main(["validate", "plugins/hello"]), 0); // prints "ok: ..."
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === "--help" || command === "-h" || command === "help") {
    console.log(USAGE);
    return 0;
  }
  try {
    if (command === undefined) throw new UsageError("no command given");
    if (NOT_IMPLEMENTED.has(command)) {
      console.error(`"${command}" is not implemented yet`);
      return 2;
    }
    if (TRUST_COMMANDS.has(command)) return await trustCommand(command, rest) ?? usage();
    if (FLEET_COMMANDS.has(command)) return await fleetCommand(command, rest) ?? usage();
    switch (command) {
      case "run":
        return await run(rest);
      case "discover": {
        const { values, positionals } = parseArgs({
          args: rest,
          options: { json: { type: "boolean" }, help },
          allowPositionals: true,
        });
        if (values.help) return usage();
        return await discoverCommand(folderArgument(command, positionals), { json: values.json === true });
      }
      case "validate": {
        const { values, positionals } = parseArgs({
          args: rest,
          options: { json: { type: "boolean" }, help },
          allowPositionals: true,
        });
        if (values.help) return usage();
        return await validateCommand(folderArgument(command, positionals), { json: values.json === true });
      }
      case "new":
        return await newCommand(rest) ?? usage();
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    if (e instanceof UsageError || String((e as { code?: unknown }).code).startsWith("ERR_PARSE_ARGS")) {
      console.error(`error: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof ConfigError) {
      console.error("error: invalid host configuration");
      for (const d of e.diagnostics) console.error(`  ${formatDiagnostic(d)}`);
      return 1;
    }
    if (e instanceof PluginHostError) {
      console.error(`error: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

function usage(): number {
  console.log(USAGE);
  return 0;
}

/** `run --config FILE [--plugins DIR] [--port N] [--log-level LEVEL] [--log-format text|json]`. */
async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string" },
      plugins: { type: "string" },
      port: { type: "string" },
      "log-level": { type: "string" },
      "log-format": { type: "string" },
      help,
    },
  });
  if (values.help) return usage();
  if (values.config === undefined) throw new UsageError('"run" needs --config FILE');
  const asked = values["log-format"];
  if (asked !== undefined && !isLogFormat(asked)) {
    throw new UsageError(`--log-format must be text or json, not "${asked}"`);
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    throw new UsageError(`--port must be a whole number from 0 to 65535, not "${values.port}"`);
  }
  const level = values["log-level"] ?? "info";
  if (!isLogLevel(level)) {
    throw new UsageError(`--log-level must be trace, debug, info, warning, error or fatal`);
  }
  // The config's Plugins.Logging.Format unless --log-format says otherwise (read first, so that even the
  // config's own warnings come in the format asked for).
  const format = asked ?? (await loadConfig(values.config)).config.logging.format;
  await configureLogging(level as LogLevel, format);

  const host = await createPluginHost(
    values.config,
    values.plugins === undefined ? {} : { pluginsDirectory: resolve(values.plugins) },
  );
  const stop = watchForStop();
  try {
    // Listening first fails fast on a bad admin address, and lets /events watch the plugins start.
    const server = await host.serveAdmin(port === undefined ? {} : { port });
    await host.start();
    printPlugins(host);
    for (const f of host.getDiscoveryFailures()) {
      console.log(`${paintStatus("failed")} ${f.dir}: ${f.message}`);
    }
    console.log(`admin listening on ${server.url}`);
    const reason = await stop.reason;
    const why = reason === "parent exited"
      ? "the process that started the host exited"
      : `received ${reason}`;
    console.log(`${why}, stopping ${host.getPlugins().length} plugins`);
  } finally {
    await host.stop();
    stop.remove();
  }
  printPlugins(host);
  console.log("stopped");
  return 0;
}

/** The host's plugins as a table of id, version and state (`disabled` for a disabled plugin never started). */
function printPlugins(host: PluginHost): void {
  const plugins = host.getPlugins();
  if (plugins.length === 0) {
    console.log(style.dim("no plugins"));
    return;
  }
  const rows = plugins.map((p) => [
    p.id,
    p.version,
    p.state === "Unknown" && !pluginConfigFor(host.config, p.id).enabled ? "disabled" : p.state,
  ]);
  console.log(table(["ID", "VERSION", "STATE"], rows, (i, s) => i === 2 ? paintStatus(s) : s));
}

if (import.meta.main) Deno.exit(await main(Deno.args));
