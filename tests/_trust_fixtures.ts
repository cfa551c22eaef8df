// Shared by the trust tests: keys, a signed plugin's source and every way to tamper with a signed folder.
import { join } from "node:path";
import {
  generateKeyPair,
  SIGNATURE_FILE,
  type SignatureProblemKind,
  type SigningKeys,
  signPlugin,
  thumbprint,
} from "../mod.ts";
import type { PluginSource } from "./_helpers.ts";

export const trustedKeys: SigningKeys = await generateKeyPair();
export const otherKeys: SigningKeys = await generateKeyPair();
export const TRUSTED: string = await thumbprint(trustedKeys.publicKey);

/** A HotReloadable plugin whose entry imports a nested module; `version` answers `v`. */
export const signedSource = (
  id: string,
  v = 1,
  permissions: Record<string, string[]> = {},
): PluginSource => ({
  manifest: { id, version: `1.0.${v}`, capabilities: ["HotReloadable"], permissions },
  code: `import { V } from "./lib/util.ts";\nexport default { methods: { version: () => V } };\n`,
  files: {
    "lib/util.ts": `export const V = ${v};\n`,
    "lib/table.json": "[1, 2, 3]\n",
    "README.md": "# a signed plugin\n",
  },
});

/** One way to tamper with a signed folder, and what verification must say about it. */
export interface Tamper {
  readonly name: string;
  readonly kind: SignatureProblemKind;
  readonly path?: string;
  readonly reason: RegExp;
  apply(dir: string): Promise<void>;
}

const rewrite = async (file: string, edit: (text: string) => string): Promise<void> =>
  await Deno.writeTextFile(file, edit(await Deno.readTextFile(file)));

/** Every tamper case. Each touches a file the hot-reload watcher reacts to (a module, JSON or the manifest). */
export const TAMPERS: readonly Tamper[] = [
  {
    name: "a changed byte in the manifest (its permissions)",
    kind: "changed",
    path: "plugin.jsonc",
    reason: /"plugin\.jsonc" differs from the signed file/,
    apply: (d) =>
      rewrite(join(d, "plugin.jsonc"), (t) => {
        const manifest = JSON.parse(t);
        manifest.permissions = { ...manifest.permissions, env: ["HOME"] };
        return JSON.stringify(manifest);
      }),
  },
  {
    name: "a changed byte in mod.ts",
    kind: "changed",
    path: "mod.ts",
    reason: /"mod\.ts" differs/,
    apply: (d) => rewrite(join(d, "mod.ts"), (t) => t.replace("version: () => V", "version: () => V + 1")),
  },
  {
    name: "a changed byte in a nested file",
    kind: "changed",
    path: "lib/util.ts",
    reason: /"lib\/util\.ts" differs/,
    apply: (d) => rewrite(join(d, "lib", "util.ts"), (t) => t.replace("=", "= 40 +")),
  },
  {
    name: "an added file",
    kind: "added",
    path: "extra.ts",
    reason: /"extra\.ts" was added after signing/,
    apply: (d) => Deno.writeTextFile(join(d, "extra.ts"), "export const x = 1;\n"),
  },
  {
    name: "a removed file",
    kind: "removed",
    path: "lib/table.json",
    reason: /"lib\/table\.json" was removed after signing/,
    apply: (d) => Deno.remove(join(d, "lib", "table.json")),
  },
  {
    name: "a key outside the trusted thumbprints",
    kind: "untrusted",
    reason: /signed by key [0-9a-f]{64}, which is not in TrustedCertificateThumbprints/,
    apply: async (d) => void await signPlugin(d, otherKeys),
  },
  {
    name: "a bad signature (the signed file list edited)",
    kind: "bad-signature",
    reason: /signature in plugin\.sig\.json does not verify/,
    apply: (d) =>
      rewrite(join(d, SIGNATURE_FILE), (t) => {
        const sig = JSON.parse(t);
        sig.files = sig.files.filter((f: { path: string }) => f.path !== "README.md");
        return JSON.stringify(sig);
      }),
  },
  {
    name: "a symlink",
    kind: "refused",
    path: "link.ts",
    reason: /"link\.ts" is a symlink/,
    apply: (d) => Deno.symlink("lib/util.ts", join(d, "link.ts")),
  },
  {
    name: "no signature at all",
    kind: "unsigned",
    reason: /not signed: it has no plugin\.sig\.json/,
    apply: (d) => Deno.remove(join(d, SIGNATURE_FILE)),
  },
];
