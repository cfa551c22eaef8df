/**
 * The plugin manifest (`plugin.jsonc` or `plugin.json`): its schema and its parser. The checks on a plugin
 * folder are in src/discovery/plugin_folder.ts.
 *
 * @module
 */

import { z } from "../_npm/zod.ts";
import semver from "../_npm/semver.ts";
import { basename, dirname, resolve } from "node:path";
import { type Diagnostic, ManifestError } from "../errors.ts";
import { duplicateKeys, locate, locateKey, type Node, parseJsonc, type Position } from "../_common/jsonc.ts";
import { grantPathProblem, isPrototypeName, prototypeKeys } from "./_guards.ts";
import { suggest } from "../_common/suggest.ts";

/** A capability a plugin can declare: the seed's set. */
export type Capability =
  | "ComputeBackend"
  | "StorageProvider"
  | "NetworkProvider"
  | "SecurityProvider"
  | "MonitoringProvider"
  | "HotReloadable"
  | "Scalable"
  | "Clusterable";

const CAPABILITY_NAMES = [
  "ComputeBackend",
  "StorageProvider",
  "NetworkProvider",
  "SecurityProvider",
  "MonitoringProvider",
  "HotReloadable",
  "Scalable",
  "Clusterable",
] as const;

/**
 * Every {@linkcode Capability}, in the seed's order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CAPABILITIES } from "./manifest.ts";
 * assert.ok(CAPABILITIES.includes("Scalable"));
 * assert.ok(Object.isFrozen(CAPABILITIES));
 * ```
 */
export const CAPABILITIES: readonly Capability[] = Object.freeze([...CAPABILITY_NAMES]);

/**
 * The manifest file names, in order of preference.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MANIFEST_FILES } from "./manifest.ts";
 * assert.deepEqual(MANIFEST_FILES, ["plugin.jsonc", "plugin.json"]);
 * ```
 */
export const MANIFEST_FILES: readonly string[] = Object.freeze(["plugin.jsonc", "plugin.json"]);

/** The extensions an entry module may have. */
const ENTRY_EXTENSIONS = [".ts", ".js", ".mts", ".mjs", ".tsx", ".jsx"];
const ID_PATTERN = /^[a-z0-9][a-z0-9.-]*$/;
const MAX_ID_LENGTH = 128;
/** How many folder entries the symlink scan visits before it gives up (with a diagnostic). */

/** What a plugin asks for; the host configuration decides what it gets. */
export interface ManifestPermissions {
  /** Paths to read, relative to the plugin folder or absolute. */
  readonly read: readonly string[];
  /** Paths to write, relative to the plugin folder or absolute. */
  readonly write: readonly string[];
  /** `"host"` or `"host:port"` to reach; the host config decides. */
  readonly net: readonly string[];
  /** Environment variable names; a trailing `*` asks for a prefix. */
  readonly env: readonly string[];
  /** npm package names (`zod`, `@scope/name`) the plugin imports; `PluginSecurity` `AllowedNpmPackages` decides. */
  readonly npm?: readonly string[];
}

/** A validated manifest, with every default filled in. */
export interface PluginManifest {
  /** Lowercase letters, digits, `.` and `-`; at most 128 characters. */
  readonly id: string;
  /** Display name. */
  readonly name: string;
  /** The plugin's semver version. */
  readonly version: string;
  /** What the plugin does. */
  readonly description?: string;
  /** Who wrote it. */
  readonly author?: string;
  /** The entry module, relative to the plugin folder (default `mod.ts`). */
  readonly entry: string;
  /** The seed capabilities the plugin implements (duplicates removed). */
  readonly capabilities: readonly Capability[];
  /** Capability id -> the version of it that the plugin offers. */
  readonly provides: Readonly<Record<string, string>>;
  /** Plugin id (or capability id) -> semver range the plugin needs; it cannot start without them. */
  readonly dependencies: Readonly<Record<string, string>>;
  /**
   * Plugin id (or capability id) -> semver range the plugin uses when present: it starts after them when they
   * are there, and starts anyway when they are not. Absent when the manifest has none.
   */
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  /** What the plugin asks for. */
  readonly permissions: ManifestPermissions;
  /** Default settings, overridden by the host configuration. */
  readonly settings: Readonly<Record<string, unknown>>;
  /**
   * Methods safe to retry once on another replica when the replica running the call is lost (duplicates
   * removed); default `[]`.
   */
  readonly idempotent: readonly string[];
}

