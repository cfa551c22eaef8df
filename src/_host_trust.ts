/**
 * Internal: the host's signature checks. With `ValidateSignatures` on, a plugin folder must verify against
 * `TrustedCertificateThumbprints` at discovery and on every reload, or it is refused with the reason.
 *
 * @module
 */

import type { HostConfig } from "./config.ts";
import type { ManifestError } from "./errors.ts";
import { type DiscoveredPlugin, inspectPluginFolder } from "./plugin_folder.ts";
import { SignatureError, verifyPlugin } from "./trust.ts";

/** {@linkcode inspectPluginFolder}'s report, where a failure may also be a refused signature. */
export type VerifiedFolderReport =
  | { readonly ok: true; readonly plugin: DiscoveredPlugin }
  | { readonly ok: false; readonly id?: string; readonly error: ManifestError | SignatureError };

/**
 * The signature check `config` asks for: undefined when `ValidateSignatures` is off, else a function that
 * resolves with the {@linkcode SignatureError} of a plugin that fails verification (undefined when it passes).
 *
 * @example
 * ```ts ignore
 * const results = await discoverPlugins(dir, { verify: signatureCheck(config) });
 * ```
 */
export function signatureCheck(
  config: HostConfig,
): ((plugin: DiscoveredPlugin) => Promise<SignatureError | undefined>) | undefined {
  if (!config.validateSignatures) return undefined;
  const trusted = config.trustedCertificateThumbprints;
  return async (plugin) => {
    const result = await verifyPlugin(plugin.dir, { trusted });
    return result.ok ? undefined : new SignatureError(plugin.manifest.id, result.problems);
  };
}

/**
 * {@linkcode inspectPluginFolder}, then the signature check when `config` asks for one.
 *
 * @example
 * ```ts ignore
 * const report = await inspectVerified(plugin.dir, host.config);
 * if (!report.ok) console.error(report.error.message);
 * ```
 */
export async function inspectVerified(dir: string, config: HostConfig): Promise<VerifiedFolderReport> {
  const report = await inspectPluginFolder(dir);
  const check = signatureCheck(config);
  if (!report.ok || !check) return report;
  const error = await check(report.plugin);
  return error ? { ok: false, id: report.plugin.manifest.id, error } : report;
}
