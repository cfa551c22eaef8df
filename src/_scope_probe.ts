// Lives outside src/runtime/ so that it sees node:process as plugins do: if the package's import map is in
// effect, it resolves to the wrapper in src/runtime/node_process.ts.
export const nodeProcessWrapped: boolean = import.meta.resolve("node:process").endsWith(
  "/runtime/node_process.ts",
);