// semver ships no types, so pin down the two functions used here.
const semverValid = semver.valid as (version: string) => string | null;
const semverValidRange = semver.validRange as (range: string) => string | null;

// `semver.valid` also takes "v1.2.0", "=1.2.0" and surrounding blanks; a manifest must give the plain form.
const isVersion = (v: string): boolean => /^\d\S*$/.test(v) && semverValid(v) !== null;
const isRange = (r: string): boolean => r.trim() !== "" && semverValidRange(r) !== null;
/** Quotes a value for a message. */
export const show = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

/** Why `entry` cannot be an entry module path, judged on the text alone; `undefined` when it can. */
function entryProblem(entry: string): string | undefined {
  if (entry.trim() === "") return "must not be empty";
  if (/^([a-zA-Z][a-zA-Z0-9+.-]*:|[\\/])/.test(entry)) {
    return `${show(entry)} is absolute; the entry must be a path relative to the plugin folder`;
  }
  let depth = 0;
  for (const segment of entry.split(/[\\/]/)) {
    if (segment === "..") depth--;
    else if (segment !== "." && segment !== "") depth++;
    if (depth < 0) return `${show(entry)} points outside the plugin folder`;
  }
  if (!ENTRY_EXTENSIONS.some((ext) => entry.endsWith(ext))) {
    return `${show(entry)} is not a module (${ENTRY_EXTENSIONS.join(", ")})`;
  }
  return undefined;
}

const nonEmpty = z.string().refine((s) => s.trim() !== "", { error: "must not be empty" });
const version = z.string().refine(isVersion, { error: (i) => `${show(i.input)} is not a semver version` });
const range = z.string().refine(isRange, { error: (i) => `${show(i.input)} is not a semver range` });
const pluginId = z.string()
  .max(MAX_ID_LENGTH, { error: (i) => `${show(i.input)} is longer than ${MAX_ID_LENGTH} characters` })
  .regex(ID_PATTERN, {
    error: (i) => `${show(i.input)} is not a plugin id (lowercase letters, digits, '.' and '-')`,
  })
  // "constructor" fits the pattern, and an id indexes plain objects (LogTape's loggers threw at start).
  .refine((id) => !isPrototypeName(id), {
    error: (i) => `${show(i.input)} is a name of Object.prototype and cannot be a plugin id`,
  });
const capability = z.enum(CAPABILITY_NAMES, {
  error: (i) => {
    const hint = typeof i.input === "string" ? suggest(i.input, CAPABILITY_NAMES) : undefined;
    return `${show(i.input)} is not a capability` +
      (hint ? `; did you mean "${hint}"?` : ` (one of ${CAPABILITY_NAMES.join(", ")})`);
  },
});
const noNul = (s: string): boolean => !s.includes("\0");
const permissionList = z.array(nonEmpty.refine(noNul, { error: "must not contain a NUL byte" }))
  .default(() => []);
const grantList = z.array(nonEmpty.superRefine((grant, ctx) => {
  const problem = grantPathProblem(grant);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
})).default(() => []);
const PERMISSION_KEYS = ["read", "write", "net", "env"];

