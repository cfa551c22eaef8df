/**
 * Ed25519 signing keys for plugins: generating them, their files and their thumbprints.
 *
 * Key files are PEM, the format OpenSSL and most tools read: the private key as PKCS #8
 * (`-----BEGIN PRIVATE KEY-----`, written readable by its owner only), the public key as SPKI
 * (`-----BEGIN PUBLIC KEY-----`). A key made elsewhere works too: `openssl genpkey -algorithm ed25519`.
 * A key's thumbprint is the SHA-256 of its raw 32-byte public key, in lowercase hex: the value
 * `TrustedCertificateThumbprints` lists.
 *
 * @module
 */

import { dirname } from "node:path";
import { sha256Hex } from "./_files.ts";

const ED25519 = "Ed25519";

/** A private key with its public key: what {@linkcode signPlugin} needs. */
export interface SigningKeys {
  /** The Ed25519 private key (usage `sign`). */
  readonly privateKey: CryptoKey;
  /** The Ed25519 public key that goes with it (usage `verify`, extractable). */
  readonly publicKey: CryptoKey;
}

/** The files {@linkcode writeKeyPair} wrote and the public key's thumbprint. */
export interface KeyPairFiles {
  /** `PREFIX.key`: the PKCS #8 private key, PEM. */
  readonly privateKeyFile: string;
  /** `PREFIX.pub`: the SPKI public key, PEM. */
  readonly publicKeyFile: string;
  /** SHA-256 of the raw public key, lowercase hex. */
  readonly thumbprint: string;
}

/**
 * Generates an extractable Ed25519 key pair.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair, thumbprint } from "@dotcompute/plugins";
 * const keys = await generateKeyPair();
 * assert.equal(keys.privateKey.type, "private");
 * assert.match(await thumbprint(keys.publicKey), /^[0-9a-f]{64}$/);
 * ```
 */
export async function generateKeyPair(): Promise<SigningKeys> {
  const pair = await crypto.subtle.generateKey({ name: ED25519 }, true, ["sign", "verify"]) as CryptoKeyPair;
  return { privateKey: pair.privateKey, publicKey: pair.publicKey };
}

/**
 * The thumbprint of an Ed25519 public key: the SHA-256 of its raw 32 bytes, lowercase hex.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair, rawPublicKey, thumbprint } from "@dotcompute/plugins";
 * const { publicKey } = await generateKeyPair();
 * const print = await thumbprint(publicKey);
 * assert.match(print, /^[0-9a-f]{64}$/);
 * assert.equal(await thumbprint(await rawPublicKey(publicKey)), print); // the key or its raw bytes
 * ```
 */
export async function thumbprint(publicKey: CryptoKey | Uint8Array<ArrayBuffer>): Promise<string> {
  const raw = publicKey instanceof Uint8Array ? publicKey : await rawPublicKey(publicKey);
  return await sha256Hex(raw);
}

/**
 * The raw 32 bytes of an extractable Ed25519 public key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair, rawPublicKey } from "@dotcompute/plugins";
 * const { publicKey } = await generateKeyPair();
 * assert.equal((await rawPublicKey(publicKey)).length, 32);
 * ```
 */
export async function rawPublicKey(publicKey: CryptoKey): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.exportKey("raw", publicKey));
}

/**
 * Encodes a key as PEM: the private key as PKCS #8, the public key as SPKI.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportKeyPem, generateKeyPair } from "@dotcompute/plugins";
 * const keys = await generateKeyPair();
 * assert.match(await exportKeyPem(keys.publicKey), /^-----BEGIN PUBLIC KEY-----\n/);
 * assert.match(await exportKeyPem(keys.privateKey), /^-----BEGIN PRIVATE KEY-----\n/);
 * ```
 */
export async function exportKeyPem(key: CryptoKey): Promise<string> {
  const isPrivate = key.type === "private";
  const der = new Uint8Array(await crypto.subtle.exportKey(isPrivate ? "pkcs8" : "spki", key));
  const label = isPrivate ? "PRIVATE KEY" : "PUBLIC KEY";
  const lines = der.toBase64().match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** The DER bytes inside a PEM block with `label`. */
function pemBody(pem: string, label: string): Uint8Array<ArrayBuffer> {
  const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem);
  if (!match) throw new TypeError(`not a PEM "${label}" block`);
  return Uint8Array.fromBase64(match[1].replace(/\s+/g, ""));
}

