/**
 * `node:fs/promises` as plugins see it (the package's import map sends every module's `node:fs/promises`
 * here; src/runtime/ keeps the real one). Outside a plugin worker every export is the real one. Inside, `open`
 * is the module object's, which counts each FileHandle against the plugin's `ResourceLimits.MaxHandles` until
 * it is closed (_budget_node.ts).
 *
 * @module
 */
import fsp from "node:fs/promises";
import { guardNode } from "./_harden_node.ts";
import { budgetNodeFsPromises } from "./_budget_node.ts";

export * from "node:fs/promises";
export default fsp;

guardNode();
budgetNodeFsPromises(fsp as unknown as Record<string, unknown>);

/** `fsPromises.open`, counted against the plugin's handle budget. */
export const open: typeof fsp.open = fsp.open;
