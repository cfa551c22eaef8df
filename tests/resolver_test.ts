// The dependency resolver, pure: ranges, capabilities, levels, cycles, missing and mismatched versions,
// optional dependencies, failures that travel to dependents with the chain named, and its speed.
import assert from "node:assert/strict";
import { type Resolution, resolveDependencies, type ResolverManifest } from "../mod.ts";
import { generateManifests as generate } from "./_generate.ts";

const m = (
  id: string,
  version = "1.0.0",
  extra: Partial<Omit<ResolverManifest, "id" | "version">> = {},
): ResolverManifest => ({ id, version, ...extra });
const needs = (id: string, dependencies: Record<string, string>, version = "1.0.0"): ResolverManifest =>
  m(id, version, { dependencies });
const reasons = (r: Resolution): Record<string, string> =>
  Object.fromEntries(r.failed.map((id) => [id, r.plugins.get(id)!.failure!.reason]));

Deno.test("no plugins: nothing to start, nothing failed", () => {
  const r = resolveDependencies([]);
  assert.deepEqual([r.levels, r.failed, r.plugins.size], [[], [], 0]);
});

Deno.test("a diamond: the base first, both sides together, the top last", () => {
  const r = resolveDependencies([
    needs("top", { left: "^1.0.0", right: "^1.0.0" }),
    needs("left", { base: "^1.0.0" }),
    needs("right", { base: "~1.0.0" }),
    m("base", "1.0.3"),
  ]);
  assert.deepEqual(r.levels, [["base"], ["left", "right"], ["top"]]);
  assert.deepEqual(r.failed, []);
  assert.equal(r.plugins.get("top")!.level, 2);
  assert.deepEqual(r.plugins.get("left")!.bindings, [
    { name: "base", range: "^1.0.0", optional: false, provider: "base", version: "1.0.3" },
  ]);
});

Deno.test("independent plugins share a level; a plugin waits for its deepest dependency", () => {
  const r = resolveDependencies([
    needs("app", { lib: "*", svc: "*" }),
    needs("svc", { lib: "*" }),
    m("lib"),
    m("z"),
  ]);
  assert.deepEqual(r.levels, [["lib", "z"], ["svc"], ["app"]]);
});

Deno.test("a version outside the range fails the plugin and its dependents, naming the chain", () => {
  const r = resolveDependencies([
    m("storage.kv", "1.4.0"),
    needs("c", { "storage.kv": "^2.0.0" }),
    needs("d", { c: "^1.0.0" }),
    needs("e", { d: "*" }),
    m("fine"),
  ]);
  assert.deepEqual(reasons(r), {
    c: "c needs storage.kv ^2.0.0, found 1.4.0",
    d: "d → c: c needs storage.kv ^2.0.0, found 1.4.0",
    e: "e → d → c: c needs storage.kv ^2.0.0, found 1.4.0",
  });
  assert.deepEqual(r.levels, [["fine", "storage.kv"]]);
  const f = r.plugins.get("e")!.failure!;
  assert.deepEqual([f.kind, f.name, f.chain], ["dependency", "d", ["e", "d", "c"]]);
  assert.equal(r.plugins.get("c")!.failure!.kind, "version");
});

Deno.test("a missing dependency fails the plugin concerned and its dependents only", () => {
  const r = resolveDependencies([needs("m", { ghost: "^1.0.0" }), needs("n", { m: "*" }), m("ok")]);
  assert.deepEqual(reasons(r), {
    m: "m needs ghost ^1.0.0, not found",
    n: "n → m: m needs ghost ^1.0.0, not found",
  });
  assert.equal(r.plugins.get("m")!.failure!.kind, "missing");
  assert.deepEqual(r.levels, [["ok"]]);
});

Deno.test("a cycle fails its members (each sees it from itself) and everything behind it", () => {
  const r = resolveDependencies([
    needs("a", { b: "*" }),
    needs("b", { a: "*" }),
    needs("c", { a: "*" }),
    needs("d", { c: "*" }),
    m("e"),
    needs("f", { e: "*" }),
  ]);
  assert.deepEqual(reasons(r), {
    a: "dependency cycle a → b → a",
    b: "dependency cycle b → a → b",
    c: "c → a: dependency cycle a → b → a",
    d: "d → c → a: dependency cycle a → b → a",
  });
  assert.deepEqual(r.plugins.get("a")!.failure!.chain, ["a", "b", "a"]);
  assert.deepEqual(r.levels, [["e"], ["f"]]);
});

Deno.test("a plugin that depends on itself, and a longer cycle behind a healthy base", () => {
  const r = resolveDependencies([
    needs("self", { self: "*" }),
    needs("p", { q: "*", base: "*" }),
    needs("q", { r: "*", base: "*" }),
    needs("r", { p: "*", base: "*" }),
    m("base"),
  ]);
  assert.deepEqual(reasons(r), {
    self: "dependency cycle self → self",
    p: "dependency cycle p → q → r → p",
    q: "dependency cycle q → r → p → q",
    r: "dependency cycle r → p → q → r",
  });
  assert.deepEqual(r.levels, [["base"]]);
});

