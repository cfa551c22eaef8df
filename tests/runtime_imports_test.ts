// Node's compatibility layer costs a plugin's Worker 1.3-3.3 MiB and several ms per module (BENCHMARKS.md,
// idle memory): the runtime a Worker starts with must not evaluate any of it, and links as little as it can
// (an `import defer` of a module that imports node:fs links Node's graph: ~1 ms a Worker). Only
// _node_builtins.ts is linked; the node:* wrappers the import map sends plugins to are outside the runtime's
// graph, and the host lets every plugin read their files.
import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import { NODE_WRAPPERS } from "../src/runtime/_node_wrappers.ts";
import { WRAPPER_READS } from "../src/isolation/_wrapper_reads.ts";

interface Graph {
  readonly modules: readonly {
    readonly specifier: string;
    readonly dependencies?: readonly {
      readonly code?: { readonly specifier?: string };
      readonly isDynamic?: boolean;
    }[];
  }[];
}

Deno.test("a plugin Worker's runtime imports nothing of Node's until the plugin does", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "src/runtime/plugin_main.ts"],
    cwd: new URL("..", import.meta.url),
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as Graph;
  const byUrl = new Map(graph.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const dynamic: string[] = [];
  const pending = [graph.modules.find((m) => m.specifier.endsWith("/src/runtime/plugin_main.ts"))!.specifier];
  for (let url = pending.pop(); url !== undefined; url = pending.pop()) {
    // _node_builtins.ts is linked deferred: evaluated only once a plugin has loaded Node's layer.
    if (seen.has(url) || url.endsWith("/src/runtime/_node_builtins.ts")) continue;
    seen.add(url);
    for (const d of byUrl.get(url)?.dependencies ?? []) {
      if (!d.code?.specifier) continue;
      if (d.isDynamic) dynamic.push(d.code.specifier); // loaded only when that code runs
      else pending.push(d.code.specifier);
    }
  }
  const node = [...seen].filter((url) => url.startsWith("node:"));
  assert.deepEqual(node, [], `loaded by every plugin Worker: ${node.join(", ")}`);
  assert.ok(seen.size > 5, `walked ${seen.size} modules`);
  const wrappers = Object.values(NODE_WRAPPERS).filter((url) => seen.has(url));
  assert.deepEqual(wrappers, [], "no node:* wrapper is in the runtime's graph");
  // The one exception: _call_context.ts's fallback for a Deno without core.AsyncVariable.
  // node:module: the import hook's registerHooks, loaded only for a plugin whose imports the host's scan
  // could not settle (src/runtime/_import_hook.ts).
  assert.deepEqual(dynamic.filter((s) => s.startsWith("node:")).sort(), ["node:async_hooks", "node:module"]);
});

Deno.test("the node:* wrappers are the import map's, and every plugin may read exactly their files", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url))) as {
    imports: Record<string, string>;
  };
  const mapped = Object.entries(config.imports)
    .filter(([k]) => k.startsWith("node:"))
    .map(([k, v]) => [k.slice(5), new URL(v, new URL("../", import.meta.url)).href]);
  assert.deepEqual(Object.fromEntries(mapped), { ...NODE_WRAPPERS });
  assert.deepEqual(
    [...WRAPPER_READS].sort(),
    Object.values(NODE_WRAPPERS).map((u) => fromFileUrl(u)).sort(),
  );
});