const shape = {
  $schema: z.string().optional(),
  id: pluginId,
  name: nonEmpty,
  version,
  description: z.string().optional(),
  author: z.string().optional(),
  entry: z.string().superRefine((entry, ctx) => {
    const problem = entryProblem(entry);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  }).default("mod.ts"),
  capabilities: z.array(capability).default(() => []),
  provides: z.record(z.string().min(1, { error: "must not be empty" }), version)
    .default(() => ({})),
  dependencies: z.record(pluginId, range).default(() => ({})),
  optionalDependencies: z.record(pluginId, range).optional(),
  permissions: z.strictObject({
    read: grantList,
    write: grantList,
    net: permissionList,
    env: permissionList,
    npm: z.array(
      z.string().regex(/^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/, {
        error: 'must be an npm package name ("zod", "@scope/name"), without "npm:" or a version',
      }),
    ).optional(), // absent unless asked for: a manifest without it reads as it always did
  })
    .default(() => ({ read: [], write: [], net: [], env: [] })),
  settings: z.record(z.string(), z.unknown()).default(() => ({})),
  idempotent: z.array(nonEmpty).default(() => []),
};
const TOP_LEVEL_KEYS = Object.keys(shape);

const schema: z.ZodType<PluginManifest> = z.strictObject(shape);

/**
 * Internal: the raw zod schema behind {@linkcode manifestSchema}, for scripts/gen_schemas.ts to turn into
 * `schemas/plugin.schema.json`. Not part of the package's API (mod.ts does not export it); use
 * {@linkcode manifestSchema} or {@linkcode parseManifest} instead.
 */
export const _manifestZod: z.ZodType<PluginManifest> = schema;

/** What {@linkcode manifestSchema} offers: the part of a zod schema that callers need, without zod's types. */
export interface ManifestSchema {
  /** Validates `value` and fills in defaults; throws zod's error when it is not a manifest. */
  parse(value: unknown): PluginManifest;
  /** Validates `value` and fills in defaults, without throwing. */
  safeParse(value: unknown):
    | { readonly success: true; readonly data: PluginManifest }
    | {
      readonly success: false;
      readonly error: {
        readonly issues: readonly { readonly path: PropertyKey[]; readonly message: string }[];
      };
    };
}

/**
 * The manifest's zod schema. It checks everything that can be judged from the manifest's value; the checks
 * that need the text (positions, duplicate keys) are made by {@linkcode parseManifest}, and those that need
 * the file system (the entry exists, symlinks) by {@linkcode loadPluginFolder}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { manifestSchema } from "./manifest.ts";
 * assert.ok(manifestSchema.safeParse({ id: "a", name: "A", version: "1.0.0" }).success);
 * assert.ok(!manifestSchema.safeParse({ id: "a" }).success); // no name, no version
 * ```
 */
export const manifestSchema: ManifestSchema = schema;

interface Source {
  readonly file: string;
  readonly text: string;
  readonly root: Node | undefined;
  readonly value: unknown;
}

const valueAt = (value: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>(
    (v, k) => (v !== null && typeof v === "object" ? Reflect.get(v, k) : undefined),
    value,
  );

const kindOf = (v: unknown): string =>
  v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : `a ${typeof v}`;

/** Turns one zod issue into diagnostics that name the file, position and field, in plain words. */
function toDiagnostics(issue: z.core.$ZodIssue, src: Source): Diagnostic[] {
  const at = (path: readonly PropertyKey[], pos: Position | undefined, message: string): Diagnostic => {
    const field = path.map(String).join(".");
    return { file: src.file, ...pos, ...(field ? { field } : {}), message };
  };
  const path = issue.path;
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => {
        const hint = suggest(key, path.length === 0 ? TOP_LEVEL_KEYS : PERMISSION_KEYS);
        const message = `unknown key "${key}"` + (hint ? `; did you mean "${hint}"?` : "");
        return at([...path, key], locateKey(src.root, path, key, src.text), message);
      });
    case "invalid_key": {
      const key = String(path.at(-1));
      const message = issue.issues[0]?.message ?? issue.message;
      return [at(path, locateKey(src.root, path.slice(0, -1), key, src.text), message)];
    }
    case "invalid_type": {
      const actual = valueAt(src.value, path);
      const expected = issue.expected === "record" ? "object" : issue.expected;
      const message = path.length === 0
        ? `the manifest must be a JSON object, not ${kindOf(actual)}`
        : actual !== undefined
        ? `expected ${/^[aeiou]/.test(expected) ? "an" : "a"} ${expected}, not ${kindOf(actual)}`
        : path.length === 1
        ? `manifest has no "${String(path[0])}"`
        : "is required";
      return [at(path, locate(src.root, path, src.text), message)];
    }
    default:
      return [at(path, locate(src.root, path, src.text), issue.message)];
  }
}