/**
 * Reads an Ed25519 private key from PKCS #8 PEM, with its public key (derived from it).
 *
 * @throws {TypeError} when the text is not an Ed25519 private key.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportKeyPem, generateKeyPair, importSigningKeys } from "@dotcompute/plugins";
 * const pem = await exportKeyPem((await generateKeyPair()).privateKey);
 * const keys = await importSigningKeys(pem);
 * assert.equal(keys.privateKey.type, "private");
 * assert.equal(keys.publicKey.type, "public"); // derived from the private key
 * ```
 */
export async function importSigningKeys(pem: string): Promise<SigningKeys> {
  let jwk: JsonWebKey;
  try {
    const der = pemBody(pem, "PRIVATE KEY");
    const extractable = await crypto.subtle.importKey("pkcs8", der, { name: ED25519 }, true, ["sign"]);
    jwk = await crypto.subtle.exportKey("jwk", extractable);
  } catch (e) {
    throw new TypeError(`not an Ed25519 private key (PKCS #8 PEM): ${e instanceof Error ? e.message : e}`);
  }
  const { d: _d, key_ops: _ops, ...pub } = jwk;
  const publicKey = await crypto.subtle.importKey("jwk", pub, { name: ED25519 }, true, ["verify"]);
  const privateKey = await crypto.subtle.importKey("jwk", jwk, { name: ED25519 }, false, ["sign"]);
  return { privateKey, publicKey };
}

/**
 * Reads an Ed25519 public key from SPKI PEM.
 *
 * @throws {TypeError} when the text is not an Ed25519 public key.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exportKeyPem, generateKeyPair, importPublicKey, thumbprint } from "@dotcompute/plugins";
 * const { publicKey } = await generateKeyPair();
 * const imported = await importPublicKey(await exportKeyPem(publicKey));
 * assert.equal(await thumbprint(imported), await thumbprint(publicKey));
 * ```
 */
export async function importPublicKey(pem: string): Promise<CryptoKey> {
  try {
    return await crypto.subtle.importKey("spki", pemBody(pem, "PUBLIC KEY"), { name: ED25519 }, true, [
      "verify",
    ]);
  } catch (e) {
    throw new TypeError(`not an Ed25519 public key (SPKI PEM): ${e instanceof Error ? e.message : e}`);
  }
}

/**
 * Generates a key pair and writes `PREFIX.key` (PKCS #8 PEM, mode 0600) and `PREFIX.pub` (SPKI PEM), making
 * PREFIX's folder (mode 0700) when it is missing. Refuses to overwrite an existing private key file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeKeyPair } from "@dotcompute/plugins";
 * const dir = await Deno.makeTempDir();
 * const { privateKeyFile, publicKeyFile, thumbprint } = await writeKeyPair(`${dir}/keys/release`);
 * assert.equal(privateKeyFile, `${dir}/keys/release.key`);
 * assert.equal(publicKeyFile, `${dir}/keys/release.pub`);
 * assert.match(thumbprint, /^[0-9a-f]{64}$/);
 * await assert.rejects(writeKeyPair(`${dir}/keys/release`), Deno.errors.AlreadyExists); // never overwrites
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeKeyPair(prefix: string): Promise<KeyPairFiles> {
  const keys = await generateKeyPair();
  const privateKeyFile = `${prefix}.key`;
  const publicKeyFile = `${prefix}.pub`;
  await Deno.mkdir(dirname(privateKeyFile), { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(privateKeyFile, await exportKeyPem(keys.privateKey), {
    createNew: true,
    mode: 0o600,
  });
  await Deno.writeTextFile(publicKeyFile, await exportKeyPem(keys.publicKey));
  return { privateKeyFile, publicKeyFile, thumbprint: await thumbprint(keys.publicKey) };
}

/**
 * Reads a private key file written by {@linkcode writeKeyPair} (or any Ed25519 PKCS #8 PEM).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readSigningKeys, signPlugin, writeKeyPair } from "@dotcompute/plugins";
 * const dir = await Deno.makeTempDir();
 * const { privateKeyFile, thumbprint } = await writeKeyPair(`${dir}/release`);
 * await Deno.mkdir(`${dir}/hello`);
 * await Deno.writeTextFile(
 *   `${dir}/hello/plugin.jsonc`,
 *   '{ "id": "hello.world", "name": "hello", "version": "1.0.0" }',
 * );
 * const sig = await signPlugin(`${dir}/hello`, await readSigningKeys(privateKeyFile));
 * assert.equal(sig.thumbprint, thumbprint);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readSigningKeys(file: string): Promise<SigningKeys> {
  return await importSigningKeys(await Deno.readTextFile(file));
}
