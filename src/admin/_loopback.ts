// Loopback names, shared by the server (where it may listen without a token) and the app (which Host it answers).

/**
 * Whether `hostname` only reaches this machine: `localhost`, `::1` or an address in `127.0.0.0/8`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isLoopback } from "./server.ts";
 * assert.equal(isLoopback("127.0.0.1"), true);
 * assert.equal(isLoopback("[::1]"), true);
 * assert.equal(isLoopback("0.0.0.0"), false);
 * ```
 */
export function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return octets !== null && octets.slice(1).every((o) => Number(o) <= 255);
}

/**
 * The hostname part of an HTTP `Host` value (`name:port`, `[v6]:port`), lower-cased; `""` when it is malformed.
 */
export function hostnameOf(hostHeader: string): string {
  const m = /^(\[[0-9a-f:.]+\]|[^:\[\]]+)(?::\d{1,5})?$/i.exec(hostHeader.trim());
  return m ? m[1].toLowerCase().replace(/\.$/, "") : "";
}
