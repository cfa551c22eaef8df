/**
 * The zod schemas of single configuration values (booleans and numbers read from text as well, durations,
 * endpoints, thumbprints, local paths...), which src/config/_schema.ts puts together into the whole shape.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { z } from "../_npm/zod.ts";
import { normalizeEndpoint, type Parsed, parseDuration } from "./_values.ts";

// The .NET binder reads every value from text, so "true" and "512" are accepted as well.
const coerceBool = (v: unknown): unknown =>
  typeof v === "string" && /^\s*(true|false)\s*$/i.test(v) ? v.trim().toLowerCase() === "true" : v;
/** A number given as text (`"512"`) read as the number, as the .NET binder does. */
export const coerceNumber = (v: unknown): unknown =>
  typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : v;
/** The error of a value that must be an object. */
export const OBJECT = { error: "must be an object" };
/** true or false (or their text, in any case). */
export const bool = z.preprocess(coerceBool, z.boolean({ error: "must be true or false" }));
/** A number; chain the bounds. */
export const num = (): z.ZodNumber => z.number({ error: "must be a number" });
/** An integer from 1 (a number's text too); `max` bounds it when given. */
export const positiveInt = (max?: number): z.ZodType<number> => {
  const int = num().int({ error: "must be an integer" }).min(1, { error: "must be at least 1" });
  return z.preprocess(
    coerceNumber,
    max === undefined ? int : int.max(max, { error: `must be at most ${max}` }),
  );
};
/** One of `values`, in any case and with blanks around it (`"Process"` is `"process"`). */
export const choice = <const T extends readonly [string, ...string[]]>(values: T): z.ZodType<T[number]> =>
  z.preprocess(
    (v) => typeof v === "string" ? v.trim().toLowerCase() : v,
    z.enum(values, { error: `must be ${values.map((v) => `"${v}"`).join(" or ")}` }),
  );
/** A string that is not blank, trimmed. */
export const string = z.string({ error: "must be a string" }).trim().min(1, { error: "must not be empty" });
/** An array of {@linkcode string}. */
export const strings = z.array(string, { error: "must be an array of strings" });
const parsed = <T>(parse: (v: unknown) => Parsed<T>) =>
  z.unknown().transform((v, ctx): T => {
    const r = parse(v);
    if (r.ok) return r.value;
    ctx.issues.push({ code: "custom", message: r.reason, input: v });
    return z.NEVER;
  });
/** An optional duration in milliseconds (0 allowed). */
export const duration = parsed(parseDuration).optional();
// A zero CallTimeout would fail every call at once: it must be positive (the fuzzer found it accepted).
/** An optional duration in milliseconds that must be more than zero. */
export const positiveDuration = parsed((v): Parsed<number> => {
  const r = parseDuration(v);
  return r.ok && r.value === 0 ? { ok: false, reason: "must be more than zero" } : r;
}).optional();
/** A network endpoint, normalized to `host:port`. */
export const endpoint = parsed((v) =>
  typeof v === "string"
    ? normalizeEndpoint(v)
    : { ok: false, reason: 'must be a string: a URL or "host:port"' }
);
/** A SHA-256 fingerprint, normalized to lowercase hex. */
export const thumbprint = parsed((v): Parsed<string> => {
  const hex = typeof v === "string" ? v.replace(/[\s:]/g, "").toLowerCase() : "";
  return /^[0-9a-f]{64}$/.test(hex)
    ? { ok: true, value: hex }
    : { ok: false, reason: "must be a SHA-256 fingerprint: 64 hexadecimal digits" };
});
// A local path, or a file: URL (made a path); any other scheme (jsr:, https:...) is refused, as a plugin is
// never granted remote imports. A one-letter "scheme" is a Windows drive.
/** A local path or a `file:` URL, as a path. */
export const localPath = parsed((v): Parsed<string> => {
  if (typeof v !== "string") return { ok: false, reason: "must be a string" };
  const text = v.trim();
  if (text === "") return { ok: false, reason: "must not be empty" };
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(text)?.[1].toLowerCase();
  if (scheme === undefined) return { ok: true, value: text };
  if (scheme !== "file") {
    return {
      ok: false,
      reason: `"${v}" is not a local path: only paths and file: URLs (no ${scheme}: modules)`,
    };
  }
  try {
    return { ok: true, value: fileURLToPath(text) };
  } catch (e) {
    return { ok: false, reason: `"${v}" is not a valid file: URL (${e instanceof Error ? e.message : e})` };
  }
});
/** An array of {@linkcode localPath}. */
export const localPaths = z.array(localPath, { error: "must be an array of paths" });
/** An environment variable name, or a prefix ending in `*`. */
export const envName = string.regex(/^[^=\0*]*\*?$/, {
  error: 'must be a variable name, or a prefix ending in "*"; no "=" and no other "*"',
});

// An npm package name as the registry spells it (`zod`, `@scope/name`), without a version: the package is
// allowed in whatever version the host's resolution picks.
/** An npm package name. */
export const npmPackage = string.regex(/^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/, {
  error: 'must be an npm package name ("zod", "@scope/name"), without "npm:" or a version',
});
