import assert from "node:assert/strict";
import { join } from "node:path";
import { type Diagnostic, formatDiagnostic, ManifestError } from "../src/errors.ts";
import { MANIFEST_FILES, parseManifest } from "../src/manifest/manifest.ts";
import { loadPluginFolder } from "../src/discovery/plugin_folder.ts";
import { offsetToLineColumn, parseJsonc } from "../src/_common/jsonc.ts";

const FILE = "plugins/x/plugin.jsonc";

// The example of CONTRACT §1, verbatim.
const CONTRACT_EXAMPLE = `// plugins/hello/plugin.jsonc   (JSONC: comments and trailing commas allowed)
{
  "id": "hello.world",            // required; lowercase letters, digits, '.', '-' ; at most 128 chars
  "name": "Hello World",          // required
  "version": "1.2.0",             // required; semver
  "description": "Says hello",
  "author": "Jane Doe",
  "entry": "mod.ts",              // default "mod.ts"; must stay inside the plugin folder
  "capabilities": ["ComputeBackend", "HotReloadable"],
  "provides": { "compute.custom": "1.0.0" },      // capability id -> version of it that this plugin offers
  "dependencies": { "storage.kv": "^2.0.0" },     // plugin id -> semver range
  "permissions": {                                // what the plugin asks for; the host config decides
    "read": ["./assets"], "write": [], "net": ["api.example.com:443"], "env": ["MY_VAR"]
  },
  "settings": { "greeting": "hello" }             // defaults, overridden by the host config
}
`;

const CONTRACT_MANIFEST = {
  id: "hello.world",
  name: "Hello World",
  version: "1.2.0",
  description: "Says hello",
  author: "Jane Doe",
  entry: "mod.ts",
  capabilities: ["ComputeBackend", "HotReloadable"],
  provides: { "compute.custom": "1.0.0" },
  dependencies: { "storage.kv": "^2.0.0" },
  permissions: { read: ["./assets"], write: [], net: ["api.example.com:443"], env: ["MY_VAR"] },
  settings: { greeting: "hello" },
  idempotent: [],
};

/** The diagnostics `parseManifest` throws for `text` (fails the test if it does not throw). */
function diagnosticsOf(text: string, file = FILE): readonly Diagnostic[] {
  try {
    parseManifest(text, file);
  } catch (e) {
    assert.ok(e instanceof ManifestError);
    assert.equal(e.code, "MANIFEST_INVALID");
    return e.diagnostics;
  }
  assert.fail("parseManifest accepted an invalid manifest");
}

const manifest = (...lines: string[]): string => `{\n${lines.join("\n")}\n}\n`;
const BASE = ['  "id": "x",', '  "name": "X",', '  "version": "1.0.0",'];

Deno.test("parseManifest() accepts the contract example verbatim", () => {
  assert.deepEqual(parseManifest(CONTRACT_EXAMPLE, FILE), CONTRACT_MANIFEST);
});

Deno.test("parseManifest() accepts trailing commas", () => {
  const text = CONTRACT_EXAMPLE
    .replace('"env": ["MY_VAR"]', '"env": ["MY_VAR",],')
    .replace('"hello" }', '"hello", },');
  assert.deepEqual(parseManifest(text, FILE), CONTRACT_MANIFEST);
});

Deno.test("parseManifest() fills in defaults and ignores $schema", () => {
  const m = parseManifest(manifest('  "$schema": "./schema.json",', ...BASE), FILE);
  assert.deepEqual(m, {
    id: "x",
    name: "X",
    version: "1.0.0",
    entry: "mod.ts",
    capabilities: [],
    provides: {},
    dependencies: {},
    permissions: { read: [], write: [], net: [], env: [] },
    settings: {},
    idempotent: [],
  });
});

Deno.test("parseManifest() points each missing required field at the object", () => {
  for (const [i, field] of ["id", "name", "version"].entries()) {
    const lines = BASE.filter((_, j) => j !== i);
    const text = `// a comment first\n  ${manifest(...lines)}`;
    assert.deepEqual(diagnosticsOf(text), [
      { file: FILE, line: 2, column: 3, field, message: `manifest has no "${field}"` },
    ]);
  }
});

Deno.test("parseManifest() rejects bad ids", () => {
  for (const id of ["Hello", "-x", ".x", "a_b", "", "a".repeat(129)]) {
    const [d, ...rest] = diagnosticsOf(manifest(`  "id": ${JSON.stringify(id)},`, ...BASE.slice(1)));
    assert.equal(rest.length, 0, id);
    assert.deepEqual([d.line, d.column, d.field], [2, 9, "id"]);
  }
  const [d] = diagnosticsOf(manifest('  "id": "Hello",', ...BASE.slice(1)));
  assert.equal(d.message, `"Hello" is not a plugin id (lowercase letters, digits, '.' and '-')`);
  assert.ok(parseManifest(manifest(`  "id": "${"a".repeat(128)}",`, ...BASE.slice(1)), FILE));
});

