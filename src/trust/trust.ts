/**
 * Signed plugins: {@linkcode signPlugin} writes `plugin.sig.json` into a plugin folder, covering its manifest
 * and the SHA-256 of every file in it, signed with Ed25519; {@linkcode verifyPlugin} checks that nothing
 * changed, was added or removed since, and that the key is trusted. Keys: see `keys.ts`.
 *
 * The signed bytes are the UTF-8 of this JSON text, keys in this order and no whitespace:
 * `{"context":"dotcompute-plugin-signature","format":1,"algorithm":"Ed25519","publicKey":…,"thumbprint":…,
 * "manifest":{"path":…,"sha256":…},"files":[{"path":…,"sha256":…},…]}` — files sorted by path (code units,
 * `/`-separated), every file of the folder but `plugin.sig.json` itself. Symlinks are refused.
 *
 * @module
 */

import { join } from "node:path";
import { PluginHostError } from "../errors.ts";
import { manifestFilesIn } from "../discovery/plugin_folder.ts";
import { type FileDigest, hashFiles, listFolder, sha256Hex } from "./_files.ts";
import { rawPublicKey, type SigningKeys, thumbprint } from "./keys.ts";
import { parseSignatureFile } from "./_parse.ts";
import type { PluginSignature } from "./types.ts";
export type { PluginSignature } from "./types.ts";

export type { FileDigest } from "./_files.ts";

/** The signature file's name, at the top of the plugin folder. */
export const SIGNATURE_FILE = "plugin.sig.json";

/** What is wrong with a signed folder. */
export type SignatureProblemKind =
  | "unsigned"
  | "malformed"
  | "untrusted"
  | "bad-signature"
  | "changed"
  | "added"
  | "removed"
  | "refused"
  | "unreadable";

/** One problem {@linkcode verifyPlugin} found. */
export interface SignatureProblem {
  /** What kind of problem. */
  readonly kind: SignatureProblemKind;
  /** The file concerned, relative to the plugin folder, when there is one. */
  readonly path?: string;
  /** The problem in words, naming the file. */
  readonly message: string;
}

/** The outcome of {@linkcode verifyPlugin}. */
export type VerifyResult =
  | {
    readonly ok: true;
    /** The signer's thumbprint. */
    readonly thumbprint: string;
    /** How many files the signature covers. */
    readonly files: number;
  }
  | {
    readonly ok: false;
    /** Every problem in one line (at most 10 named, then how many more). */
    readonly reason: string;
    /** Every problem. */
    readonly problems: readonly SignatureProblem[];
    /** The signer's thumbprint, when the signature file names one. */
    readonly thumbprint?: string;
  };

/** Options of {@linkcode verifyPlugin}. */
export interface VerifyOptions {
  /**
   * Thumbprints (SHA-256 hex of the raw public key; case, `:` and spaces ignored) whose signatures are
   * accepted. Absent: any key is accepted and only integrity is checked. An empty list trusts nothing.
   */
  readonly trusted?: readonly string[];
}

/**
 * A plugin folder failed signature verification (code `SIGNATURE_INVALID`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SignatureError } from "@dotcompute/plugins";
 * const e = new SignatureError("hello", [{ kind: "unsigned", message: "has no plugin.sig.json" }]);
 * assert.equal(e.code, "SIGNATURE_INVALID");
 * assert.equal(e.message, 'Plugin "hello" failed signature verification: has no plugin.sig.json');
 * ```
 */
export class SignatureError extends PluginHostError {
  /** Every problem found. */
  readonly problems: readonly SignatureProblem[];
  /** Creates the error for the plugin with this id (or folder); `what` says what failed. */
  constructor(plugin: string, problems: readonly SignatureProblem[], what = "failed signature verification") {
    super("SIGNATURE_INVALID", `Plugin "${plugin}" ${what}: ${summarize(problems)}`, { pluginId: plugin });
    this.name = "SignatureError";
    this.problems = problems;
  }
}

const CONTEXT = "dotcompute-plugin-signature";
const encoder = new TextEncoder();

function summarize(problems: readonly SignatureProblem[]): string {
  const shown = problems.slice(0, 10).map((p) => p.message);
  if (problems.length > 10) shown.push(`and ${problems.length - 10} more`);
  return shown.join("; ");
}

