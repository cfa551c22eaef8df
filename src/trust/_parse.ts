/**
 * Internal: reads `plugin.sig.json` strictly. Anything that is not exactly the signed shape is refused with
 * why, before any key is imported or any file is read.
 *
 * @module
 */

import type { FileDigest } from "./_files.ts";
import type { PluginSignature } from "./types.ts";

const HEX64 = /^[0-9a-f]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A base64 string that decodes to exactly `bytes` bytes. */
function isBase64Of(v: unknown, bytes: number): v is string {
  if (typeof v !== "string" || !BASE64.test(v)) return false;
  try {
    return Uint8Array.fromBase64(v).length === bytes;
  } catch {
    return false;
  }
}

function digestOf(v: unknown): FileDigest | undefined {
  if (!isObject(v) || typeof v.path !== "string" || typeof v.sha256 !== "string") return undefined;
  if (!HEX64.test(v.sha256) || v.path === "" || v.path.startsWith("/") || v.path.includes("\\")) {
    return undefined;
  }
  return { path: v.path, sha256: v.sha256 };
}

/**
 * The signature in `text`, or why it is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair, signPlugin } from "@dotcompute/plugins";
 * import { parseSignatureFile } from "./_parse.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(
 *   `${dir}/plugin.jsonc`,
 *   '{ "id": "hello.world", "name": "hello", "version": "1.0.0" }',
 * );
 * const signed = await signPlugin(dir, await generateKeyPair());
 * const sig = parseSignatureFile(await Deno.readTextFile(`${dir}/plugin.sig.json`));
 * assert.deepEqual(sig, signed);
 * assert.equal(typeof parseSignatureFile("{ not json"), "string"); // why it is not a signature
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function parseSignatureFile(text: string): PluginSignature | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return `not JSON (${e instanceof Error ? e.message : e})`;
  }
  if (!isObject(value)) return "not a JSON object";
  if (value.format !== 1) return `unknown format ${JSON.stringify(value.format)} (this host reads format 1)`;
  if (value.algorithm !== "Ed25519") return `unsupported algorithm ${JSON.stringify(value.algorithm)}`;
  if (!isBase64Of(value.publicKey, 32)) return '"publicKey" is not a base64 Ed25519 public key';
  if (typeof value.thumbprint !== "string" || !HEX64.test(value.thumbprint)) {
    return '"thumbprint" is not 64 lowercase hex digits';
  }
  if (!isBase64Of(value.signature, 64)) return '"signature" is not a base64 Ed25519 signature';
  const manifest = digestOf(value.manifest);
  if (!manifest) return '"manifest" is not {path, sha256}';
  if (!Array.isArray(value.files)) return '"files" is not a list';
  const files: FileDigest[] = [];
  for (const [i, f] of value.files.entries()) {
    const d = digestOf(f);
    if (!d) return `"files"[${i}] is not {path, sha256} with a relative path`;
    if (files.length > 0 && !(files[files.length - 1].path < d.path)) {
      return `"files" is not sorted by path without repeats at "${d.path}"`;
    }
    files.push(d);
  }
  const listed = files.find((f) => f.path === manifest.path);
  if (!listed || listed.sha256 !== manifest.sha256) return '"manifest" is not one of "files"';
  return {
    format: 1,
    algorithm: "Ed25519",
    publicKey: value.publicKey,
    thumbprint: value.thumbprint,
    manifest,
    files,
    signature: value.signature,
  };
}
