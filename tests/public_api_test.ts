// The public API is what docs/public_api.txt lists: every name each entry of deno.json's "exports" offers, as
// `deno doc` sees it. A move inside src/ that drops or renames one fails here; a new name is added to the
// list on purpose (the command is in scripts/public_names.ts).
import assert from "node:assert/strict";

Deno.test("public API: every export entry offers exactly the names docs/public_api.txt lists", async () => {
  const root = new URL("..", import.meta.url);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-run", "scripts/public_names.ts"],
    cwd: root,
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const now = new TextDecoder().decode(out.stdout).trim().split("\n");
  const listed = (await Deno.readTextFile(new URL("docs/public_api.txt", root))).trim().split("\n");
  assert.deepEqual(listed.filter((l) => !now.includes(l)), [], "names no longer offered");
  assert.deepEqual(now.filter((l) => !listed.includes(l)), [], "new names not yet in docs/public_api.txt");
});