/** The bytes that are signed: a fixed-order JSON text, so the same content always gives the same bytes. */
function signedBytes(s: Omit<PluginSignature, "signature">): Uint8Array<ArrayBuffer> {
  return encoder.encode(JSON.stringify({
    context: CONTEXT,
    format: s.format,
    algorithm: s.algorithm,
    publicKey: s.publicKey,
    thumbprint: s.thumbprint,
    manifest: { path: s.manifest.path, sha256: s.manifest.sha256 },
    files: s.files.map((f) => ({ path: f.path, sha256: f.sha256 })),
  }));
}

/**
 * Signs a plugin folder: hashes every file (symlinks and special files refused), signs the list with the
 * private key and writes `plugin.sig.json`. Signing the same content with the same key gives the same file.
 *
 * @throws {SignatureError} when the folder has no manifest, holds a symlink or cannot be read.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair, signPlugin } from "@dotcompute/plugins";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(
 *   `${dir}/plugin.jsonc`,
 *   '{ "id": "hello.world", "name": "hello", "version": "1.0.0" }',
 * );
 * await Deno.writeTextFile(`${dir}/mod.ts`, "export default {};");
 * const sig = await signPlugin(dir, await generateKeyPair());
 * assert.match(sig.thumbprint, /^[0-9a-f]{64}$/);
 * assert.deepEqual(sig.files.map((f) => f.path), ["mod.ts", "plugin.jsonc"]);
 * assert.ok((await Deno.stat(`${dir}/plugin.sig.json`)).isFile);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function signPlugin(dir: string, keys: SigningKeys): Promise<PluginSignature> {
  const listing = await listFolder(dir, new Set([SIGNATURE_FILE]));
  const problems: SignatureProblem[] = listing.refused.map((r) => ({
    kind: "refused",
    path: r.path,
    message: `"${r.path}" ${r.why}; a signed plugin may hold only regular files`,
  }));
  if (listing.error) problems.push({ kind: "unreadable", message: listing.error });
  const manifestName = (await manifestFilesIn(dir))[0];
  if (manifestName === undefined) problems.push({ kind: "unreadable", message: "has no plugin manifest" });
  if (problems.length > 0 || manifestName === undefined) {
    throw new SignatureError(dir, problems, "cannot be signed");
  }
  const files = await hashFiles(dir, listing.files);
  const raw = await rawPublicKey(keys.publicKey);
  const body = {
    format: 1 as const,
    algorithm: "Ed25519" as const,
    publicKey: raw.toBase64(),
    thumbprint: await thumbprint(raw),
    manifest: files.find((f) => f.path === manifestName)!,
    files,
  };
  const signature = new Uint8Array(await crypto.subtle.sign("Ed25519", keys.privateKey, signedBytes(body)));
  const sig: PluginSignature = { ...body, signature: signature.toBase64() };
  await Deno.writeTextFile(join(dir, SIGNATURE_FILE), JSON.stringify(sig, null, 2) + "\n");
  return sig;
}

/** Public keys imported, with their thumbprints, by their base64 (folders are signed by a handful of keys). */
const keyCache = new Map<string, Promise<{ key: CryptoKey | undefined; thumbprint: string }>>();
function publicKeyOf(publicKey: string): Promise<{ key: CryptoKey | undefined; thumbprint: string }> {
  let entry = keyCache.get(publicKey);
  if (!entry) {
    if (keyCache.size >= 256) keyCache.clear();
    const raw = Uint8Array.fromBase64(publicKey);
    entry = Promise.all([
      // A key Ed25519 refuses is reported as a signature that does not verify.
      crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]).catch(() => undefined),
      sha256Hex(raw),
    ]).then(([key, thumbprint]) => ({ key, thumbprint }));
    keyCache.set(publicKey, entry);
  }
  return entry;
}

/** Lowercase hex without `:` or spaces. */
/** A thumbprint as written anywhere ("AB:CD …") in the form signatures carry: lowercase hex. */
export const normalizeThumbprint = (t: string): string => t.replace(/[\s:]/g, "").toLowerCase();

