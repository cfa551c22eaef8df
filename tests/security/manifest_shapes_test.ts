// Manifests of any shape fail only their own plugin: a manifest nested 100,000 levels deep overflowed the stack
// of the whole discovery (host.start() threw for every plugin), an id "constructor" (it fits the id pattern)
// made start() throw in the logger, and Object.prototype names as keys or grants that decode into other paths
// reached code that indexes plain objects or resolves paths. Each is refused with a located error.
import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError, discoverPlugins, parseConfig } from "../../mod.ts";
import { attackHost, CONFIG, denoRun, INNOCENT } from "./_attack.ts";

const base = `"name": "x", "version": "1.0.0"`;
const deep = (n: number): string => "[".repeat(n) + "]".repeat(n);

/** Folder -> [the manifest's text, what its located error must say (after `file:1:col: `)]. */
const HOSTILE: Readonly<Record<string, readonly [string, RegExp]>> = {
  "deep-array": ["[".repeat(100_000), /^nested deeper than 64 levels/],
  "deep-settings": [
    `{"id": "deep-settings", ${base}, "settings": {"a": ${deep(100_000)}}}`,
    /^nested deeper/,
  ],
  "deep-object": [
    `{"id": "deep-object", ${base}, "settings": ${'{"a":'.repeat(5000)}1${"}".repeat(5000)}}`,
    /^nested/,
  ],
  "id-constructor": [`{"id": "constructor", ${base}}`, /^"id": "constructor" is a name of Object\.prototype/],
  "dep-proto": [
    `{"id": "dep-proto", ${base}, "dependencies": {"__proto__": "^1.0.0"}}`,
    /^"dependencies\.__proto__": the key "__proto__" is a name of Object\.prototype/,
  ],
  "dep-constructor": [
    `{"id": "dep-ctor", ${base}, "dependencies": {"constructor": "^1.0.0"}}`,
    /^"dependencies\.constructor": the key/,
  ],
  "optional-hasown": [
    `{"id": "opt-hasown", ${base}, "optionalDependencies": {"hasOwnProperty": "^1.0.0"}}`,
    /^"optionalDependencies\.hasOwnProperty": the key/,
  ],
  "provides-proto": [
    `{"id": "prov-proto", ${base}, "provides": {"__proto__": "1.0.0"}}`,
    /^"provides\.__proto__": the key/,
  ],
  "settings-proto": [
    `{"id": "set-proto", ${base}, "settings": {"a": {"b": {"__proto__": {"polluted": true}}}}}`,
    /^"settings\.a\.b\.__proto__": the key/,
  ],
  "settings-constructor": [
    `{"id": "set-ctor", ${base}, "settings": {"constructor": {"prototype": {"x": 1}}}}`,
    /^"settings\.constructor": the key/,
  ],
  "permissions-proto": [
    `{"id": "perm-proto", ${base}, "permissions": {"__proto__": ["/"]}}`,
    /^"permissions\.__proto__": the key/,
  ],
  "grant-file-host": [
    `{"id": "grant-host", ${base}, "permissions": {"read": ["file://evil/etc"]}}`,
    /^"permissions\.read\.0": "file:\/\/evil\/etc" names the host "evil"/,
  ],
  "grant-pct-slash": [
    `{"id": "grant-slash", ${base}, "permissions": {"read": ["..%2F..%2Fetc"]}}`,
    /^"permissions\.read\.0": .* percent-encoded/,
  ],
  "grant-pct-dots": [
    `{"id": "grant-dots", ${base}, "permissions": {"write": ["file:///tmp/%2e%2e/etc"]}}`,
    /^"permissions\.write\.0": .* percent-encoded/,
  ],
  "grant-nul": [
    `{"id": "grant-nul", ${base}, "permissions": {"read": ["data\\u0000/../../etc"]}}`,
    /^"permissions\.read\.0": must not contain a NUL byte/,
  ],
  "env-nul": [
    `{"id": "env-nul", ${base}, "permissions": {"env": ["HOME\\u0000"]}}`,
    /^"permissions\.env\.0": must not contain a NUL byte/,
  ],
};

async function writeHostile(dir: string): Promise<void> {
  for (const [folder, [text]] of Object.entries(HOSTILE)) {
    await Deno.mkdir(join(dir, folder), { recursive: true });
    await Deno.writeTextFile(join(dir, folder, "plugin.jsonc"), text);
    await Deno.writeTextFile(
      join(dir, folder, "mod.ts"),
      `export default { methods: { ping: () => "bad" } };`,
    );
  }
}

/** Each hostile folder's message holds its located error. */
function assertLocated(dir: string, failures: readonly { dir: string; message: string }[]): void {
  for (const [folder, [, why]] of Object.entries(HOSTILE)) {
    const f = failures.find((x) => x.dir === join(dir, folder));
    assert.ok(f, `${folder} is reported`);
    const file = join(dir, folder, "plugin.jsonc");
    const located = f.message.split(/(?:: |; )(?=\/)/).find((part) => part.startsWith(`${file}:1:`));
    assert.ok(located, `${folder}: ${f.message}`);
    assert.match(located.replace(/^[^ ]*:1:\d+: /, ""), why, `${folder}: ${f.message}`);
  }
}

Deno.test("manifest shapes: a host with hostile manifests starts, and only they fail", async () => {
  let dir = "";
  await using h = await attackHost({}, {
    prepare: async (root) => {
      dir = join(root, "plugins");
      await writeHostile(dir);
    },
    // Config keys that are names of Object.prototype must not confuse the config either.
    config: {
      Plugins: { constructor: { Enabled: true } },
      PluginSecurity: { constructor: {}, tostring: {} },
    },
  });
  await h.healthy();
  assert.deepEqual(h.host.getPlugins().map((p) => p.id), [INNOCENT], "only the good plugin was set up");
  assertLocated(dir, h.host.getDiscoveryFailures());
  assert.equal(({} as Record<string, unknown>).polluted, undefined, "no prototype was touched");
});

Deno.test("manifest shapes: discoverPlugins() and `discover DIR --json` report each one located", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_shapes_" }));
  try {
    await writeHostile(root);
    const results = await discoverPlugins(root);
    assert.equal(results.length, Object.keys(HOSTILE).length);
    assertLocated(root, results.map((r) => ({ dir: r.dir, message: r.ok ? "ok" : r.error.message })));
    const cli = new URL("../../src/cli/cli.ts", import.meta.url).pathname;
    const out = await denoRun([
      "run",
      "-A",
      "--no-prompt",
      "--config",
      CONFIG,
      cli,
      "discover",
      root,
      "--json",
    ]);
    assert.equal(out.code, 1, out.stderr);
    const listed = JSON.parse(out.stdout) as { status: string; dir: string; error: { message: string } }[];
    assert.ok(listed.every((r) => r.status === "failed"));
    assertLocated(root, listed.map((r) => ({ dir: r.dir, message: r.error.message })));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("manifest shapes: a deeply nested host configuration is a located ConfigError, not a stack overflow", () => {
  const text = `{\n  "Plugins": { "my.plugin": { "Settings": { "a": ${deep(100_000)} } } }\n}`;
  assert.throws(
    () => parseConfig(text, "host.jsonc"),
    (e) => e instanceof ConfigError && /host\.jsonc:2:\d+: nested deeper than 64 levels/.test(e.message),
  );
});
