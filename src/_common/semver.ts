// semver, typed (it ships no types) and with a parse cache: parsing is what resolution spends its time on.
import semver from "../_npm/semver.ts";

const satisfies = semver.satisfies as (version: string, range: string) => boolean;
const rcompare = semver.rcompare as (a: string, b: string) => number;
/** A parsed version. */
export interface SemVerLike {
  /** -1, 0 or 1 as this version is lower, equal or higher than `other`. */
  compare(other: SemVerLike): number;
}
/** A parsed range. */
export interface RangeLike {
  /** Whether `version` is in the range. */
  test(version: SemVerLike): boolean;
}
const SemVer = semver.SemVer as new (version: string) => SemVerLike;
const Range = semver.Range as new (range: string) => RangeLike;

/**
 * Parses each version and range once (null for an invalid one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SemverCache } from "./semver.ts";
 * const cache = new SemverCache();
 * assert.equal(cache.range("^2.0.0")!.test(cache.version("2.1.0")!), true);
 * ```
 */
export class SemverCache {
  readonly #versions = new Map<string, SemVerLike | null>();
  readonly #ranges = new Map<string, RangeLike | null>();
  /** The parsed version, or null when `v` is not semver. */
  version(v: string): SemVerLike | null {
    let parsed = this.#versions.get(v);
    if (parsed === undefined) this.#versions.set(v, parsed = attempt(() => new SemVer(v)));
    return parsed;
  }
  /** The parsed range, or null when `r` is not a range. */
  range(r: string): RangeLike | null {
    let parsed = this.#ranges.get(r);
    if (parsed === undefined) this.#ranges.set(r, parsed = attempt(() => new Range(r)));
    return parsed;
  }
}

function attempt<T>(make: () => T): T | null {
  try {
    return make();
  } catch {
    return null;
  }
}

/**
 * Whether `version` is in `range` (semver, prereleases only when the range names them); false when either is
 * invalid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { satisfiesRange } from "./semver.ts";
 * assert.equal(satisfiesRange("2.1.0", "^2.0.0"), true);
 * ```
 */
export function satisfiesRange(version: string, range: string): boolean {
  return satisfies(version, range);
}

/**
 * Orders versions highest first (semver precedence), for sorting.
 *
 * @example
 * ```ts
 * import { byVersionDesc } from "./semver.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(["1.0.0", "2.0.0"].sort(byVersionDesc), ["2.0.0", "1.0.0"]);
 * ```
 */
export function byVersionDesc(a: string, b: string): number {
  return rcompare(a, b);
}
