// How the node:* wrappers (node_process.ts, node_fs.ts, ...) reach the runtime that hardens Node's modules.
// They must call the very instances that hardened the plugin's thread: a second copy of _harden_node.ts would
// hold no state and harden nothing. A direct worker runs the runtime as one bundle
// (scripts/bundle_runtime.ts), where those modules are not modules of their own, so the wrappers go through
// this one, which the bundle loads beside itself (a module of both graphs, one instance per thread).
//
// The runtime provides the functions as it hardens, before the plugin's code runs; later calls change nothing,
// so a plugin that imports this module can only call what the wrappers call, which hardens. Outside a plugin's
// thread nothing is provided and every call does nothing.

/** What the runtime provides. */
export interface NodeGuards {
  readonly guardNode: () => void;
  readonly guardNodeCode: () => boolean;
  readonly budgetNodeFs: (fs: Record<string, unknown>) => void;
  readonly budgetNodeFsPromises: (fsp: Record<string, unknown>) => void;
}

let guards: NodeGuards | undefined;

/** Called by the runtime as it hardens; the first call is the one that counts. */
export function provideNodeGuards(provided: NodeGuards): void {
  guards ??= Object.freeze({ ...provided });
}

/** Hardens node:process now if it is loaded (_harden_node.ts). */
export function guardNode(): void {
  guards?.guardNode();
}

/** Closes Node's routes to code from strings (_import_hook.ts); true once closed, or outside a plugin. */
export function guardNodeCode(): boolean {
  return guards?.guardNodeCode() ?? true;
}

/** Counts node:fs's descriptors against the plugin's budget (_budget_node.ts). */
export function budgetNodeFs(fs: Record<string, unknown>): void {
  guards?.budgetNodeFs(fs);
}

/** Counts node:fs/promises' handles against the plugin's budget (_budget_node.ts). */
export function budgetNodeFsPromises(fsp: Record<string, unknown>): void {
  guards?.budgetNodeFsPromises(fsp);
}
