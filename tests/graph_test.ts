// Start order: levels by dependencies, unknown dependencies ignored, cycles and their dependents set aside.
import assert from "node:assert/strict";
import { type GraphNode, startOrder } from "../mod.ts";

const n = (id: string, ...dependencies: string[]): GraphNode => ({ id, dependencies });

Deno.test("no plugins, no levels", () => {
  assert.deepEqual(startOrder([]), { levels: [], cyclic: [] });
});

Deno.test("independent plugins start together in one sorted level", () => {
  assert.deepEqual(startOrder([n("c"), n("a"), n("b")]), { levels: [["a", "b", "c"]], cyclic: [] });
});

Deno.test("a chain starts dependencies first, one level each", () => {
  // a → b → c → d (a depends on b, ...)
  const order = startOrder([n("a", "b"), n("b", "c"), n("c", "d"), n("d")]);
  assert.deepEqual(order, { levels: [["d"], ["c"], ["b"], ["a"]], cyclic: [] });
  // The input order does not matter.
  assert.deepEqual(startOrder([n("d"), n("c", "d"), n("a", "b"), n("b", "c")]), order);
});

Deno.test("a diamond: the shared base first, both sides together, the top last", () => {
  const order = startOrder([n("top", "left", "right"), n("right", "base"), n("left", "base"), n("base")]);
  assert.deepEqual(order, { levels: [["base"], ["left", "right"], ["top"]], cyclic: [] });
});

Deno.test("a plugin waits for its deepest dependency, not its shallowest", () => {
  // app needs both lib (level 0) and svc (which needs lib): app is at level 2.
  const order = startOrder([n("app", "lib", "svc"), n("svc", "lib"), n("lib")]);
  assert.deepEqual(order.levels, [["lib"], ["svc"], ["app"]]);
});

Deno.test("separate graphs interleave by level", () => {
  const order = startOrder([n("x2", "x1"), n("x1"), n("y3", "y2"), n("y2", "y1"), n("y1"), n("z")]);
  assert.deepEqual(order.levels, [["x1", "y1", "z"], ["x2", "y2"], ["y3"]]);
});

Deno.test("a dependency on a plugin that is not there is ignored", () => {
  const order = startOrder([n("a", "ghost"), n("b", "a", "also.missing")]);
  assert.deepEqual(order, { levels: [["a"], ["b"]], cyclic: [] });
});

Deno.test("a repeated dependency counts once", () => {
  assert.deepEqual(startOrder([n("a", "b", "b"), n("b")]).levels, [["b"], ["a"]]);
});

Deno.test("a cycle is reported with everything that depends on it; the rest still starts", () => {
  // a ⇄ b is a cycle; c depends on a; d depends on c; e and f are fine, f depends on e.
  const order = startOrder([n("a", "b"), n("b", "a"), n("c", "a"), n("d", "c"), n("e"), n("f", "e")]);
  assert.deepEqual(order, { levels: [["e"], ["f"]], cyclic: ["a", "b", "c", "d"] });
});

Deno.test("a plugin that depends on itself is a cycle of one", () => {
  assert.deepEqual(startOrder([n("self", "self"), n("ok")]), { levels: [["ok"]], cyclic: ["self"] });
});

Deno.test("a longer cycle behind a healthy base", () => {
  // base is fine; p → q → r → p all also need base.
  const order = startOrder([n("p", "q", "base"), n("q", "r", "base"), n("r", "p", "base"), n("base")]);
  assert.deepEqual(order, { levels: [["base"]], cyclic: ["p", "q", "r"] });
});

Deno.test("every plugin appears exactly once, in a level or in cyclic", () => {
  const nodes = [n("a", "b"), n("b", "c"), n("c", "a"), n("d", "a"), n("e"), n("f", "e", "zz"), n("g", "f")];
  const { levels, cyclic } = startOrder(nodes);
  const all = [...levels.flat(), ...cyclic].sort();
  assert.deepEqual(all, nodes.map((x) => x.id).sort());
  // Each started plugin's known dependencies are in earlier levels.
  const levelOf = new Map(levels.flatMap((l, i) => l.map((id) => [id, i] as const)));
  for (const node of nodes) {
    const mine = levelOf.get(node.id);
    if (mine === undefined) continue;
    for (const dep of node.dependencies) {
      if (!nodes.some((x) => x.id === dep)) continue;
      assert.ok((levelOf.get(dep) ?? Infinity) < mine, `${node.id} after ${dep}`);
    }
  }
});