Deno.test("a capability from provides satisfies a dependency; the highest version in range is bound", () => {
  const r = resolveDependencies([
    m("kv.old", "3.0.0", { provides: { "storage.kv": "1.4.0" } }),
    m("kv.new", "1.0.0", { provides: { "storage.kv": "2.3.0" } }),
    m("kv.mid", "1.0.0", { provides: { "storage.kv": "2.1.0" } }),
    needs("app", { "storage.kv": "^2.0.0" }),
    needs("legacy", { "storage.kv": "^1.0.0" }),
  ]);
  assert.deepEqual(r.failed, []);
  assert.equal(r.plugins.get("app")!.bindings[0].provider, "kv.new");
  assert.equal(r.plugins.get("app")!.bindings[0].version, "2.3.0");
  assert.equal(r.plugins.get("legacy")!.bindings[0].provider, "kv.old");
  assert.deepEqual(r.levels, [["kv.mid", "kv.new", "kv.old"], ["app", "legacy"]]);
});

Deno.test("when the best provider fails, a lower one in range is used; with none left, the chain names it", () => {
  const r = resolveDependencies([
    m("kv.broken", "1.0.0", { provides: { "storage.kv": "2.5.0" }, dependencies: { ghost: "*" } }),
    m("kv.ok", "1.0.0", { provides: { "storage.kv": "2.0.0" } }),
    needs("app", { "storage.kv": "^2.0.0" }),
    m("only.broken", "1.0.0", { provides: { "queue": "1.0.0" }, dependencies: { ghost: "*" } }),
    needs("worker", { queue: "^1.0.0" }),
  ]);
  assert.equal(r.plugins.get("app")!.bindings[0].provider, "kv.ok");
  assert.deepEqual(reasons(r), {
    "kv.broken": "kv.broken needs ghost *, not found",
    "only.broken": "only.broken needs ghost *, not found",
    worker: "worker → only.broken: only.broken needs ghost *, not found",
  });
});

Deno.test("a mismatch lists every version found, with the provider when it is not the plugin itself", () => {
  const r = resolveDependencies([
    m("kv.a", "1.0.0", { provides: { "storage.kv": "1.4.0" } }),
    m("storage.kv", "1.9.0"),
    needs("c", { "storage.kv": "^2.0.0" }),
  ]);
  assert.equal(reasons(r).c, "c needs storage.kv ^2.0.0, found 1.9.0, 1.4.0 (kv.a)");
});

Deno.test("optional dependencies: used and ordered when there, ignored when absent or out of range", () => {
  const r = resolveDependencies([
    m("opt", "1.0.0", {
      optionalDependencies: {
        present: "^1.0.0",
        absent: "^1.0.0",
        old: "^2.0.0",
        broken: "*",
        "host.metrics": "^1.0.0",
      },
    }),
    m("present"),
    m("old", "1.0.0"),
    needs("broken", { ghost: "*" }),
  ]);
  assert.deepEqual(r.failed, ["broken"]);
  const opt = r.plugins.get("opt")!;
  assert.equal(opt.ok, true);
  assert.deepEqual(r.levels, [["old", "present"], ["opt"]]);
  assert.deepEqual(
    opt.bindings.map((b) => [b.name, b.optional, b.provider ?? null]),
    [
      ["absent", true, null],
      ["broken", true, null],
      ["host.metrics", true, null],
      ["old", true, null],
      ["present", true, "present"],
    ],
  );
  // host.metrics is the host's own service: no plugin provides it, and that is not worth a note.
  assert.deepEqual(opt.notes, [
    "optional dependency absent ^1.0.0 not found",
    "optional dependency broken * not used: broken cannot start",
    "optional dependency old ^2.0.0 not used: found 1.0.0",
  ]);
});

Deno.test("an optional dependency never closes a cycle: the required order wins", () => {
  const r = resolveDependencies([
    needs("a", { b: "*" }),
    m("b", "1.0.0", { optionalDependencies: { a: "*" } }),
  ]);
  assert.deepEqual(r.failed, []);
  assert.deepEqual(r.levels, [["b"], ["a"]]);
  assert.match(r.plugins.get("b")!.notes[0], /would close a cycle/);
});

Deno.test("a name both required and optional is required", () => {
  const r = resolveDependencies([
    m("a", "1.0.0", { dependencies: { x: "*" }, optionalDependencies: { x: "*" } }),
  ]);
  assert.deepEqual(reasons(r), { a: "a needs x *, not found" });
  assert.deepEqual(r.plugins.get("a")!.notes, ["x is declared both required and optional; it is required"]);
});

Deno.test("prerelease versions only match ranges that name them", () => {
  const r = resolveDependencies([
    m("lib", "2.0.0-beta.1"),
    needs("a", { lib: "^2.0.0" }),
    needs("b", { lib: "^2.0.0-beta.0" }),
  ]);
  assert.deepEqual(r.failed, ["a"]);
});

Deno.test("every plugin is in exactly one level or failed; dependencies sit in earlier levels", () => {
  const manifests = generate(300, 7);
  const r = resolveDependencies(manifests);
  const placed = [...r.levels.flat(), ...r.failed].sort();
  assert.deepEqual(placed, manifests.map((x) => x.id).sort());
  for (const p of r.plugins.values()) {
    if (!p.ok) continue;
    for (const b of p.bindings) {
      if (b.provider === undefined || b.provider === p.id) continue;
      assert.ok(r.plugins.get(b.provider)!.ok, `${p.id} bound to a failed ${b.provider}`);
      if (!b.optional) assert.ok(r.plugins.get(b.provider)!.level! < p.level!, `${p.id} after ${b.provider}`);
    }
  }
});

Deno.test("1,000 generated manifests resolve, each plugin placed once (speed: bench/resolver_bench.ts)", () => {
  const manifests = generate(1000, 11);
  const r = resolveDependencies(manifests);
  assert.equal(r.plugins.size, 1000);
});
