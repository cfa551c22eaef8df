/**
 * A bounded wait off the hot path, from `AbortSignal.timeout`: waits for a promise, or for a time, whichever is
 * first. Once the promise settles its listener is removed, so a finished wait leaves no timer holding the
 * process open (Deno keeps a timeout signal's timer referenced while it has listeners).
 *
 * @module
 */

/**
 * Whether `promise` settled (fulfilled or rejected) within `ms`; resolves `false` once `ms` pass first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { settledWithin } from "./deadline.ts";
 * assert.equal(await settledWithin(Promise.resolve(), 1000), true);
 * assert.equal(await settledWithin(new Promise(() => {}), 10), false);
 * ```
 */
export function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const signal = AbortSignal.timeout(ms);
  return new Promise<boolean>((resolve) => {
    const late = (): void => resolve(false);
    signal.addEventListener("abort", late, { once: true });
    const done = (): void => {
      signal.removeEventListener("abort", late);
      resolve(true);
    };
    promise.then(done, done);
  });
}
