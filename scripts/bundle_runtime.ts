// Makes src/runtime/plugin_main.bundle.js: the runtime a direct worker starts, as one minified module (why, and
// when a worker loads the sources instead: src/isolation/_runtime_entry.ts). Run it after changing any file of
// the runtime's graph; tests/runtime_bundle_test.ts fails until then.
//   deno run --allow-read --allow-write --allow-run --allow-env scripts/bundle_runtime.ts [--check]
// --check writes nothing: exit 1 when the bundle is not what this script makes from the sources now.
import { sourcesLine } from "../src/isolation/_runtime_entry.ts";

const root = new URL("..", import.meta.url);
const src = new URL("src/", root);
const entry = new URL("src/runtime/plugin_main.ts", root);
const target = new URL("src/runtime/plugin_main.bundle.js", root);
/**
 * Loaded beside the bundle, not in it: the bundler cannot read `import defer` (_harden.ts says why it is one),
 * and the node:* wrappers must meet the runtime's own instance of the bridge (_node_bridge.ts says why).
 */
const BESIDE = ["./_node_builtins_deferred.ts", "./_node_bridge.ts"];

interface Info {
  readonly modules: readonly {
    readonly specifier: string;
    readonly dependencies?: readonly {
      readonly code?: { readonly specifier?: string };
      isDynamic?: boolean;
    }[];
  }[];
}

async function run(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args, cwd: root, stderr: "piped" }).output();
  if (!out.success) throw new Error(`deno ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/** The files under src/ the bundle holds: the entry's static graph of code imports, but those loaded beside it. */
async function sources(): Promise<string[]> {
  const info = JSON.parse(await run(["info", "--json", entry.pathname])) as Info;
  const byUrl = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const pending = [entry.href];
  for (let url = pending.pop(); url !== undefined; url = pending.pop()) {
    if (seen.has(url) || !url.startsWith(src.href) || BESIDE.some((b) => url.endsWith(b.slice(1)))) continue;
    seen.add(url);
    for (const d of byUrl.get(url)?.dependencies ?? []) {
      if (d.code?.specifier && !d.isDynamic) pending.push(d.code.specifier);
    }
  }
  return [...seen].map((url) => url.slice(src.href.length)).sort();
}

const out = await Deno.makeTempFile({ suffix: ".js" });
try {
  await run([
    "bundle",
    "--quiet",
    "--platform",
    "deno",
    "--minify",
    ...BESIDE.flatMap((b) => ["--external", b]),
    "--external",
    "node:*",
    "-o",
    out,
    entry.pathname,
  ]);
  const header = [
    "// deno-fmt-ignore-file",
    "// deno-lint-ignore-file",
    `// Generated from src/runtime/plugin_main.ts by scripts/bundle_runtime.ts (Deno ${Deno.version.deno}): do not edit.`,
    "// A worker starts it only while the sources below hash as they did (src/isolation/_runtime_entry.ts).",
    sourcesLine(await sources(), src),
  ].join("\n");
  const text = `${header}\n${await Deno.readTextFile(out)}`;
  if (Deno.args.includes("--check")) {
    const now = await Deno.readTextFile(target).catch(() => "");
    if (now !== text) {
      console.error("src/runtime/plugin_main.bundle.js is stale: run scripts/bundle_runtime.ts");
      Deno.exit(1);
    }
  } else {
    await Deno.writeTextFile(target, text);
    console.log(`wrote ${target.pathname} (${text.length} bytes)`);
  }
} finally {
  await Deno.remove(out);
}
