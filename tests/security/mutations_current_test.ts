// The mutation table of SECURITY.md stays a table of this tree: every mutation's edit still finds its text
// exactly once (scripts/security_mutations.ts --check), so a move or a rewrite cannot quietly retire one.
import assert from "node:assert/strict";
import { staleEdits } from "../../scripts/security_mutations.ts";

Deno.test("security mutations: every edit of every mutation still applies to this tree", async () => {
  assert.deepEqual(await staleEdits(), []);
});