/**
 * Verifies a signed plugin folder: the signature file is well formed, its key is trusted, its signature
 * verifies, and the folder holds exactly the signed files with the signed bytes (no file changed, added or
 * removed; no symlink). Never throws; the result names every file that differs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair, signPlugin, verifyPlugin } from "@dotcompute/plugins";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(
 *   `${dir}/plugin.jsonc`,
 *   '{ "id": "hello.world", "name": "hello", "version": "1.0.0" }',
 * );
 * await Deno.writeTextFile(`${dir}/mod.ts`, "export default {};");
 * const { thumbprint } = await signPlugin(dir, await generateKeyPair());
 * assert.equal((await verifyPlugin(dir, { trusted: [thumbprint] })).ok, true);
 * await Deno.writeTextFile(`${dir}/mod.ts`, "export default { methods: {} };");
 * const result = await verifyPlugin(dir, { trusted: [thumbprint] });
 * assert.equal(result.ok, false);
 * if (!result.ok) assert.match(result.reason, /"mod\.ts"/); // "mod.ts" differs from the signed file
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function verifyPlugin(dir: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const fail = (problems: SignatureProblem[], thumbprint?: string): VerifyResult => ({
    ok: false,
    reason: summarize(problems),
    problems,
    ...(thumbprint === undefined ? {} : { thumbprint }),
  });
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, SIGNATURE_FILE));
  } catch (e) {
    const folder = await Deno.stat(dir).then((s) => s.isDirectory, () => false);
    return fail([
      !folder
        ? { kind: "unreadable", message: `"${dir}" is not a plugin folder` }
        : e instanceof Deno.errors.NotFound
        ? { kind: "unsigned", message: `the plugin is not signed: it has no ${SIGNATURE_FILE}` }
        : { kind: "unreadable", path: SIGNATURE_FILE, message: `cannot read ${SIGNATURE_FILE}: ${e}` },
    ]);
  }
  const parsed = parseSignatureFile(text);
  const malformed = (why: string): SignatureProblem => ({
    kind: "malformed",
    path: SIGNATURE_FILE,
    message: `${SIGNATURE_FILE} is malformed: ${why}`,
  });
  if (typeof parsed === "string") return fail([malformed(parsed)]);
  const { key, thumbprint: thumb } = await publicKeyOf(parsed.publicKey);
  if (thumb !== parsed.thumbprint) return fail([malformed("its thumbprint is not its public key's")]);
  if (options.trusted && !options.trusted.some((t) => normalizeThumbprint(t) === thumb)) {
    const message = `signed by key ${thumb}, which is not in TrustedCertificateThumbprints`;
    return fail([{ kind: "untrusted", path: SIGNATURE_FILE, message }], thumb);
  }
  let valid = false;
  try {
    const signature = Uint8Array.fromBase64(parsed.signature);
    valid = key !== undefined && await crypto.subtle.verify("Ed25519", key, signature, signedBytes(parsed));
  } catch { /* a key or signature Ed25519 rejects: not valid */ }
  if (!valid) {
    const message =
      `the signature in ${SIGNATURE_FILE} does not verify: its file list was altered or it was ` +
      `not made with key ${thumb}`;
    return fail([{ kind: "bad-signature", path: SIGNATURE_FILE, message }], thumb);
  }
  const problems = await compareFiles(dir, parsed.files);
  return problems.length > 0
    ? fail(problems, thumb)
    : { ok: true, thumbprint: thumb, files: parsed.files.length };
}

/** The differences between the folder now and the signed list: changed, added, removed and refused files. */
async function compareFiles(dir: string, signed: readonly FileDigest[]): Promise<SignatureProblem[]> {
  const listing = await listFolder(dir, new Set([SIGNATURE_FILE]));
  const problems: SignatureProblem[] = listing.refused.map((r) => ({
    kind: "refused",
    path: r.path,
    message: `"${r.path}" ${r.why}; a signed plugin may hold only regular files`,
  }));
  if (listing.error) problems.push({ kind: "unreadable", message: `the folder ${listing.error}` });
  const expected = new Map(signed.map((f) => [f.path, f.sha256]));
  const present = new Set(listing.files);
  const common = listing.files.filter((p) => expected.has(p));
  let digests: FileDigest[];
  try {
    digests = await hashFiles(dir, common);
  } catch (e) {
    return [...problems, { kind: "unreadable", message: `cannot read a file to hash it: ${e}` }];
  }
  for (const d of digests) {
    if (d.sha256 !== expected.get(d.path)) {
      problems.push({ kind: "changed", path: d.path, message: `"${d.path}" differs from the signed file` });
    }
  }
  for (const path of listing.files) {
    if (!expected.has(path)) {
      problems.push({ kind: "added", path, message: `"${path}" was added after signing` });
    }
  }
  for (const { path } of signed) {
    if (!present.has(path) && !listing.refused.some((r) => r.path === path)) {
      problems.push({ kind: "removed", path, message: `"${path}" was removed after signing` });
    }
  }
  return problems;
}
