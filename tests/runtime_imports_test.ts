// Node's compatibility layer costs a plugin's Worker 1.3-3.3 MiB and several ms per module (BENCHMARKS.md,
// idle memory): the runtime a Worker starts with must not import any of it. Only node_process.ts (linked with
// `import defer`, evaluated when a plugin imports node:process) may name it.
import assert from "node:assert/strict";

interface Graph {
  readonly modules: readonly {
    readonly specifier: string;
    readonly dependencies?: readonly {
      readonly code?: { readonly specifier?: string };
      readonly isDynamic?: boolean;
    }[];
  }[];
}

// Imported with `import defer`: linked with the runtime, evaluated only once a plugin has loaded Node's layer.
const DEFERRED = [
  "node_process.ts",
  "node_v8.ts",
  "node_vm.ts",
  "node_module.ts",
  "_node_builtins.ts",
  "node_fs.ts",
  "node_fs_promises.ts",
];

Deno.test("a plugin Worker's runtime imports nothing of Node's until the plugin does", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "src/runtime/plugin_main.ts"],
    cwd: new URL("..", import.meta.url),
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as Graph;
  const byUrl = new Map(graph.modules.map((m) => [m.specifier, m]));
  // Walk from the entry, not into the deferred wrapper: what is left is what every Worker loads.
  const seen = new Set<string>();
  const dynamic: string[] = [];
  const pending = [graph.modules.find((m) => m.specifier.endsWith("/src/runtime/plugin_main.ts"))!.specifier];
  for (let url = pending.pop(); url !== undefined; url = pending.pop()) {
    if (seen.has(url) || DEFERRED.some((file) => url.endsWith(`/src/runtime/${file}`))) continue;
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
  // The one exception: _call_context.ts's fallback for a Deno without core.AsyncVariable.
  // node:module: the import hook's registerHooks, loaded only for a plugin whose imports the host's scan
  // could not settle (src/runtime/_import_hook.ts).
  assert.deepEqual(dynamic.filter((s) => s.startsWith("node:")).sort(), ["node:async_hooks", "node:module"]);
});
