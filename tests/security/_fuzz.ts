// fast-check options for every fuzz test. CI runs a fixed seed so a red build always means a change broke
// something; `FUZZ_SEED=random FUZZ_SCALE=20` explores new cases (a failure prints its seed to replay).
import fc from "fast-check";
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

/** Checks `check` on arbitrary text, then on text joined from `pieces` (fragments that get past the first byte). */
export function fuzzText(pieces: readonly string[], check: (text: string) => void): void {
  fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), check), fuzz(1500));
  const joined = fc.array(fc.constantFrom(...pieces), { maxLength: 40 }).map((a) => a.join(""));
  fc.assert(fc.property(joined, check), fuzz(2000));
}
