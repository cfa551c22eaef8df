/**
 * Internal: the command line's usage error, shared by the command modules.
 *
 * @module
 */

/**
 * A mistake in the command line itself: answered with the usage and exit code 2.
 *
 * @example
 * ```ts ignore
 * throw new UsageError('"sign" needs --key FILE');
 * ```
 */
export class UsageError extends Error {}
