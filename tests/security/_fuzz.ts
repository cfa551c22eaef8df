// fast-check options for every fuzz test. CI runs a fixed seed so a red build always means a change broke
// something; `FUZZ_SEED=random FUZZ_SCALE=20` explores new cases (a failure prints its seed to replay).
export interface FuzzOptions {
  readonly numRuns: number;
  readonly seed?: number;
}

/** `numRuns` scaled by `FUZZ_SCALE` (default 1), with `FUZZ_SEED` (default fixed; `random` for none). */
export function fuzz(numRuns: number): FuzzOptions {
  const scale = Number(Deno.env.get("FUZZ_SCALE") ?? "1");
  const runs = Math.max(1, Math.round(numRuns * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
  const seed = Deno.env.get("FUZZ_SEED") ?? "20261125";
  return seed === "random" ? { numRuns: runs } : { numRuns: runs, seed: Number(seed) | 0 };
}
