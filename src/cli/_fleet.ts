/**
 * The command line's fleet commands (`Plugins.Cluster`): `publish DIR --cluster URL`, `fleet --cluster URL`, and
 * `approve` / `reject ID --cluster URL`, which decide for every host at once. They load NATS only when run.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { FleetClient } from "../cluster/client.ts";
import { paintStatus, style, table } from "./_output.ts";
import { UsageError } from "./_usage.ts";

/** The commands this module runs (approve and reject come through `_trust.ts` when they name --cluster). */
export const FLEET_COMMANDS: ReadonlySet<string> = new Set(["publish", "fleet"]);

/** The options every fleet command takes. */
export const FLEET_OPTIONS = {
  cluster: { type: "string" },
  name: { type: "string" },
  token: { type: "string" },
  creds: { type: "string" },
} as const;

const help = { type: "boolean", short: "h" } as const;

/** The fleet named by the options, connected. */
async function connect(
  command: string,
  values: { cluster?: string; name?: string; token?: string; creds?: string },
): Promise<FleetClient> {
  if (values.cluster === undefined) throw new UsageError(`"${command}" needs --cluster URL (a NATS server)`);
  const servers = values.cluster.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const name = values.name ?? "dotcompute";
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    throw new UsageError(`--name must be a fleet name (letters, digits, "_" and "-"), not "${name}"`);
  }
  let token = values.token;
  try {
    token ??= Deno.env.get("DOTCOMPUTE_CLUSTER_TOKEN") || undefined;
  } catch { /* no env permission: no token from the environment */ }
  const { connectFleet } = await import("../cluster/client.ts");
  return await connectFleet(servers, name, {
    ...(token ? { token } : {}),
    ...(values.creds ? { credsFile: values.creds } : {}),
  });
}

/** Runs `publish` or `fleet`; `undefined` when `--help` was asked for. */
export async function fleetCommand(command: string, args: string[]): Promise<number | undefined> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...FLEET_OPTIONS, json: { type: "boolean" }, help },
    allowPositionals: true,
  });
  if (values.help) return undefined;
  if (command === "publish") {
    if (positionals.length !== 1) {
      throw new UsageError('"publish" needs one folder: publish DIR --cluster URL');
    }
    await using fleet = await connect(command, values);
    const b = await fleet.publish(positionals[0]);
    console.log(
      `published ${b.id} ${b.version} (${b.bytes} bytes, signed by ${b.thumbprint.slice(0, 16)}…) to fleet ` +
        fleet.name,
    );
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  await using fleet = await connect(command, values);
  const hosts = await fleet.hosts();
  if (values.json) {
    console.log(JSON.stringify({ name: fleet.name, hosts }, null, 2));
    return 0;
  }
  if (hosts.length === 0) {
    console.log(style.dim(`no host of fleet ${fleet.name} answered`));
    return 0;
  }
  const rows = hosts.flatMap((h) =>
    h.plugins.length === 0
      ? [[h.hostId, "", "", ""]]
      : h.plugins.map((p) => [h.hostId, p.id, p.version, p.state])
  );
  console.log(table(["HOST", "PLUGIN", "VERSION", "STATE"], rows, (i, s) => i === 3 ? paintStatus(s) : s));
  return 0;
}

/** `approve ID --cluster URL [--version V]` / `reject …`: the decision for every host of the fleet. */
export async function fleetDecision(
  command: "approve" | "reject",
  id: string,
  values: { cluster?: string; name?: string; token?: string; creds?: string; version?: string },
): Promise<number> {
  await using fleet = await connect(command, values);
  const d = await fleet.decide(id, command === "approve" ? "approved" : "rejected", values.version);
  console.log(`${d.action} ${d.id} ${d.version} for every host of fleet ${fleet.name}`);
  return 0;
}
