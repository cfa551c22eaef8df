// Prints every public name the package offers, one `export-entry kind name` a line, sorted: what `deno doc`
// sees at each entry of deno.json's "exports". tests/public_api_test.ts holds the list in docs/public_api.txt
// against it, so that a move inside src/ cannot drop or rename a public name unseen.
//   deno run --allow-read --allow-run scripts/public_names.ts > docs/public_api.txt
const root = new URL("..", import.meta.url);
const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))) as {
  exports: Record<string, string>;
};

/** The `entry kind name` lines of one export entry. */
async function namesOf(entry: string, file: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", file],
    cwd: root,
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`deno doc --json ${file} failed`);
  const doc = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    nodes: Record<string, { symbols?: { name: string; declarations: { kind: string }[] }[] }>;
  };
  return Object.values(doc.nodes).flatMap((m) => m.symbols ?? []).map((sym) =>
    `${entry} ${[...new Set(sym.declarations.map((d) => d.kind))].sort().join("+")} ${sym.name}`
  );
}

const lines: string[] = [];
for (const [entry, file] of Object.entries(config.exports)) lines.push(...await namesOf(entry, file));
console.log([...new Set(lines)].sort().join("\n"));
