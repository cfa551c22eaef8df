import type { FileDigest } from "./_files.ts";

/** The contents of `plugin.sig.json`. */
export interface PluginSignature {
  /** The format's version: 1. */
  readonly format: 1;
  /** Always `"Ed25519"`. */
  readonly algorithm: "Ed25519";
  /** The signer's raw 32-byte public key, base64. */
  readonly publicKey: string;
  /** SHA-256 of the raw public key, lowercase hex. */
  readonly thumbprint: string;
  /** The manifest file and its digest (it is among `files` too). */
  readonly manifest: FileDigest;
  /** Every file but the signature file, sorted by path. */
  readonly files: readonly FileDigest[];
  /** The Ed25519 signature of the canonical bytes (see the module doc), base64. */
  readonly signature: string;
}
