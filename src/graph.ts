/**
 * Start order from the manifests' `dependencies`: levels of plugins whose dependencies are all in earlier
 * levels. Plugins in one level start concurrently; stopping walks the levels backwards.
 *
 * @module
 */

/** A plugin as the ordering sees it. */
export interface GraphNode {
  /** The plugin's id. */
  readonly id: string;
  /** The ids of the plugins it depends on. */
  readonly dependencies: readonly string[];
}

/** The start order, and the plugins left out because they sit on or behind a cycle. */
export interface StartOrder {
  /** Plugin ids by level, each level sorted; a level depends only on earlier ones. */
  readonly levels: readonly (readonly string[])[];
  /** The sorted ids on or behind a dependency cycle. */
  readonly cyclic: readonly string[];
}

/**
 * Orders plugins by their dependencies. A dependency on a plugin that is not in `nodes` is ignored here (the
 * resolver reports it); a cycle leaves its members, and everything depending on them, in `cyclic`.
 *
 * @example
 * ```ts
 * import { startOrder } from "@dotcompute/plugins";
 * startOrder([{ id: "a", dependencies: ["b"] }, { id: "b", dependencies: [] }]).levels; // [["b"], ["a"]]
 * ```
 */
export function startOrder(nodes: readonly GraphNode[]): StartOrder {
  const known = new Set(nodes.map((n) => n.id));
  const waiting = new Map(nodes.map((n) => [n.id, new Set(n.dependencies.filter((d) => known.has(d)))]));
  const levels: string[][] = [];
  while (waiting.size > 0) {
    const ready = [...waiting].filter(([, deps]) => deps.size === 0).map(([id]) => id).sort();
    if (ready.length === 0) break;
    levels.push(ready);
    for (const id of ready) waiting.delete(id);
    for (const deps of waiting.values()) for (const id of ready) deps.delete(id);
  }
  return { levels, cyclic: [...waiting.keys()].sort() };
}
