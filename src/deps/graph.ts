/**
 * Dependency graphs by plugin id: start levels (plugins whose dependencies are all in earlier levels start
 * concurrently; stopping walks the levels backwards) and cycles. The host orders plugins with src/deps/resolver.ts,
 * which adds version ranges, capabilities and failure reasons on top of these.
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
 * import assert from "node:assert/strict";
 * import { startOrder } from "@dotcompute/plugins";
 * assert.deepEqual(startOrder([{ id: "a", dependencies: ["b"] }, { id: "b", dependencies: [] }]), {
 *   levels: [["b"], ["a"]],
 *   cyclic: [],
 * });
 * ```
 */
export function startOrder(nodes: readonly GraphNode[]): StartOrder {
  const known = new Set(nodes.map((n) => n.id));
  const ids = [...known];
  const edges = new Map(ids.map((id) => [id, new Set<string>()]));
  for (const n of nodes) for (const d of n.dependencies) if (known.has(d)) edges.get(n.id)!.add(d);
  const { levels, rest } = layer(ids, edges);
  return { levels, cyclic: [...rest].sort() };
}

/**
 * The nodes on a cycle of `edges` (node -> the nodes it depends on), each with a shortest cycle through it,
 * `[a, b, a]`. Edges to nodes not in `edges` are ignored. Iterative Tarjan, then a breadth-first search inside
 * each strongly connected component.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findCycles } from "./graph.ts";
 * const cycles = findCycles(["a", "b", "c"], new Map([["a", ["b"]], ["b", ["a"]], ["c", ["a"]]]));
 * assert.deepEqual(cycles.get("a"), ["a", "b", "a"]);
 * assert.equal(cycles.has("c"), false); // behind the cycle, not on it
 * ```
 */
export function findCycles(
  nodes: readonly string[],
  edges: ReadonlyMap<string, readonly string[]>,
): Map<string, string[]> {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const result = new Map<string, string[]>();
  let next = 0;
  for (const root of nodes) {
    if (index.has(root)) continue;
    const work: { id: string; i: number }[] = [{ id: root, i: 0 }];
    index.set(root, next), low.set(root, next++), stack.push(root), onStack.add(root);
    while (work.length > 0) {
      const top = work[work.length - 1];
      const out = edges.get(top.id) ?? [];
      if (top.i < out.length) {
        const w = out[top.i++];
        if (!edges.has(w)) continue;
        if (!index.has(w)) {
          index.set(w, next), low.set(w, next++), stack.push(w), onStack.add(w);
          work.push({ id: w, i: 0 });
        } else if (onStack.has(w)) low.set(top.id, Math.min(low.get(top.id)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1].id;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.id)!));
      }
      if (low.get(top.id) !== index.get(top.id)) continue;
      const scc: string[] = [];
      for (let w = ""; w !== top.id;) {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      }
      const self = (edges.get(top.id) ?? []).includes(top.id);
      if (scc.length === 1 && !self) continue;
      const members = new Set(scc);
      for (const id of scc) result.set(id, cycleThrough(id, members, edges));
    }
  }
  return result;
}

/** A shortest path from `start` back to itself inside `members` (breadth first, neighbours in sorted order). */
function cycleThrough(
  start: string,
  members: ReadonlySet<string>,
  edges: ReadonlyMap<string, readonly string[]>,
): string[] {
  const from = new Map<string, string>();
  let frontier = [start];
  while (frontier.length > 0) {
    const nextFrontier: string[] = [];
    for (const id of frontier) {
      for (const w of [...edges.get(id) ?? []].sort()) {
        if (!members.has(w)) continue;
        if (w === start) {
          const path = [start];
          for (let at = id; at !== start; at = from.get(at)!) path.splice(1, 0, at);
          return [...path, start];
        }
        if (from.has(w)) continue;
        from.set(w, id);
        nextFrontier.push(w);
      }
    }
    frontier = nextFrontier;
  }
  return [start, start];
}

/**
 * Kahn's algorithm by levels over `edges` (node -> the nodes among `nodes` it depends on): each level holds the
 * nodes whose dependencies are all in earlier levels, sorted; `rest` holds what never became ready (on or
 * behind a cycle), in the order of `nodes`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { layer } from "./graph.ts";
 * assert.deepEqual(layer(["a", "b"], new Map([["a", new Set(["b"])], ["b", new Set<string>()]])), {
 *   levels: [["b"], ["a"]],
 *   rest: [],
 * });
 * ```
 */
export function layer(
  nodes: readonly string[],
  edges: ReadonlyMap<string, ReadonlySet<string>>,
): { levels: string[][]; rest: string[] } {
  const waiting = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const id of nodes) {
    const out = edges.get(id)!;
    waiting.set(id, out.size);
    for (const d of out) {
      const list = dependents.get(d);
      if (list) list.push(id);
      else dependents.set(d, [id]);
    }
  }
  const levels: string[][] = [];
  let ready = nodes.filter((id) => waiting.get(id) === 0);
  let placed = 0;
  while (ready.length > 0) {
    ready.sort();
    levels.push(ready);
    placed += ready.length;
    const next: string[] = [];
    for (const id of ready) {
      for (const user of dependents.get(id) ?? []) {
        const left = waiting.get(user)! - 1;
        waiting.set(user, left);
        if (left === 0) next.push(user);
      }
    }
    ready = next;
  }
  const rest = placed === nodes.length ? [] : nodes.filter((id) => waiting.get(id)! > 0);
  return { levels, rest };
}