Deno.test("parseManifest() rejects a bad version with file, line, column and field", () => {
  const text = manifest(...BASE.slice(0, 2), '  "version": "1.x",');
  try {
    parseManifest(text, FILE);
    assert.fail("accepted");
  } catch (e) {
    assert.ok(e instanceof ManifestError);
    assert.equal(
      e.message,
      `Cannot load plugin "x": plugins/x/plugin.jsonc:4:14: "version": "1.x" is not a semver version`,
    );
  }
  for (const version of ["v1.0.0", "1.0", " 1.0.0"]) {
    const [d] = diagnosticsOf(manifest(...BASE.slice(0, 2), `  "version": ${JSON.stringify(version)},`));
    assert.equal(
      formatDiagnostic(d),
      `${FILE}:4:14: "version": ${JSON.stringify(version)} is not a semver version`,
    );
  }
});

Deno.test("parseManifest() rejects bad dependency ranges and ids, and bad provided versions", () => {
  const text = manifest(
    ...BASE,
    '  "dependencies": { "storage.kv": "^2.0.0", "other": "latest", "Bad_Id": "1" },',
    '  "provides": { "compute.custom": "one" },',
  );
  assert.deepEqual(diagnosticsOf(text), [
    {
      file: FILE,
      line: 5,
      column: 54,
      field: "dependencies.other",
      message: '"latest" is not a semver range',
    },
    {
      file: FILE,
      line: 5,
      column: 64,
      field: "dependencies.Bad_Id",
      message: `"Bad_Id" is not a plugin id (lowercase letters, digits, '.' and '-')`,
    },
    {
      file: FILE,
      line: 6,
      column: 35,
      field: "provides.compute.custom",
      message: '"one" is not a semver version',
    },
  ]);
});

Deno.test("parseManifest() rejects unknown capabilities, with a hint when one is close", () => {
  const text = manifest(...BASE, '  "capabilities": ["Scalable", "computebackend", "Teleport"],');
  assert.deepEqual(diagnosticsOf(text), [
    {
      file: FILE,
      line: 5,
      column: 32,
      field: "capabilities.1",
      message: '"computebackend" is not a capability; did you mean "ComputeBackend"?',
    },
    {
      file: FILE,
      line: 5,
      column: 50,
      field: "capabilities.2",
      message: '"Teleport" is not a capability (one of ComputeBackend, StorageProvider, NetworkProvider, ' +
        "SecurityProvider, MonitoringProvider, HotReloadable, Scalable, Clusterable)",
    },
  ]);
});

Deno.test("parseManifest() rejects unknown keys, with a hint when a known key is close", () => {
  const text = manifest(
    ...BASE,
    '  "dependecies": {},',
    '  "colour": 1,',
    '  "permissions": { "reed": [] },',
  );
  assert.deepEqual(diagnosticsOf(text), [
    {
      file: FILE,
      line: 5,
      column: 3,
      field: "dependecies",
      message: 'unknown key "dependecies"; did you mean "dependencies"?',
    },
    { file: FILE, line: 6, column: 3, field: "colour", message: 'unknown key "colour"' },
    {
      file: FILE,
      line: 7,
      column: 20,
      field: "permissions.reed",
      message: 'unknown key "reed"; did you mean "read"?',
    },
  ]);
});

Deno.test("parseManifest() reads idempotent: method names, duplicates removed; bad values located", () => {
  const m = parseManifest(manifest(...BASE, '  "idempotent": ["get", "list", "get"],'), FILE);
  assert.deepEqual(m.idempotent, ["get", "list"]);
  assert.deepEqual(parseManifest(manifest(...BASE), FILE).idempotent, []);
  assert.deepEqual(
    diagnosticsOf(manifest(...BASE, '  "idempotent": ["get", "", 3, "  "],')).map(formatDiagnostic),
    [
      `${FILE}:5:25: "idempotent.1": must not be empty`,
      `${FILE}:5:29: "idempotent.2": expected a string, not a number`,
      `${FILE}:5:32: "idempotent.3": must not be empty`,
    ],
  );
  assert.deepEqual(diagnosticsOf(manifest(...BASE, '  "idempotent": "get",')).map(formatDiagnostic), [
    `${FILE}:5:17: "idempotent": expected an array, not a string`,
  ]);
  // A misspelling gets the usual hint.
  assert.match(
    diagnosticsOf(manifest(...BASE, '  "idempotnet": [],'))[0].message,
    /did you mean "idempotent"/,
  );
});

