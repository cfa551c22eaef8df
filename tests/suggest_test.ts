// One "did you mean" rule for manifests and configs (src/_common/suggest.ts): case, "_" and "-" ignored, a
// distance of at most a third of the word (at least 2), nothing for a word that is far from every candidate.
import assert from "node:assert/strict";
import { suggest } from "../src/_common/suggest.ts";

Deno.test("suggest: a likely typo gets the closest name, a far word none", () => {
  assert.equal(suggest("dependecies", ["dependencies", "provides"]), "dependencies");
  assert.equal(suggest("plugins_directory", ["PluginsDirectory", "EnableHotReload"]), "PluginsDirectory");
  assert.equal(suggest("nmae", ["name", "version"]), "name");
  assert.equal(suggest("HOTRELOAD", ["EnableHotReload"]), undefined);
  assert.equal(suggest("zzz", ["name"]), undefined);
});
