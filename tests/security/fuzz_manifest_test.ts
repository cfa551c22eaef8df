// Fuzzing the manifest parser with fast-check: arbitrary text, arbitrary JSON values, and valid manifests with
// one field replaced by anything. Every input either parses or throws a ManifestError whose every problem names
// the file, and the line and column (the parser always has the text), and the field when it is about one.
import assert from "node:assert/strict";
import fc from "fast-check";
import { ManifestError } from "../../mod.ts";
import { parseManifest } from "../../src/manifest/manifest.ts";
import { fuzz, fuzzText } from "./_fuzz.ts";

const FILE = "/plugins/fuzz/plugin.jsonc";
const VALID = {
  id: "fuzz.plugin",
  name: "Fuzz",
  version: "1.2.0",
  description: "d",
  author: "a",
  entry: "mod.ts",
  capabilities: ["ComputeBackend", "HotReloadable"],
  provides: { "compute.custom": "1.0.0" },
  dependencies: { "storage.kv": "^2.0.0" },
  permissions: { read: ["./assets"], write: [], net: ["api.example.com:443"], env: ["MY_VAR"] },
  settings: { greeting: "hello" },
};

function check(text: string): void {
  try {
    const m = parseManifest(text, FILE);
    assert.match(m.id, /^[a-z0-9][a-z0-9.-]*$/);
    assert.equal(typeof m.name, "string");
    assert.ok(!m.entry.startsWith("/") && !m.entry.split(/[\\/]/).includes(".."), m.entry);
  } catch (e) {
    if (!(e instanceof ManifestError)) {
      throw new Error(`not a ManifestError for ${JSON.stringify(text)}: ${e}`);
    }
    assert.match(e.message, /^Cannot load plugin "[^"]*": /);
    assert.ok(e.diagnostics.length > 0);
    for (const d of e.diagnostics) {
      assert.equal(d.file, FILE);
      assert.ok(Number.isInteger(d.line) && d.line! >= 1, `no line in ${JSON.stringify(d)} for ${text}`);
      assert.ok(Number.isInteger(d.column) && d.column! >= 1, JSON.stringify(d));
      assert.ok(d.message.length > 0);
    }
  }
}

// JSONC pieces, so random text reaches deep into the parser rather than failing at the first character.
const PIECES: readonly string[] = [
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  '"id"',
  '"name"',
  '"version"',
  '"entry"',
  '"permissions"',
  '"read"',
  '"..\\/x"',
  '"1.0.0"',
  '"a.b"',
  "null",
  "true",
  "1e999",
  "-0",
  "// c\n",
  "/* c */",
  "/*",
  '"\\u0000"',
  '"__proto__"',
  '"constructor"',
  "\n",
  "\r\n",
  "\u2028",
  " ",
  '"\\ud800"',
  "0x1",
  "'x'",
  "NaN",
];

Deno.test("fuzz: manifest text of any shape parses or names file:line:col", () => {
  fuzzText(PIECES, check);
});

Deno.test("fuzz: any JSON value as a manifest parses or names file:line:col", () => {
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => check(JSON.stringify(v))), fuzz(1500));
});

Deno.test("fuzz: a valid manifest with one field replaced by anything", () => {
  const keys = [...Object.keys(VALID), "unknown", "__proto__", "$schema", "optionalDependencies"];
  const value = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom("../../etc", "/abs.ts", "mod.txt", "", "HotReloadable", "UPPER", "a".repeat(200), "1.0"),
  );
  fc.assert(
    fc.property(fc.constantFrom(...keys), value, fc.boolean(), (key, v, pretty) => {
      const text = JSON.stringify({ ...VALID, [key]: v }, null, pretty ? 2 : 0);
      check(text);
      check(text.replace(/\}$/, ",}")); // JSONC's trailing comma
    }),
    fuzz(2000),
  );
});