Deno.test("parseManifest() reports wrong types and duplicate keys", () => {
  const text = manifest(...BASE, '  "settings": [],', '  "permissions": { "net": "x" },', '  "name": "Y",');
  assert.deepEqual(diagnosticsOf(text).map(formatDiagnostic), [
    `${FILE}:5:15: "settings": expected an object, not an array`,
    `${FILE}:6:27: "permissions.net": expected an array, not a string`,
    `${FILE}:7:3: "name": duplicate key "name"`,
  ]);
  assert.deepEqual(diagnosticsOf("[]").map(formatDiagnostic), [
    `${FILE}:1:1: the manifest must be a JSON object, not an array`,
  ]);
});

Deno.test("parseManifest() reports every syntax error with its exact line and column", () => {
  const text = '{\n  "id": "x",\n  "name": "X"\n  "version": "1.0.0",\n  "entry": mod.ts\n}\n';
  assert.deepEqual(diagnosticsOf(text).map(formatDiagnostic), [
    `${FILE}:4:3: syntax error: expected ',' (CommaExpected)`,
    `${FILE}:5:12: syntax error: unexpected character (InvalidSymbol)`,
    // jsonc-parser's recovery: after the bad symbol, the object's end is taken for the missing value.
    `${FILE}:6:1: syntax error: expected a value (ValueExpected)`,
  ]);
  assert.deepEqual(diagnosticsOf("").map(formatDiagnostic), [
    `${FILE}:1:1: syntax error: expected a value (ValueExpected)`,
  ]);
});

Deno.test("parseManifest() rejects entries that escape the folder or are not modules", () => {
  const cases: [string, string][] = [
    ["../outside.ts", '"../outside.ts" points outside the plugin folder'],
    ["lib/../../x.ts", '"lib/../../x.ts" points outside the plugin folder'],
    ["/etc/mod.ts", '"/etc/mod.ts" is absolute; the entry must be a path relative to the plugin folder'],
    ["C:\\mod.ts", '"C:\\\\mod.ts" is absolute; the entry must be a path relative to the plugin folder'],
    [
      "https://example.com/mod.ts",
      '"https://example.com/mod.ts" is absolute; the entry must be a path ' +
      "relative to the plugin folder",
    ],
    ["mod.py", '"mod.py" is not a module (.ts, .js, .mts, .mjs, .tsx, .jsx)'],
    ["", "must not be empty"],
  ];
  for (const [entry, message] of cases) {
    const text = manifest(...BASE, `  "entry": ${JSON.stringify(entry)},`);
    assert.deepEqual(diagnosticsOf(text), [{ file: FILE, line: 5, column: 12, field: "entry", message }]);
  }
  assert.equal(
    parseManifest(manifest(...BASE, '  "entry": "./lib/../main.mjs",'), FILE).entry,
    "./lib/../main.mjs",
  );
});

Deno.test("parseManifest() never lets a __proto__ key change a prototype", () => {
  const text = manifest(
    ...BASE,
    '  "settings": { "__proto__": { "polluted": true }, "a": { "__proto__": 1 } },',
  );
  // Refused wherever it is (tests/security/manifest_shapes_test.ts has the other Object.prototype names).
  assert.throws(
    () => parseManifest(text, FILE),
    (e) =>
      e instanceof ManifestError &&
      e.diagnostics.map((d) => d.field).join() === "settings.__proto__,settings.a.__proto__",
  );
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("parseJsonc() and offsetToLineColumn() count lines of every ending", () => {
  assert.deepEqual(offsetToLineColumn("a\r\nb\rc\nd", 7), { line: 4, column: 1 });
  assert.deepEqual(offsetToLineColumn("ab", 1), { line: 1, column: 2 });
  const { value, diagnostics } = parseJsonc('\uFEFF{ "a": [1,], /* c */ }', "f.jsonc");
  assert.deepEqual([value, diagnostics], [{ a: [1] }, []]);
});

// --- plugin folders on disk ----------------------------------------------------------------------------

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "manifest_test_" }));
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

async function folderDiagnostics(dir: string): Promise<string[]> {
  const error = await loadPluginFolder(dir).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof ManifestError, "loadPluginFolder accepted an invalid folder");
  return error.diagnostics.map(formatDiagnostic);
}

const MINIMAL = manifest(...BASE);

