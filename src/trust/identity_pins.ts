// Internal: the identity pins of PluginSecurity entries. A manifest's id is only a claim: any folder can write
// any id, and the id decides the grants. `Folder` pins the id to one plugin folder (real paths compared);
// `Signer` to a key, whose valid signature (plugin.sig.json) the folder must carry whatever ValidateSignatures
// says. A plugin that does not match its pin is refused at discovery and at every reload; with two folders
// claiming one id, the pin is what tells the real one.
import { type HostConfig, securityFor } from "../config/config.ts";
import { formatDiagnostic, PluginHostError } from "../errors.ts";
import { atId, type DiscoveredPlugin } from "../discovery/plugin_folder.ts";
import { verifyPlugin } from "./trust.ts";

/** What a pin check found: the refusal, or which pins the plugin passed. */
export type PinOutcome =
  | { readonly ok: false; readonly error: PluginHostError }
  | { readonly ok: true; readonly signer: boolean };

const short = (thumbprint: string): string => `${thumbprint.slice(0, 16)}…`;

/** Checks `plugin` against the pins of its id in `config` (none: passes). */
export async function checkPins(config: HostConfig, plugin: DiscoveredPlugin): Promise<PinOutcome> {
  const id = plugin.manifest.id;
  const entry = securityFor(config, id);
  const refuse = (message: string): PinOutcome => ({
    ok: false,
    error: new PluginHostError("PIN_MISMATCH", formatDiagnostic(atId(plugin, message)), { pluginId: id }),
  });
  if (entry?.folder !== undefined) {
    const pinned = await Deno.realPath(entry.folder).catch(() => entry.folder!);
    if (pinned !== plugin.dir) {
      return refuse(
        `plugin "${id}" is pinned by PluginSecurity."${id}".Folder to "${pinned}", not "${plugin.dir}": refused`,
      );
    }
  }
  if (entry?.signer === undefined) return { ok: true, signer: false };
  const result = await verifyPlugin(plugin.dir, { trusted: [entry.signer] }).catch((e: unknown) => ({
    ok: false as const,
    reason: e instanceof Error ? e.message : String(e),
  }));
  if (!result.ok) {
    return refuse(
      `plugin "${id}" is pinned by PluginSecurity."${id}".Signer to key ${
        short(entry.signer)
      }, but "${plugin.dir}" ` +
        `carries no valid signature by it (${result.reason}): refused`,
    );
  }
  return { ok: true, signer: true };
}

/** Whether any `PluginSecurity` entry of `config` pins an id. */
export const hasPins = (config: HostConfig): boolean =>
  Object.values(config.security).some((e) => e.folder !== undefined || e.signer !== undefined);
