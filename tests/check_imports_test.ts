// scripts/check_imports.ts, the layer and cycle check of `deno task check`, bites: on made-up graphs it finds a
// cycle closed by any edge and an import that points up or out of what the runtime may use.
import assert from "node:assert/strict";
import { cycles, upward } from "../scripts/check_imports.ts";

const src = new URL("../src/", import.meta.url).pathname;
const graph = (edges: [string, string][]): Map<string, Set<string>> => {
  const g = new Map<string, Set<string>>();
  for (const [a, b] of edges) {
    g.set(src + a, (g.get(src + a) ?? new Set()).add(src + b));
    if (!g.has(src + b)) g.set(src + b, new Set());
  }
  return g;
};

Deno.test("check_imports: a three-file cycle is found; a chain is not", () => {
  assert.deepEqual(cycles(graph([["host/a.ts", "host/b.ts"], ["host/b.ts", "host/c.ts"]])), []);
  const found = cycles(
    graph([["host/a.ts", "host/b.ts"], ["host/b.ts", "host/c.ts"], ["host/c.ts", "host/a.ts"]]),
  );
  assert.deepEqual(found, [["host/a.ts", "host/b.ts", "host/c.ts"].map((f) => src + f)]);
});

Deno.test("check_imports: an import up a layer, or from the runtime into the host, is refused", () => {
  assert.deepEqual(
    upward(graph([["host/host.ts", "plugin/plugin.ts"], ["plugin/plugin.ts", "rpc/endpoint.ts"]])),
    [],
  );
  assert.deepEqual(upward(graph([["plugin/plugin.ts", "host/types.ts"]])), [
    "src/plugin/plugin.ts -> src/host/types.ts: host is not below plugin",
  ]);
  assert.match(upward(graph([["runtime/plugin_main.ts", "_common/jsonc.ts"]]))[0], /runtime may import only/);
  assert.match(upward(graph([["newroom/x.ts", "errors.ts"]]))[0], /newroom is in no layer/);
});
