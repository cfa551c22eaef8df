// The node:* modules the package's import map (deno.json `imports`) sends plugins to: each hardens or budgets
// its Node module before the plugin holds it. The runtime does not import them: linking one links Node's
// module graph, about 1 ms a wrapper in every new Worker (5 ms for all, measured), which a plugin that never
// imports Node's modules should not pay. The host grants each plugin read access to these files alone
// (worker_tier.ts), so that its import of one can load.

/** Node's module name (after `node:`) → the wrapper's URL. */
export const NODE_WRAPPERS: Readonly<Record<string, string>> = Object.freeze(
  Object.assign(Object.create(null), {
    process: new URL("./node_process.ts", import.meta.url).href,
    v8: new URL("./node_v8.ts", import.meta.url).href,
    vm: new URL("./node_vm.ts", import.meta.url).href,
    module: new URL("./node_module.ts", import.meta.url).href,
    fs: new URL("./node_fs.ts", import.meta.url).href,
    "fs/promises": new URL("./node_fs_promises.ts", import.meta.url).href,
  }),
);
