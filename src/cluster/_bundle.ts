// A bundle: one signed plugin folder as one object of the fleet's bundle store. Its bytes are a fleet frame
// (src/cluster/_codec.ts) whose header names the plugin and lists its files, each file's bytes a buffer. Only
// the files plugin.sig.json signs travel, and the signature file itself: a host verifies the folder it writes
// against its own trusted keys before the folder goes anywhere near its plugins (src/cluster/bundles.ts).
import { join } from "node:path";
import { PluginHostError } from "../errors.ts";
import { parseManifest } from "../manifest/manifest.ts";
import { SIGNATURE_FILE, verifyPlugin } from "../trust/trust.ts";
import { decodeFrame, encodeFrame } from "./_codec.ts";

/** Bundles past this are refused on both sides: a store entry is not a way to fill a host's disk. */
export const MAX_BUNDLE_BYTES = 64 << 20;
const MAX_FILES = 10_000;
const ID = /^[a-z0-9][a-z0-9.-]*$/;

/** What a bundle says of itself (the store entry's description too). */
export interface BundleInfo {
  readonly id: string;
  readonly version: string;
  /** The signing key's thumbprint, as plugin.sig.json names it. */
  readonly thumbprint: string;
}

/** A bundle as read back: its description and its files. */
export interface Bundle extends BundleInfo {
  readonly files: readonly { readonly path: string; readonly data: Uint8Array }[];
}

/** Packs the signed plugin folder `dir`; refused (SIGNATURE_INVALID) unless its signature verifies. */
export async function packBundle(dir: string): Promise<{ info: BundleInfo; bytes: Uint8Array }> {
  const verified = await verifyPlugin(dir);
  if (!verified.ok) {
    throw new PluginHostError("SIGNATURE_INVALID", `${dir}: not published: ${verified.reason}`);
  }
  // Verified: the signature file is well formed and lists exactly the folder's files.
  const signature = JSON.parse(await Deno.readTextFile(join(dir, SIGNATURE_FILE))) as {
    readonly files: readonly { readonly path: string }[];
    readonly manifest: { readonly path: string };
  };
  const manifestPath = signature.manifest.path;
  const manifest = parseManifest(await Deno.readTextFile(join(dir, manifestPath)), join(dir, manifestPath));
  const paths = [...signature.files.map((f) => f.path), SIGNATURE_FILE];
  const files = await Promise.all(
    paths.map(async (path) => ({ path, data: await Deno.readFile(join(dir, path)) })),
  );
  const info = { id: manifest.id, version: manifest.version, thumbprint: verified.thumbprint };
  const bytes = encodeFrame({ v: 1, ...info, files });
  if (bytes.byteLength > MAX_BUNDLE_BYTES) {
    const why = `${bytes.byteLength} bytes, over the ${MAX_BUNDLE_BYTES} a bundle may hold`;
    throw new PluginHostError("LOAD_FAILED", `${dir}: not published: ${why}`);
  }
  return { info, bytes };
}

const bad = (why: string): never => {
  throw new PluginHostError("PROTOCOL_ERROR", `a bundle from the fleet is malformed: ${why}`);
};

/** A relative POSIX path that stays inside its folder: no "..", no ".", no empty part, no backslash or NUL. */
function safePath(path: unknown, at: string): string {
  if (typeof path !== "string" || path === "" || path.length > 1024) return bad(`${at}.path is not a path`);
  const parts = path.split("/");
  if (path.startsWith("/") || /[\\\0]/.test(path) || parts.some((p) => p === "" || p === "." || p === "..")) {
    return bad(`${at}.path "${path}" leaves its folder or is not a plain relative path`);
  }
  return path;
}

/** Decodes and checks a bundle, field by field (everything from NATS is untrusted). */
export function unpackBundle(bytes: Uint8Array): Bundle {
  if (bytes.byteLength > MAX_BUNDLE_BYTES) bad(`${bytes.byteLength} bytes, over ${MAX_BUNDLE_BYTES}`);
  const h = decodeFrame(bytes);
  if (typeof h !== "object" || h === null || Array.isArray(h)) return bad("it is not an object");
  const o = h as Record<string, unknown>;
  if (o.v !== 1) bad(`v is ${JSON.stringify(o.v)}, not 1`);
  if (typeof o.id !== "string" || !ID.test(o.id) || o.id.length > 128) bad("id is not a plugin id");
  if (typeof o.version !== "string" || o.version === "" || o.version.length > 256) {
    bad("version is not a version");
  }
  if (typeof o.thumbprint !== "string" || !/^[0-9a-f]{64}$/.test(o.thumbprint)) bad("thumbprint is not hex");
  if (!Array.isArray(o.files) || o.files.length === 0 || o.files.length > MAX_FILES) {
    bad(`files is not a list of 1 to ${MAX_FILES} files`);
  }
  const seen = new Set<string>();
  const files = (o.files as unknown[]).map((f, i) => {
    const at = `files[${i}]`;
    if (typeof f !== "object" || f === null) return bad(`${at} is not an object`);
    const { path, data } = f as Record<string, unknown>;
    const p = safePath(path, at);
    if (seen.has(p.toLowerCase())) bad(`${at}.path "${p}" comes twice`);
    seen.add(p.toLowerCase());
    if (!(data instanceof Uint8Array)) return bad(`${at}.data is not bytes`);
    return { path: p, data };
  });
  if (!seen.has(SIGNATURE_FILE)) bad(`it holds no ${SIGNATURE_FILE}`);
  return { id: o.id as string, version: o.version as string, thumbprint: o.thumbprint as string, files };
}

/** Writes `bundle`'s files into the new, empty folder `dir` (never through a file that is there already). */
export async function writeBundle(bundle: Bundle, dir: string): Promise<void> {
  for (const f of bundle.files) {
    const path = join(dir, f.path);
    const slash = f.path.lastIndexOf("/");
    if (slash > 0) await Deno.mkdir(join(dir, f.path.slice(0, slash)), { recursive: true });
    await Deno.writeFile(path, f.data, { createNew: true, mode: 0o644 });
  }
}