/** What {@linkcode analyzeManifest} found. */
/** The outcome of checking a manifest's text (for the folder checks in src/discovery/plugin_folder.ts). */
export interface Analysis {
  readonly manifest?: PluginManifest;
  /** The declared id, when it is a valid one (even if the rest of the manifest is not). */
  readonly id?: string;
  /** Where the `entry` value is, when the manifest has one. */
  readonly entryPosition?: Position;
  /** Where the `id` value is, when the id is valid. */
  readonly idPosition?: Position;
  readonly diagnostics: Diagnostic[];
}

/** Parses and checks a manifest's text; never throws. */
export function analyzeManifest(text: string, file: string): Analysis {
  const { value, root, diagnostics } = parseJsonc(text, file);
  if (diagnostics.length > 0) return { diagnostics };
  const src: Source = { file, text, root, value };
  const rawId = valueAt(value, ["id"]);
  const id = pluginId.safeParse(rawId).success ? String(rawId) : undefined;
  const idPosition = id === undefined ? undefined : locate(root, ["id"], text);
  // Before the schema: a "__proto__" key must not reach code that copies objects key by key.
  const unsafe = prototypeKeys(root, text, file);
  if (unsafe.length > 0) return { id, idPosition, diagnostics: unsafe };
  const found = duplicateKeys(root, text).map((d): Diagnostic => ({
    file,
    line: d.line,
    column: d.column,
    field: d.path.join("."),
    message: `duplicate key "${String(d.path.at(-1))}"`,
  }));
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) found.push(...result.error.issues.flatMap((issue) => toDiagnostics(issue, src)));
  const hasEntry = value !== null && typeof value === "object" && Object.hasOwn(value, "entry");
  const entryPosition = hasEntry ? locate(root, ["entry"], text) : undefined;
  // Report in reading order, whatever order the schema happened to check things in.
  found.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  if (!result.success || found.length > 0) return { id, idPosition, entryPosition, diagnostics: found };
  const { $schema: _, ...manifest } = result.data as PluginManifest & { $schema?: string };
  const capabilities = [...new Set(manifest.capabilities)];
  const idempotent = [...new Set(manifest.idempotent)];
  return {
    manifest: { ...manifest, capabilities, idempotent },
    id,
    idPosition,
    entryPosition,
    diagnostics: [],
  };
}

/**
 * Parses and validates a manifest's text. `file` is only used in messages.
 *
 * @throws {ManifestError} listing every problem, each with file, line, column and field.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseManifest } from "./manifest.ts";
 * const m = parseManifest('{ "id": "hello", "name": "Hello", "version": "1.0.0", }', "plugin.jsonc");
 * assert.equal(m.entry, "mod.ts"); // the default
 * assert.throws(() => parseManifest('{ "id": "hello", "name": "Hello", "version": "one" }', "plugin.jsonc"), {
 *   name: "ManifestError",
 *   message: 'Cannot load plugin "hello": plugin.jsonc:1:46: "version": "one" is not a semver version',
 * });
 * ```
 */
export function parseManifest(text: string, file: string): PluginManifest {
  const analysis = analyzeManifest(text, file);
  if (analysis.manifest === undefined) {
    // Name the plugin by its id when that is valid, else by its folder.
    throw new ManifestError(analysis.id ?? basename(dirname(resolve(file))), analysis.diagnostics);
  }
  return analysis.manifest;
}
