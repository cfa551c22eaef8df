/**
 * The command line's trust commands: `keygen`, `sign`, `verify`, and `approvals` / `approve` / `reject`, which
 * talk to a running host's admin API (or, with `--cluster`, decide for a whole fleet: src/cli/_fleet.ts).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { describePermissions, type PendingApproval } from "../host/approvals.ts";
import { paintStatus } from "./_output.ts";
import { UsageError } from "./_usage.ts";
import { FLEET_OPTIONS, fleetDecision } from "./_fleet.ts";
import { signPlugin, verifyPlugin } from "../trust/trust.ts";
import { readSigningKeys, writeKeyPair } from "../trust/keys.ts";

/** The commands this module runs. */
export const TRUST_COMMANDS: ReadonlySet<string> = new Set([
  "keygen",
  "sign",
  "verify",
  "approvals",
  "approve",
  "reject",
]);

const help = { type: "boolean", short: "h" } as const;

function onePositional(command: string, positionals: readonly string[], what: string): string {
  if (positionals.length === 0) throw new UsageError(`"${command}" needs ${what}`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  return positionals[0];
}

/**
 * Runs one of {@linkcode TRUST_COMMANDS} with its arguments; resolves with the exit code, or `undefined`
 * when `--help` was asked for (the caller prints the usage).
 *
 * @throws {UsageError} on a mistake in the arguments.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair, signPlugin } from "@dotcompute/plugins";
 * import { trustCommand } from "./_trust.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(
 *   `${dir}/plugin.jsonc`,
 *   '{ "id": "hello.world", "name": "hello", "version": "1.0.0" }',
 * );
 * const { thumbprint } = await signPlugin(dir, await generateKeyPair());
 * assert.equal(await trustCommand("verify", [dir, "--trusted", thumbprint]), 0);
 * assert.equal(await trustCommand("verify", [dir, "--trusted", "00".repeat(32)]), 1); // another key
 * assert.equal(await trustCommand("verify", ["--help"]), undefined);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function trustCommand(command: string, args: string[]): Promise<number | undefined> {
  switch (command) {
    case "keygen": {
      const { values } = parseArgs({ args, options: { out: { type: "string" }, help } });
      if (values.help) return undefined;
      if (values.out === undefined) throw new UsageError('"keygen" needs --out PREFIX');
      const files = await writeKeyPair(values.out).catch((e) => {
        if (e instanceof Deno.errors.AlreadyExists) {
          throw new UsageError(`${values.out}.key exists already; choose another --out PREFIX`);
        }
        throw e;
      });
      console.log(`private key: ${files.privateKeyFile} (keep it secret)`);
      console.log(`public key:  ${files.publicKeyFile}`);
      console.log(`thumbprint:  ${files.thumbprint}`);
      return 0;
    }
    case "sign": {
      const { values, positionals } = parseArgs({
        args,
        options: { key: { type: "string" }, help },
        allowPositionals: true,
      });
      if (values.help) return undefined;
      const dir = onePositional(command, positionals, "a folder: sign DIR --key FILE");
      if (values.key === undefined) throw new UsageError('"sign" needs --key FILE');
      let keys;
      try {
        keys = await readSigningKeys(values.key);
      } catch (e) {
        console.error(`error: cannot use the key ${values.key}: ${e instanceof Error ? e.message : e}`);
        return 1;
      }
      const sig = await signPlugin(dir, keys);
      console.log(`signed ${dir}: ${sig.files.length} files, key ${sig.thumbprint}`);
      return 0;
    }
    case "verify": {
      const { values, positionals } = parseArgs({
        args,
        options: { trusted: { type: "string", multiple: true }, help },
        allowPositionals: true,
      });
      if (values.help) return undefined;
      const dir = onePositional(command, positionals, "a folder: verify DIR [--trusted THUMBPRINT ...]");
      const trusted = values.trusted?.flatMap((t) => t.split(",")).filter((t) => t.trim() !== "");
      const result = await verifyPlugin(dir, trusted === undefined ? {} : { trusted });
      if (!result.ok) {
        console.log(`${paintStatus("failed")}: ${dir}`);
        for (const p of result.problems) console.log(`  ${p.message}`);
        return 1;
      }
      const by = trusted === undefined
        ? " (no --trusted given: the key itself was not checked)"
        : ", trusted";
      console.log(
        `${paintStatus("ok")}: ${dir}: ${result.files} files intact, signed by ${result.thumbprint}${by}`,
      );
      return 0;
    }
    default:
      return await adminCommand(command, args);
  }
}

/** `DOTCOMPUTE_ADMIN_TOKEN`, when set and readable. */
function envToken(): string | undefined {
  try {
    return Deno.env.get("DOTCOMPUTE_ADMIN_TOKEN") || undefined;
  } catch {
    return undefined; // no env permission: no token from the environment
  }
}

/** `approvals`, `approve ID`, `reject ID`: through the admin API of a running host. */
async function adminCommand(command: string, args: string[]): Promise<number | undefined> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...FLEET_OPTIONS, url: { type: "string" }, version: { type: "string" }, help },
    allowPositionals: true,
  });
  if (values.help) return undefined;
  const id = command === "approvals"
    ? undefined
    : onePositional(command, positionals, `a plugin id: ${command} ID`);
  if (values.cluster !== undefined && id !== undefined) {
    if (values.url !== undefined) throw new UsageError(`"${command}" takes --url or --cluster, not both`);
    return await fleetDecision(command as "approve" | "reject", id, values);
  }
  if (values.url === undefined) {
    throw new UsageError(
      `"${command}" needs --url URL (the admin API's address)${
        id ? " or --cluster URL (the fleet's NATS)" : ""
      }`,
    );
  }
  if (id === undefined && positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}"`);
  }
  const token = values.token ?? envToken();
  let url: URL;
  try {
    url = new URL(
      id === undefined ? "approvals" : `plugins/${encodeURIComponent(id)}/${command}`,
      values.url.endsWith("/") ? values.url : `${values.url}/`,
    );
  } catch {
    throw new UsageError(`--url must be the admin API's address (http://HOST:PORT), not "${values.url}"`);
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method: id === undefined ? "GET" : "POST",
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
  } catch (e) {
    console.error(`error: cannot reach ${url.origin}: ${e instanceof Error ? e.message : e}`);
    return 1;
  }
  const body = await response.json().catch(() => undefined) as Record<string, unknown> | undefined;
  if (!response.ok) {
    const error = body?.error as { message?: string } | undefined;
    console.error(`error: ${response.status} ${error?.message ?? response.statusText}`);
    return 1;
  }
  if (id === undefined) {
    const pending = (body ?? []) as unknown as PendingApproval[];
    if (pending.length === 0) console.log("no plugin version is waiting for approval");
    for (const p of pending) {
      console.log(`${p.id} ${p.fromVersion} → ${p.toVersion} asks for more: ${describePermissions(p.added)}`);
    }
  } else if (command === "approve") {
    console.log(`approved ${id}: now ${body?.version} (${body?.state})`);
  } else {
    console.log(`rejected ${id} ${body?.toVersion}: the running version stays`);
  }
  return 0;
}
