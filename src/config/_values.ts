/**
 * Value parsers shared by the configuration loader and the permission calculator: .NET time spans and
 * network endpoints. Each parser returns either the value or a reason, never throws, so the caller can attach
 * the reason to a position.
 *
 * @module
 */

/** A parsed value or the reason it could not be parsed. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | {
  readonly ok: false;
  readonly reason: string;
};

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

// [d.]hh:mm[:ss[.fffffff]] — the invariant forms .NET's TimeSpan.Parse accepts.
const TIME_SPAN = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?$/;

/** Parses a duration: milliseconds as a number, or a .NET time span string. Returns milliseconds. */
export function parseDuration(input: unknown): Parsed<number> {
  if (typeof input === "number") {
    return Number.isFinite(input) && input >= 0
      ? ok(input)
      : fail("must be a non-negative, finite number of milliseconds");
  }
  if (typeof input !== "string") {
    return fail('must be a number of milliseconds or a time span such as "00:00:30"');
  }
  const text = input.trim();
  if (/^[+-]?\d+(\.\d+)?$/.test(text)) {
    // .NET would read "500" as 500 days; a number here is far more likely meant as milliseconds.
    return fail(
      `"${input}" is ambiguous: write ${text} (a number of milliseconds) or a time span "hh:mm:ss"`,
    );
  }
  if (text.startsWith("-")) return fail(`"${input}" is negative; a duration must not be`);
  const m = TIME_SPAN.exec(text);
  if (!m) {
    return fail(`"${input}" is not a duration; use "hh:mm:ss", "hh:mm:ss.fff", "d.hh:mm:ss" or milliseconds`);
  }
  const [days, hours, minutes, seconds] = [m[1], m[2], m[3], m[4]].map((p) => Number(p ?? 0));
  if (hours > 23 || minutes > 59 || seconds > 59) {
    return fail(`"${input}" is out of range: hours must be 0-23, minutes and seconds 0-59`);
  }
  const ticks = Number((m[5] ?? "").padEnd(7, "0")); // 100 ns units, as in .NET
  const totalSeconds = ((days * 24 + hours) * 60 + minutes) * 60 + seconds;
  return ok(totalSeconds * 1000 + ticks / 10_000);
}

/** A host and an optional port, the host canonical (lowercase, IPv6 in brackets). */
export interface HostPort {
  /** Canonical host name or address. */
  readonly host: string;
  /** The port, when one was given. */
  readonly port?: number;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  "http:": 80,
  "https:": 443,
  "ws:": 80,
  "wss:": 443,
};

function canonicalHost(host: string): string | undefined {
  if (host === "" || /[\s/\\@?#%*]/.test(host)) return undefined;
  try {
    // The URL parser lowercases, punycodes and canonicalizes IPv4/IPv6 the way fetch will see the host.
    const hostname = new URL(`http://${host}/`).hostname;
    return hostname === "" ? undefined : hostname;
  } catch {
    return undefined;
  }
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/**
 * Parses `host`, `host:port`, `[v6]`, `[v6]:port`, or an http/https/ws/wss URL (whose port defaults to its
 * scheme's). The port is optional here; {@linkcode normalizeEndpoint} insists on one.
 */
export function parseHostPort(input: string): Parsed<HostPort> {
  const text = input.trim();
  if (text.includes("://")) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return fail(`"${input}" is not a valid URL`);
    }
    const defaultPort = DEFAULT_PORTS[url.protocol];
    if (defaultPort === undefined) {
      return fail(`"${input}" has scheme ${url.protocol} — only http, https, ws and wss URLs or "host:port"`);
    }
    if (url.hostname === "") return fail(`"${input}" has no host`);
    return ok({ host: url.hostname, port: url.port === "" ? defaultPort : Number(url.port) });
  }
  const v6 = /^(\[[^\]]*\])(?::(.*))?$/.exec(text);
  const colon = text.lastIndexOf(":");
  if (!v6 && text.indexOf(":") !== colon) {
    return fail(`"${input}" looks like an IPv6 address; write it in brackets, as "[::1]:8080"`);
  }
  const hostText = v6 ? v6[1] : colon < 0 ? text : text.slice(0, colon);
  const portText = v6 ? v6[2] : colon < 0 ? undefined : text.slice(colon + 1);
  const host = canonicalHost(hostText);
  if (host === undefined) return fail(`"${input}" is not a valid host`);
  if (portText === undefined) return ok({ host });
  const port = parsePort(portText);
  return port === undefined ? fail(`"${input}" has an invalid port (1-65535)`) : ok({ host, port });
}

/**
 * Normalizes an `AllowedNetworkEndpoints` entry to `"host:port"`. A bare host is refused: Deno would read it
 * as every port of that host, which is rarely what an allowlist means.
 */
export function normalizeEndpoint(input: string): Parsed<string> {
  const parsed = parseHostPort(input);
  if (!parsed.ok) return parsed;
  if (parsed.value.port === undefined) {
    return fail(
      `"${input}" has no port, and a bare host would grant every port of it; ` +
        `write "${parsed.value.host}:443" or a URL such as "https://${parsed.value.host}"`,
    );
  }
  return ok(`${parsed.value.host}:${parsed.value.port}`);
}

/** Whether `id` can be a plugin id (the manifest rule: lowercase letters, digits, '.', '-'; at most 128). */
export function isPluginId(id: string): boolean {
  return /^[a-z0-9.-]{1,128}$/.test(id);
}
