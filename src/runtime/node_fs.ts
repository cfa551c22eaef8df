/**
 * `node:fs` as plugins see it (the package's import map sends every module's `node:fs` here; src/runtime/
 * keeps the real one). Outside a plugin worker every export is the real one. Inside, the exports that open or
 * close a descriptor are the module object's, which the runtime counts against the plugin's
 * `ResourceLimits.MaxHandles` (_budget_node.ts): the named exports are bound when node:fs loads, out of reach of
 * a patch on the object.
 *
 * @module
 */
import fs from "node:fs";
import { guardNode } from "./_harden_node.ts";
import { budgetNodeFs } from "./_budget_node.ts";

export * from "node:fs";
export default fs;

guardNode();
budgetNodeFs(fs as unknown as Record<string, unknown>);

/** `fs.openSync`, counted against the plugin's handle budget. */
export const openSync: typeof fs.openSync = fs.openSync;
/** `fs.open`, counted against the plugin's handle budget. */
export const open: typeof fs.open = fs.open;
/** `fs.closeSync`, releasing what `openSync`/`open` counted. */
export const closeSync: typeof fs.closeSync = fs.closeSync;
/** `fs.close`, releasing what `openSync`/`open` counted. */
export const close: typeof fs.close = fs.close;
/** `fs.watch`, admitted against the plugin's handle budget. */
export const watch: typeof fs.watch = fs.watch;
