import assert from "node:assert/strict";
import { join } from "node:path";
import { discoverPlugins, type DiscoveryResult } from "../src/discovery/discovery.ts";
import { formatDiagnostic, ManifestError, PluginHostError } from "../src/errors.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "discovery_test_" }));
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await Deno.mkdir(join(dir, name, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, name), text);
  }
}

const manifest = (id: string, extra = ""): string =>
  `{\n  "id": "${id}",\n  "name": "Plugin ${id}",\n  "version": "1.0.0",${extra}\n}\n`;

/** A plugin folder `name` with a valid manifest of `id` and an entry module. */
const plugin = (name: string, id: string): Record<string, string> => ({
  [`${name}/plugin.jsonc`]: manifest(id),
  [`${name}/mod.ts`]: "export default {};\n",
});

const summary = (results: DiscoveryResult[]): string[] =>
  results.map((r) => r.ok ? `ok ${r.plugin.manifest.id}` : `failed ${r.id ?? "?"} (${r.error.code})`);

Deno.test("discoverPlugins() finds every plugin folder, sorted by folder name", async () => {
  await withTempDir(async (root) => {
    await writeFiles(root, {
      ...plugin("b", "beta"),
      ...plugin("a", "alpha"),
      ...plugin("C", "gamma"),
      ...plugin(".hidden", "hidden"),
      "json/plugin.json": manifest("json.one"),
      "json/mod.ts": "",
      "not-a-plugin/readme.md": "",
      "loose-file.txt": "",
    });
    const results = await discoverPlugins(root);
    assert.deepEqual(summary(results), ["ok gamma", "ok alpha", "ok beta", "ok json.one"]);
    const [first] = results;
    assert.ok(first.ok);
    assert.equal(first.dir, join(root, "C"));
    assert.equal(first.plugin.entryPath, join(root, "C", "mod.ts"));
    const json = results[3];
    assert.ok(json.ok);
    assert.equal(json.plugin.manifestPath, join(root, "json", "plugin.json"));
  });
});

Deno.test("discoverPlugins() reports a bad plugin without hiding the good ones", async () => {
  await withTempDir(async (root) => {
    await writeFiles(root, {
      ...plugin("a", "alpha"),
      "b/plugin.jsonc": manifest("broken", '\n  "capabilities": ["Teleport"],'),
      "b/mod.ts": "",
      "c/plugin.jsonc": '{\n  "id": "syntax"\n  "name": "x",\n}\n',
      ...plugin("d", "delta"),
      "e/plugin.jsonc": manifest("escape", '\n  "entry": "../a/mod.ts",'),
    });
    const results = await discoverPlugins(root);
    assert.deepEqual(summary(results), [
      "ok alpha",
      "failed broken (MANIFEST_INVALID)",
      "failed ? (MANIFEST_INVALID)",
      "ok delta",
      "failed escape (MANIFEST_INVALID)",
    ]);
    const messages = results.map((r) =>
      r.ok ? [] : (r.error as ManifestError).diagnostics.map(formatDiagnostic)
    );
    assert.deepEqual(messages, [
      [],
      [
        `${join(root, "b", "plugin.jsonc")}:5:20: "capabilities.0": "Teleport" is not a capability (one of ` +
        "ComputeBackend, StorageProvider, NetworkProvider, SecurityProvider, MonitoringProvider, HotReloadable, " +
        "Scalable, Clusterable)",
      ],
      [`${join(root, "c", "plugin.jsonc")}:3:3: syntax error: expected ',' (CommaExpected)`],
      [],
      [`${join(root, "e", "plugin.jsonc")}:5:12: "entry": "../a/mod.ts" points outside the plugin folder`],
    ]);
    const syntax = results[2];
    assert.ok(!syntax.ok && syntax.error instanceof ManifestError);
    assert.equal(syntax.dir, join(root, "c"));
    assert.match(syntax.error.message, /^Cannot load plugin "c": .*plugin\.jsonc:3:3: /);
  });
});

Deno.test("discoverPlugins() fails every folder that declares the same id, not all but the first", async () => {
  await withTempDir(async (root) => {
    await writeFiles(root, {
      ...plugin("one", "same"),
      ...plugin("three", "same"),
      ...plugin("two", "same"),
    });
    const results = await discoverPlugins(root);
    assert.deepEqual(summary(results), [
      "failed same (DUPLICATE_ID)",
      "failed same (DUPLICATE_ID)",
      "failed same (DUPLICATE_ID)",
    ]);
    const [one, three, two] = results;
    assert.ok(!one.ok && !three.ok && !two.ok);
    assert.ok(three.error instanceof PluginHostError);
    assert.equal(three.error.pluginId, "same");
    // Located at its own manifest's id, naming the other folders with theirs.
    assert.match(three.error.message, new RegExp(`^${join(root, "three", "plugin.jsonc")}:2:9: "id": `));
    for (const other of ["one", "two"]) {
      assert.ok(
        three.error.message.includes(`"${join(root, other)}" (${join(root, other, "plugin.jsonc")}:2:9)`),
      );
    }
    assert.equal(two.dir, join(root, "two"));
  });
});

Deno.test("discoverPlugins() does not count a failed plugin's id as taken", async () => {
  await withTempDir(async (root) => {
    await writeFiles(root, {
      "a/plugin.jsonc": manifest("same", '\n  "version": "nope",'),
      ...plugin("b", "same"),
    });
    assert.deepEqual(summary(await discoverPlugins(root)), ["failed same (MANIFEST_INVALID)", "ok same"]);
  });
});

Deno.test("discoverPlugins() reports symlinks that point out of a plugin folder", async () => {
  await withTempDir(async (root) => {
    await writeFiles(root, {
      ...plugin("plugins/a", "alpha"),
      ...plugin("plugins/b", "beta"),
      "secret.txt": "",
    });
    await Deno.symlink(join(root, "secret.txt"), join(root, "plugins", "b", "data"));
    const results = await discoverPlugins(join(root, "plugins"));
    assert.deepEqual(summary(results), ["ok alpha", "failed beta (MANIFEST_INVALID)"]);
    const failed = results[1];
    assert.ok(!failed.ok && failed.error instanceof ManifestError);
    assert.deepEqual(failed.error.diagnostics, [
      {
        file: join(root, "plugins", "b", "data"),
        message: 'symlink "data" points outside the plugin folder',
      },
    ]);
  });
});

Deno.test("discoverPlugins() throws DISCOVERY_FAILED for a folder that does not exist or is a file", async () => {
  await withTempDir(async (root) => {
    await writeFiles(root, { "file.txt": "" });
    for (const [dir, reason] of [["missing", "does not exist"], ["file.txt", "is not a folder"]]) {
      const error = await discoverPlugins(join(root, dir)).catch((e: unknown) => e);
      assert.ok(error instanceof PluginHostError);
      assert.equal(error.code, "DISCOVERY_FAILED");
      assert.equal(error.message, `The plugins folder "${join(root, dir)}" ${reason}`);
    }
    assert.deepEqual(await discoverPlugins(root), []);
  });
});

Deno.test("discoverPlugins() checks folders with a bounded concurrency", async () => {
  await withTempDir(async (root) => {
    const files = Array.from({ length: 12 }, (_, i) => plugin(`p${String(i).padStart(2, "0")}`, `p${i}`));
    await writeFiles(root, Object.assign({}, ...files));
    const results = await discoverPlugins(root, { concurrency: 3 });
    assert.deepEqual(summary(results), Array.from({ length: 12 }, (_, i) => `ok p${i}`));
  });
});
