/**
 * Internal: the host's signature and identity checks. With `ValidateSignatures` on, a plugin folder must verify
 * against `TrustedCertificateThumbprints` at discovery and on every reload, or it is refused with the reason; a
 * `PluginSecurity.<id>.Folder` or `Signer` pin is checked at the same times (src/trust/identity_pins.ts). A plugin
 * that passed a Signer pin is not checked against `TrustedCertificateThumbprints` too: the pin trusts that key,
 * for that id alone.
 *
 * @module
 */

import { join } from "node:path";
import type { HostConfig } from "../config/config.ts";
import type { ManifestError, PluginHostError } from "../errors.ts";
import { duplicateIdError } from "../discovery/discovery.ts";
import { checkPins, hasPins } from "../trust/identity_pins.ts";
import { analyzeManifest } from "../manifest/manifest.ts";
import { type DiscoveredPlugin, inspectPluginFolder, manifestFilesIn } from "../discovery/plugin_folder.ts";
import { SignatureError, verifyPlugin } from "../trust/trust.ts";

/** {@linkcode inspectPluginFolder}'s report, where a failure may also be a refused signature or pin. */
export type VerifiedFolderReport =
  | { readonly ok: true; readonly plugin: DiscoveredPlugin }
  | { readonly ok: false; readonly id?: string; readonly error: ManifestError | PluginHostError };

/**
 * The signature and pin checks `config` asks for: undefined when `ValidateSignatures` is off and no id is
 * pinned, else a function that resolves with the error of a plugin that fails them (undefined when it passes).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { discoverPlugins, normalizeConfig } from "@dotcompute/plugins";
 * import { signatureCheck } from "./_trust.ts";
 * const { config } = normalizeConfig({
 *   Plugins: { ValidateSignatures: true, TrustedCertificateThumbprints: ["ab".repeat(32)] },
 * });
 * const results = await discoverPlugins("plugins", { verify: signatureCheck(config) });
 * // The bundled plugins are not signed, so each one is refused.
 * assert.ok(results.length > 0 && results.every((r) => !r.ok && r.error.code === "SIGNATURE_INVALID"));
 * assert.equal(signatureCheck(normalizeConfig({}).config), undefined); // nothing to check
 * ```
 */
export function signatureCheck(
  config: HostConfig,
): ((plugin: DiscoveredPlugin) => Promise<PluginHostError | undefined>) | undefined {
  const pins = hasPins(config);
  if (!config.validateSignatures && !pins) return undefined;
  const trusted = config.trustedCertificateThumbprints;
  return async (plugin) => {
    const pinned = pins ? await checkPins(config, plugin) : { ok: true, signer: false } as const;
    if (!pinned.ok) return pinned.error;
    if (!config.validateSignatures || pinned.signer) return undefined;
    const result = await verifyPlugin(plugin.dir, { trusted });
    return result.ok ? undefined : new SignatureError(plugin.manifest.id, result.problems);
  };
}

/**
 * {@linkcode inspectPluginFolder}, then the signature check when `config` asks for one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair, normalizeConfig, signPlugin } from "@dotcompute/plugins";
 * import { inspectVerified } from "./_trust.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(
 *   `${dir}/plugin.jsonc`,
 *   '{ "id": "hello.world", "name": "hello", "version": "1.0.0" }',
 * );
 * await Deno.writeTextFile(`${dir}/mod.ts`, "export default {};");
 * const { thumbprint } = await signPlugin(dir, await generateKeyPair());
 * const { config } = normalizeConfig({
 *   Plugins: { ValidateSignatures: true, TrustedCertificateThumbprints: [thumbprint] },
 * });
 * assert.equal((await inspectVerified(dir, config)).ok, true);
 * await Deno.writeTextFile(`${dir}/mod.ts`, "export default { methods: {} };"); // changed since signed
 * const report = await inspectVerified(dir, config);
 * assert.equal(report.ok, false);
 * if (!report.ok) assert.match(report.error.message, /mod\.ts/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function inspectVerified(dir: string, config: HostConfig): Promise<VerifiedFolderReport> {
  const report = await inspectPluginFolder(dir);
  const check = signatureCheck(config);
  if (!report.ok || !check) return report;
  const error = await check(report.plugin);
  return error ? { ok: false, id: report.plugin.manifest.id, error } : report;
}

/**
 * {@linkcode inspectVerified} for a folder new to a running host: it also fails when another folder of the
 * plugins folder declares the same id and passes its checks (both are refused at discovery, and a change to
 * one of them must not hand it the id).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizeConfig } from "@dotcompute/plugins";
 * import { inspectNewFolder } from "./_trust.ts";
 * // Two folders of one plugins folder declare the same id.
 * const dir = await Deno.makeTempDir();
 * for (const name of ["hello", "hello-copy"]) {
 *   await Deno.mkdir(`${dir}/${name}`);
 *   await Deno.writeTextFile(
 *     `${dir}/${name}/plugin.jsonc`,
 *     '{ "id": "hello.world", "name": "hello", "version": "1.0.0" }',
 *   );
 *   await Deno.writeTextFile(`${dir}/${name}/mod.ts`, "export default {};");
 * }
 * const report = await inspectNewFolder(`${dir}/hello-copy`, dir, normalizeConfig({}).config);
 * assert.equal(report.ok, false);
 * if (!report.ok) assert.match(report.error.message, /is declared by .* too/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function inspectNewFolder(
  dir: string,
  pluginsDir: string,
  config: HostConfig,
): Promise<VerifiedFolderReport> {
  const report = await inspectVerified(dir, config);
  if (!report.ok) return report;
  const id = report.plugin.manifest.id;
  const others: DiscoveredPlugin[] = [];
  for await (const entry of Deno.readDir(pluginsDir)) {
    if (entry.name.startsWith(".")) continue;
    const folder = join(pluginsDir, entry.name);
    const [manifest] = await manifestFilesIn(folder);
    if (manifest === undefined) continue;
    // Only the folders that claim this id are checked in full.
    const text = await Deno.readTextFile(join(folder, manifest)).catch(() => "");
    if (analyzeManifest(text, manifest).id !== id) continue;
    const other = await inspectVerified(folder, config);
    if (other.ok && other.plugin.dir !== report.plugin.dir) others.push(other.plugin);
  }
  if (others.length === 0) return report;
  return { ok: false, id, error: duplicateIdError(report.plugin, others) };
}
