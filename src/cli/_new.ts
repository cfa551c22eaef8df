/**
 * `new ID [--dir DIR] [--json]`: scaffolds a working plugin folder — a manifest that editors validate, an entry
 * module, and a test that starts the plugin in a real host and calls it (it passes as generated).
 *
 * @module
 */

import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ManifestError } from "../errors.ts";
import { parseManifest } from "../manifest/manifest.ts";
import { style } from "./_output.ts";
import { UsageError } from "./_usage.ts";
import schema from "../../schemas/plugin.schema.json" with { type: "json" };

const SCHEMA_URL = new URL("../../schemas/plugin.schema.json", import.meta.url);

/**
 * The `$schema` a new manifest in `dir` points at: a relative path when `dir` lies inside this package's own
 * folder (a checkout), else the published schema's URL.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { schemaRef } from "./_new.ts";
 * // Doc tests run in the repository's root.
 * assert.equal(schemaRef(`${Deno.cwd()}/plugins/hello`), "../../schemas/plugin.schema.json");
 * assert.equal(
 *   schemaRef("/elsewhere/hello"),
 *   "https://jsr.io/@dotcompute/plugins/0.1.0/schemas/plugin.schema.json",
 * );
 * ```
 */
export function schemaRef(dir: string): string {
  if (SCHEMA_URL.protocol !== "file:") return SCHEMA_URL.href;
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const inside = relative(root, dir);
  if (inside === "" || inside.startsWith("..") || isAbsolute(inside)) return schema.$id;
  return relative(dir, fileURLToPath(SCHEMA_URL)).split(sep).join("/");
}

/** "acme.image-tools" → "Acme Image Tools". */
const titleOf = (id: string): string =>
  id.split(/[.-]+/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join(" ");

/**
 * The files of a new plugin `id` to be written into `dir`, by name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scaffold } from "./_new.ts";
 * const files = scaffold("acme.greeter", "/tmp/greeter");
 * assert.deepEqual(Object.keys(files), ["plugin.jsonc", "mod.ts", "mod_test.ts"]);
 * assert.match(files["plugin.jsonc"], /"name": "Acme Greeter"/);
 * ```
 */
export function scaffold(id: string, dir: string): Record<string, string> {
  const name = titleOf(id);
  return {
    "plugin.jsonc": `{
  "$schema": ${JSON.stringify(schemaRef(dir))},
  "id": ${JSON.stringify(id)},
  "name": ${JSON.stringify(name)},
  "version": "0.1.0",
  "description": "What ${name} does",
  "entry": "mod.ts",
  "capabilities": ["HotReloadable"],
  // What it asks for; the host's PluginSecurity entry for it decides what it gets (nothing by default).
  "permissions": { "read": [], "write": [], "net": [], "env": [] },
  // Defaults; the host config's Plugins.${id}.Settings override them.
  "settings": { "greeting": "hello" }
}
`,
    "mod.ts":
      `// ${name}: every hook and method is optional. Methods are callable by the host and by dependent plugins.
import { definePlugin } from "@dotcompute/plugins/plugin";

let greeting = "hello";

export default definePlugin({
  initialize(ctx) {
    greeting = String(ctx.settings.greeting ?? greeting);
    ctx.log.info("initializing {id} {version}", { id: ctx.id, version: ctx.version });
  },
  configure(settings) {
    greeting = String(settings.greeting ?? greeting);
  },
  health() {
    return { status: "healthy" };
  },
  methods: {
    greet(name: string): string {
      return \`\${greeting} \${name}\`;
    },
  },
});
`,
    "mod_test.ts": `// Starts ${id} in a real host (its own Worker, no permissions) and calls it. Run it with:
//   deno test --unstable-worker-options --no-prompt -A mod_test.ts
// ("@dotcompute/plugins" must resolve: \`deno add jsr:@dotcompute/plugins\` outside the package's repository.)
import assert from "node:assert/strict";
import { testPlugin } from "@dotcompute/plugins/testing";
import type plugin from "./mod.ts";

Deno.test("${id} starts in a host and answers greet", async () => {
  const folder = new URL(".", import.meta.url);
  {
    await using p = await testPlugin<typeof plugin>(folder);
    assert.equal(await p.call("greet", "Ada"), "hello Ada");
    assert.equal(p.metrics().calls, 1);
  }
  // The host's settings override the manifest's defaults.
  await using p = await testPlugin<typeof plugin>(folder, { settings: { greeting: "hi" } });
  assert.equal(await p.call("greet", "Ada"), "hi Ada");
  assert.ok(p.logs.some((l) => l.message.startsWith("initializing ${id}")));
});
`,
  };
}

/**
 * Runs `new` with its arguments; resolves with the exit code (0 created, 1 the folder is not empty), or
 * `undefined` for `--help`. A bad id or missing argument throws a `UsageError` (exit code 2).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newCommand } from "./_new.ts";
 * const dir = await Deno.makeTempDir();
 * assert.equal(await newCommand(["acme.greeter", "--dir", `${dir}/greeter`]), 0);
 * assert.ok((await Deno.stat(`${dir}/greeter/mod_test.ts`)).isFile);
 * assert.equal(await newCommand(["acme.greeter", "--dir", `${dir}/greeter`]), 1); // not empty now
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function newCommand(args: readonly string[]): Promise<number | undefined> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { dir: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
  });
  if (values.help) return undefined;
  if (positionals.length !== 1) throw new UsageError(`"new" needs one plugin id: new ID [--dir DIR]`);
  const id = positionals[0];
  const dir = resolve(values.dir ?? id);
  const files = scaffold(id, dir);
  try {
    parseManifest(files["plugin.jsonc"], "plugin.jsonc");
  } catch (e) {
    if (!(e instanceof ManifestError)) throw e;
    throw new UsageError(e.diagnostics.map((d) => d.message).join("; "));
  }
  if (await isNonEmptyFolder(dir)) {
    console.error(`error: ${dir} already exists and is not empty; choose another folder with --dir`);
    return 1;
  }
  await Deno.mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(join(dir, name), text, { createNew: true });
  }
  if (values.json) {
    console.log(JSON.stringify({ id, dir, files: Object.keys(files) }, null, 2));
    return 0;
  }
  const shown = relative(Deno.cwd(), dir) || ".";
  console.log(`${style.green("created")} plugin ${style.bold(id)} in ${shown}`);
  for (const name of Object.keys(files)) console.log(`  ${join(shown, name)}`);
  console.log(
    `\nnext: npx -y deno@2.9.6 test --unstable-worker-options --no-prompt -A ${join(shown, "mod_test.ts")}`,
  );
  return 0;
}

async function isNonEmptyFolder(dir: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(dir)) return true;
    return false;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    if (e instanceof Deno.errors.NotADirectory) return true;
    throw e;
  }
}
