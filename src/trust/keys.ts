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
 * import { generateKeyPair, thumbprint } from "@dotcompute/plugins";
 * const keys = await generateKeyPair();
 * console.log(await thumbprint(keys.publicKey)); // 64 hex digits
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
 * import { generateKeyPair, thumbprint } from "@dotcompute/plugins";
 * const { publicKey } = await generateKeyPair();
 * console.log(await thumbprint(publicKey));
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
 * import { generateKeyPair, rawPublicKey } from "@dotcompute/plugins";
 * const { publicKey } = await generateKeyPair();
 * console.log((await rawPublicKey(publicKey)).length); // 32
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
 * import { exportKeyPem, generateKeyPair } from "@dotcompute/plugins";
 * const keys = await generateKeyPair();
 * console.log(await exportKeyPem(keys.publicKey)); // -----BEGIN PUBLIC KEY----- ...
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
 * import { exportKeyPem, generateKeyPair, importSigningKeys } from "@dotcompute/plugins";
 * const pem = await exportKeyPem((await generateKeyPair()).privateKey);
 * const keys = await importSigningKeys(pem);
 * console.log(keys.publicKey.type); // "public"
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
 * import { exportKeyPem, generateKeyPair, importPublicKey, thumbprint } from "@dotcompute/plugins";
 * const pem = await exportKeyPem((await generateKeyPair()).publicKey);
 * console.log(await thumbprint(await importPublicKey(pem)));
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
 * ```ts ignore
 * import { writeKeyPair } from "@dotcompute/plugins";
 * const { privateKeyFile, thumbprint } = await writeKeyPair("./keys/release");
 * console.log(privateKeyFile, thumbprint); // ./keys/release.key  3f0c…
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
 * ```ts ignore
 * import { readSigningKeys, signPlugin } from "@dotcompute/plugins";
 * await signPlugin("plugins/hello", await readSigningKeys("./keys/release.key"));
 * ```
 */
export async function readSigningKeys(file: string): Promise<SigningKeys> {
  return await importSigningKeys(await Deno.readTextFile(file));
}
