/**
 * Internal: the command line's usage error, shared by the command modules.
 *
 * @module
 */

/**
 * A mistake in the command line itself: answered with the usage and exit code 2.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UsageError } from "./_usage.ts";
 * const sign = (args: string[]) => {
 *   if (!args.includes("--key")) throw new UsageError('"sign" needs --key FILE');
 * };
 * assert.throws(() => sign(["plugins/hello"]), UsageError);
 * ```
 */
export class UsageError extends Error {}
