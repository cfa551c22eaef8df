// `deno task check` runs this: fails on any import cycle among src/'s files (type-only imports included, as
// `deno info` reports them) and on an import that points up a layer. The layers are the table below, bottom
// first: a file may import its own folder and any folder of a lower layer; README "Architecture" draws it.
//   deno run --allow-read --allow-run scripts/check_imports.ts
import { relative } from "node:path";

/** src/'s folders (and root files), bottom layer first; one layer may hold several that do not meet. */
export const LAYERS: readonly (readonly string[])[] = [
  ["_npm"],
  ["errors.ts"],
  ["_common"],
  ["plugin_api.ts", "rpc"],
  ["runtime"],
  ["manifest", "lifecycle", "logging"],
  ["config"],
  ["permissions"],
  ["isolation"],
  ["discovery"],
  ["trust", "health"],
  ["events"],
  ["plugin"],
  ["deps"],
  ["cluster"],
  ["host"],
  ["admin"],
  ["create.ts"],
  ["testing", "otel.ts"],
  ["cli"],
];

/** What a layer may not import although it is lower: the runtime runs inside a plugin's Worker. */
const ONLY: Readonly<Record<string, readonly string[]>> = {
  runtime: ["runtime", "rpc", "plugin_api.ts", "_npm", "errors.ts"],
  rpc: ["rpc", "_npm", "errors.ts"],
};

const root = new URL("..", import.meta.url).pathname;
const src = `${root}src/`;

/** The room of a src/ file: its top folder, or the file itself at the root of src/. */
export function roomOf(path: string): string {
  return relative(src, path).split("/")[0];
}

async function srcFiles(dir = src): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}${e.name}`;
    if (e.isDirectory) out.push(...await srcFiles(`${path}/`));
    else if (e.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

interface Info {
  modules: {
    specifier: string;
    dependencies?: { specifier: string; code?: { specifier: string }; type?: { specifier: string } }[];
  }[];
}

/** Every import edge between src/ files, code and type, from one `deno info` over a module that imports all. */
async function edges(files: string[]): Promise<Map<string, Set<string>>> {
  const entry = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(entry, files.map((f) => `import ${JSON.stringify(`file://${f}`)};`).join("\n"));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", `${root}deno.json`, entry],
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error("deno info failed");
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as Info;
    const graph = new Map<string, Set<string>>(files.map((f) => [f, new Set()]));
    for (const m of info.modules) {
      const from = m.specifier.startsWith("file://") ? decodeURIComponent(new URL(m.specifier).pathname) : "";
      if (!graph.has(from)) continue;
      for (const d of m.dependencies ?? []) {
        // deno.json sends plugins' node:* to their wrappers in src/runtime/; that edge is the import map's, not
        // the file's (src/runtime/ itself is scoped back to Node's own).
        if (d.specifier.startsWith("node:")) continue;
        for (const to of [d.code?.specifier, d.type?.specifier]) {
          const path = to?.startsWith("file://") ? decodeURIComponent(new URL(to).pathname) : "";
          if (graph.has(path) && path !== from) graph.get(from)!.add(path);
        }
      }
    }
    return graph;
  } finally {
    await Deno.remove(entry);
  }
}

/** Strongly connected components of more than one file (Tarjan), each sorted. */
export function cycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [];
  const on = new Set<string>(), out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index), low.set(v, index++), stack.push(v), on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) visit(w), low.set(v, Math.min(low.get(v)!, low.get(w)!));
      else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) !== idx.get(v)) return;
    const scc: string[] = [];
    for (let w = stack.pop()!;; w = stack.pop()!) {
      on.delete(w), scc.push(w);
      if (w === v) break;
    }
    if (scc.length > 1) out.push(scc.sort());
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** The imports that point up a layer, or into a room the importing room may not use. */
export function upward(graph: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const layer = new Map(LAYERS.flatMap((rooms, i) => rooms.map((r) => [r, i] as const)));
  const bad: string[] = [];
  for (const [from, tos] of graph) {
    const a = roomOf(from);
    for (const to of tos) {
      const b = roomOf(to);
      if (a === b) continue;
      const la = layer.get(a), lb = layer.get(b);
      const why = la === undefined
        ? `${a} is in no layer`
        : lb === undefined
        ? `${b} is in no layer`
        : lb >= la
        ? `${b} is not below ${a}`
        : ONLY[a] && !ONLY[a].includes(b)
        ? `${a} may import only ${ONLY[a].join(", ")}`
        : undefined;
      if (why) bad.push(`${relative(root, from)} -> ${relative(root, to)}: ${why}`);
    }
  }
  return bad.sort();
}

if (import.meta.main) {
  const graph = await edges(await srcFiles());
  const found = cycles(graph), up = upward(graph);
  for (const c of found) console.error(`import cycle: ${c.map((f) => relative(root, f)).join(" <-> ")}`);
  for (const u of up) console.error(`upward import: ${u}`);
  const n = [...graph.values()].reduce((s, t) => s + t.size, 0);
  console.log(`imports: ${graph.size} files, ${n} imports, ${found.length} cycles, ${up.length} upward`);
  if (found.length + up.length > 0) Deno.exit(1);
}
