// Lives outside src/runtime/ so that it sees Node's built-ins as plugins do: if the package's import map is in
// effect, each resolves to its plugin-safe wrapper in src/runtime/.
const WRAPPERS: Readonly<Record<string, string>> = {
  "node:process": "/runtime/node_process.ts",
  "node:v8": "/runtime/node_v8.ts",
  "node:fs": "/runtime/node_fs.ts",
  "node:fs/promises": "/runtime/node_fs_promises.ts",
};

/** The built-ins the import map does not send to their wrapper (an embedder's deno.json lacks the entry). */
export const unwrappedBuiltins: readonly string[] = Object.entries(WRAPPERS)
  .filter(([name, wrapper]) => !import.meta.resolve(name).endsWith(wrapper))
  .map(([name]) => name);

/** Whether node:process resolves to its wrapper. */
export const nodeProcessWrapped: boolean = !unwrappedBuiltins.includes("node:process");
