// Generated manifests for the resolver's tests and benchmark, deterministic for a seed: a layered graph in
// which each plugin needs up to three of the 40 plugins before it (in range), a fifth need a capability (20
// capabilities, each provided by about 50 plugins, five of them in a version in range), a third have an optional dependency anywhere, and the last
// tenth hold a few mismatched versions, missing dependencies and one cycle.
import type { ResolverManifest } from "../mod.ts";

/** `n` manifests (ids `p0`…), the same for the same `seed`. */
export function generateManifests(n: number, seed: number): ResolverManifest[] {
  let s = seed;
  const rand = (k: number): number => (s = (s * 1103515245 + 12345) % 2 ** 31) % k;
  const version = (i: number): string => `${1 + (i % 3)}.${i % 7}.0`;
  const major = (i: number): number => 1 + (i % 3);
  const late = (i: number): boolean => i >= n - Math.ceil(n / 10);
  const out: ResolverManifest[] = [];
  for (let i = 0; i < n; i++) {
    const dependencies: Record<string, string> = {};
    const optionalDependencies: Record<string, string> = {};
    for (let d = 0; d < Math.min(i, 3); d++) {
      const j = i - 1 - rand(Math.min(i, 40));
      dependencies[`p${j}`] = late(i) && rand(30) === 0 ? `^${major(j) + 1}.0.0` : `^${major(j)}.0.0`;
    }
    if (i >= n / 10 && rand(5) === 0) dependencies[`cap.${rand(20)}`] = "^2.0.0";
    if (i > 0 && rand(3) === 0) optionalDependencies[`p${rand(n)}`] = "*";
    if (late(i) && rand(30) === 0) dependencies[`missing.${i}`] = "^1.0.0";
    out.push({
      id: `p${i}`,
      version: version(i),
      // The first tenth provide each capability in 2.x; the others in 1.x, which no range here accepts.
      provides: { [`cap.${i % 20}`]: i < n / 10 ? `2.${rand(5)}.0` : `1.${rand(5)}.0` },
      dependencies,
      optionalDependencies,
    });
  }
  // The last two need each other (a cycle), and the one before them needs the last.
  out[n - 1] = { id: `p${n - 1}`, version: "1.0.0", dependencies: { [`p${n - 2}`]: "*", p0: "^1.0.0" } };
  out[n - 2] = { id: `p${n - 2}`, version: "1.0.0", dependencies: { [`p${n - 1}`]: "*" } };
  out[n - 3] = { id: `p${n - 3}`, version: "1.0.0", dependencies: { [`p${n - 1}`]: "^1.0.0" } };
  return out;
}