Deno.test("loadPluginFolder() resolves the folder, manifest and entry", async () => {
  await withTempDir(async (root) => {
    const dir = join(root, "hello");
    await writeFiles(dir, {
      "plugin.jsonc": CONTRACT_EXAMPLE,
      "mod.ts": "export default {};",
      "assets/a.txt": "",
    });
    await Deno.symlink("assets/a.txt", join(dir, "inner-link"));
    const plugin = await loadPluginFolder(dir);
    assert.deepEqual(plugin, {
      dir,
      manifestPath: join(dir, "plugin.jsonc"),
      entryPath: join(dir, "mod.ts"),
      manifest: CONTRACT_MANIFEST,
    });
  });
});

Deno.test("loadPluginFolder() falls back to plugin.json and refuses two manifests", async () => {
  await withTempDir(async (root) => {
    await writeFiles(root, { "plugin.json": MINIMAL, "mod.ts": "" });
    assert.equal((await loadPluginFolder(root)).manifestPath, join(root, MANIFEST_FILES[1]));
    await writeFiles(root, { "plugin.jsonc": MINIMAL });
    assert.deepEqual(await folderDiagnostics(root), [
      `${join(root, "plugin.json")}: plugin.jsonc exists too; keep only one manifest`,
    ]);
  });
});

Deno.test("loadPluginFolder() reports a missing folder, manifest or entry", async () => {
  await withTempDir(async (root) => {
    assert.deepEqual(await folderDiagnostics(join(root, "nope")), [
      `${join(root, "nope")}: the plugin folder does not exist`,
    ]);
    assert.deepEqual(await folderDiagnostics(root), [`${root}: has no plugin.jsonc or plugin.json`]);
    await writeFiles(root, { "plugin.jsonc": MINIMAL });
    const file = join(root, "plugin.jsonc");
    assert.deepEqual(await folderDiagnostics(root), [`${file}: "entry": "mod.ts" does not exist`]);
    await writeFiles(root, { "plugin.jsonc": manifest(...BASE, '  "entry": "lib.ts",'), "lib.ts/x": "" });
    assert.deepEqual(await folderDiagnostics(root), [`${file}:5:12: "entry": "lib.ts" is not a file`]);
  });
});

Deno.test("loadPluginFolder() rejects an entry symlink that points outside the folder", async () => {
  await withTempDir(async (root) => {
    const dir = join(root, "p");
    await writeFiles(root, {
      "outside.ts": "",
      "p/plugin.jsonc": manifest(...BASE, '  "entry": "main.ts",'),
    });
    await Deno.symlink(join(root, "outside.ts"), join(dir, "main.ts"));
    assert.deepEqual(await folderDiagnostics(dir), [
      `${join(dir, "plugin.jsonc")}:5:12: "entry": "main.ts" resolves to "${
        join(root, "outside.ts")
      }", outside the plugin folder`,
    ]);
  });
});

Deno.test("loadPluginFolder() rejects symlinks anywhere in the folder that point outside or nowhere", async () => {
  await withTempDir(async (root) => {
    const dir = join(root, "p");
    await writeFiles(root, {
      "secret/key": "",
      "p/plugin.jsonc": MINIMAL,
      "p/mod.ts": "",
      "p/a/b/c.txt": "",
    });
    await Deno.symlink(join(root, "secret"), join(dir, "data"));
    await Deno.symlink("../../../secret/key", join(dir, "a", "b", "key"));
    await Deno.symlink("missing", join(dir, "a", "dangling"));
    const found = await folderDiagnostics(dir);
    assert.deepEqual(found.sort(), [
      `${join(dir, "a/b/key")}: symlink "a/b/key" points outside the plugin folder`,
      `${join(dir, "a/dangling")}: symlink "a/dangling" points to nothing`,
      `${join(dir, "data")}: symlink "data" points outside the plugin folder`,
    ]);
  });
});

Deno.test("loadPluginFolder() names the plugin by id, else by folder, and reports all problems at once", async () => {
  await withTempDir(async (root) => {
    const dir = join(root, "folder");
    await writeFiles(dir, { "plugin.jsonc": manifest(...BASE.slice(0, 2), '  "version": "x",') });
    await Deno.symlink("/", join(dir, "root"));
    const error = await loadPluginFolder(dir).catch((e: unknown) => e);
    assert.ok(error instanceof ManifestError);
    assert.match(
      error.message,
      /^Cannot load plugin "x": .*plugin\.jsonc:4:14: "version": "x" is not a semver/,
    );
    assert.equal(error.diagnostics.length, 2);
    await writeFiles(dir, { "plugin.jsonc": "{" });
    const error2 = await loadPluginFolder(dir).catch((e: unknown) => e);
    assert.ok(error2 instanceof ManifestError);
    assert.match(error2.message, /^Cannot load plugin "folder": /);
  });
});
