// Dependency resolution of 1,000 generated manifests (tests/_generate.ts): ranges, capabilities, optional
// dependencies, a few mismatches, missing dependencies and a cycle. The budget is 100 ms.
//   deno bench --no-prompt bench/resolver_bench.ts
import { resolveDependencies } from "../mod.ts";
import { generateManifests } from "../tests/_generate.ts";

const thousand = generateManifests(1000, 11);
const hundred = generateManifests(100, 11);
const tenThousand = generateManifests(10_000, 11);

// The first resolution in a fresh process, JIT and all (printed once, not part of the statistics).
const t0 = performance.now();
const first = resolveDependencies(thousand);
const cold = performance.now() - t0;
console.error(
  `cold: 1,000 manifests in ${cold.toFixed(1)} ms (${first.levels.flat().length} can start in ` +
    `${first.levels.length} levels, ${first.failed.length} fail)`,
);

Deno.bench("resolve 100 manifests", { group: "resolve" }, () => {
  resolveDependencies(hundred);
});
Deno.bench("resolve 1,000 manifests", { group: "resolve", baseline: true }, () => {
  resolveDependencies(thousand);
});
Deno.bench("resolve 10,000 manifests", { group: "resolve" }, () => {
  resolveDependencies(tenThousand);
});
