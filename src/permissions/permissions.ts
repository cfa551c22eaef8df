/**
 * A plugin's effective permissions: what its manifest asks for, narrowed by its `PluginSecurity` entry and by
 * what the host itself holds. Deny by default: no entry, no access; and run, ffi, sys and import are never
 * granted.
 *
 * @module
 */

import { toPath, within } from "../_common/paths.ts";
import type { SecurityEntry } from "../config/config.ts";
import { type HostPort, parseHostPort } from "../config/_values.ts";
import type { ManifestPermissions } from "../manifest/manifest.ts";

/** The kinds of permission a plugin can be granted. */
export type PermissionKind = "read" | "write" | "net" | "env" | "npm";

/** The input of {@linkcode computePermissions}. */
export interface PermissionInput {
  /** What the manifest asks for. */
  readonly manifestPermissions: ManifestPermissions;
  /** The plugin folder (its real path); relative manifest paths resolve against it. */
  readonly pluginDir: string;
  /** The plugin's `PluginSecurity` entry; none means nothing but `implicitRead` is granted. */
  readonly security?: SecurityEntry;
  /** Paths (or `file:` URLs) always readable, such as the plugin folder and the plugin API module. */
  readonly implicitRead?: readonly string[];
  /** Whether the host holds a permission; default: `Deno.permissions.querySync(d).state === "granted"`. */
  readonly hostHolds?: (d: Deno.PermissionDescriptor) => boolean;
}

/** A request that was not granted, and why. */
export interface DeniedPermission {
  /** The kind of the request. */
  readonly kind: PermissionKind;
  /** The request (a resolved path, an endpoint or a variable name). */
  readonly value: string;
  /** Why it was denied. */
  readonly reason: string;
}

/** A request that was granted only in part: the narrower grants that replaced it. */
export interface NarrowedPermission {
  /** The kind of the request. */
  readonly kind: PermissionKind;
  /** The request as resolved. */
  readonly value: string;
  /** What was considered for grant instead (each still subject to the host holding it). */
  readonly grantedAs: readonly string[];
}

/** What a plugin may do. Lists are never wider than the manifest, the security entry or the host. */
export interface EffectivePermissions {
  /** Absolute paths readable. */
  readonly read: readonly string[];
  /** Absolute paths writable. */
  readonly write: readonly string[];
  /** `"host:port"` (or `"host"`) endpoints reachable. */
  readonly net: readonly string[];
  /** Environment variables readable (a trailing `*` is a prefix). */
  readonly env: readonly string[];
  /** Subprocesses: never. */
  readonly run: false;
  /** Foreign functions: never. */
  readonly ffi: false;
  /** System information: never. */
  readonly sys: false;
  /** Remote imports: never. */
  readonly import: false;
  /**
   * npm packages (names) the plugin may import: the manifest's `permissions.npm` that `AllowedNpmPackages`
   * also names. Any other `npm:` import refuses the start, or the import (src/runtime/_import_graph.ts).
   */
  readonly npm: readonly string[];
  /** WebGPU (`navigator.gpu`, which Deno offers without a permission): only with `AllowGpu`. */
  readonly gpu: boolean;
  /** Every request not granted, with its reason. */
  readonly denied: readonly DeniedPermission[];
  /** Requests granted only in part. */
  readonly narrowed: readonly NarrowedPermission[];
}

const HOST_LACKS = "the host itself does not hold it";
const NO_ENTRY = "no PluginSecurity entry";

function defaultHostHolds(d: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(d).state === "granted";
  } catch {
    return false; // a descriptor Deno cannot even parse is not held
  }
}

const formatHost = (h: HostPort): string => h.port === undefined ? h.host : `${h.host}:${h.port}`;
const envKey = (name: string): string => Deno.build.os === "windows" ? name.toUpperCase() : name;
/** Whether env `pattern` covers `name` or a narrower pattern: "MY_*" covers "MY_A" and "MY_X_*". */
export const envCovers = (pattern: string, name: string): boolean =>
  pattern.endsWith("*")
    ? envKey(name).startsWith(envKey(pattern.slice(0, -1)))
    : envKey(pattern) === envKey(name);

type Outcome = { grant: string[] } | { deny: string };

function pathOutcome(path: string, security: SecurityEntry | undefined): Outcome {
  if (!security) return { deny: NO_ENTRY };
  if (!security.allowFileSystemAccess) return { deny: "AllowFileSystemAccess is false" };
  if (security.allowedPaths.some((a) => within(path, a))) return { grant: [path] };
  const inner = security.allowedPaths.filter((a) => within(a, path));
  return inner.length > 0 ? { grant: inner } : { deny: "not inside AllowedPaths" };
}

function netOutcome(request: HostPort, security: SecurityEntry | undefined): Outcome {
  if (!security) return { deny: NO_ENTRY };
  if (!security.allowNetworkAccess) return { deny: "AllowNetworkAccess is false" };
  const sameHost = security.allowedNetworkEndpoints
    .map((e) => parseHostPort(e))
    .flatMap((r) => r.ok && r.value.host === request.host ? [r.value] : []);
  if (request.port !== undefined) {
    // An allowed entry without a port (hand-built entries only) allows every port of its host.
    const ok = sameHost.some((a) => a.port === undefined || a.port === request.port);
    return ok ? { grant: [formatHost(request)] } : { deny: "endpoint not in AllowedNetworkEndpoints" };
  }
  // No port asked: narrow to the ports allowed, never to "every port" unless the entry itself says so.
  const grant = sameHost.some((a) => a.port === undefined) ? [request.host] : sameHost.map(formatHost);
  return grant.length > 0 ? { grant } : { deny: "endpoint not in AllowedNetworkEndpoints" };
}

function envOutcome(name: string, security: SecurityEntry | undefined): Outcome {
  if (!security) return { deny: NO_ENTRY };
  const allowed = security.allowedEnvironmentVariables;
  if (allowed.some((a) => envCovers(a, name))) return { grant: [name] };
  const inner = name.endsWith("*") ? allowed.filter((a) => envCovers(name, a)) : [];
  return inner.length > 0 ? { grant: inner } : { deny: "not in AllowedEnvironmentVariables" };
}

function descriptor(kind: Exclude<PermissionKind, "npm">, value: string): Deno.PermissionDescriptor {
  switch (kind) {
    case "read":
    case "write":
      return { name: kind, path: value };
    case "net":
      return { name: "net", host: value };
    case "env":
      return { name: "env", variable: value };
  }
}

// Drops paths already covered by another granted path, keeping the first-seen order.
const compactPaths = (paths: readonly string[]): string[] =>
  [...new Set(paths)].filter((p, _, all) => !all.some((q) => q !== p && within(p, q)));

/**
 * Computes a plugin's effective permissions (deny by default).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { computePermissions } from "./permissions.ts";
 * const p = computePermissions({
 *   manifestPermissions: { read: ["./assets"], write: [], net: ["api.example.com"], env: [] },
 *   pluginDir: "/srv/plugins/hello",
 *   security: {
 *     allowFileSystemAccess: false, allowedPaths: [], allowNetworkAccess: true,
 *     allowedNetworkEndpoints: ["api.example.com:443"], allowedEnvironmentVariables: [],
 *   },
 *   hostHolds: () => true,
 * });
 * assert.deepEqual(p.net, ["api.example.com:443"]);
 * assert.deepEqual(p.denied, [{ kind: "read", value: "/srv/plugins/hello/assets", reason: "AllowFileSystemAccess is false" }]);
 * ```
 */
export function computePermissions(input: PermissionInput): EffectivePermissions {
  const { manifestPermissions: asked, pluginDir, security } = input;
  const holds = input.hostHolds ?? defaultHostHolds;
  const granted: Record<Exclude<PermissionKind, "npm">, string[]> = { read: [], write: [], net: [], env: [] };
  const denied: DeniedPermission[] = [];
  const narrowed: NarrowedPermission[] = [];
  const apply = (kind: Exclude<PermissionKind, "npm">, value: string, outcome: Outcome): void => {
    if ("deny" in outcome) {
      denied.push({ kind, value, reason: outcome.deny });
      return;
    }
    if (outcome.grant.length !== 1 || outcome.grant[0] !== value) {
      narrowed.push({ kind, value, grantedAs: Object.freeze([...outcome.grant]) });
    }
    for (const g of outcome.grant) {
      if (holds(descriptor(kind, g))) granted[kind].push(g);
      else denied.push({ kind, value: g, reason: HOST_LACKS });
    }
  };
  for (const p of input.implicitRead ?? []) {
    const path = toPath(p, pluginDir);
    apply("read", path, { grant: [path] });
  }
  const implicit = [...granted.read];
  for (const kind of ["read", "write"] as const) {
    for (const p of asked[kind]) {
      const path = toPath(p, pluginDir);
      // Reading inside an implicit read (the plugin's own folder) needs no entry: it is already granted.
      if (kind === "read" && implicit.some((i) => within(path, i))) continue;
      apply(kind, path, pathOutcome(path, security));
    }
  }
  for (const entry of asked.net) {
    const parsed = parseHostPort(entry);
    if (!parsed.ok) apply("net", entry, { deny: parsed.reason });
    else apply("net", formatHost(parsed.value), netOutcome(parsed.value, security));
  }
  for (const name of asked.env) apply("env", name, envOutcome(name, security));
  // No host permission stands behind an npm package: the host's own cache and registry load it.
  const npm: string[] = [];
  for (const name of asked.npm ?? []) {
    if (!security) denied.push({ kind: "npm", value: name, reason: NO_ENTRY });
    else if (security.allowedNpmPackages?.includes(name)) npm.push(name);
    else denied.push({ kind: "npm", value: name, reason: "not in AllowedNpmPackages" });
  }
  const seen = new Set<string>();
  return Object.freeze({
    read: Object.freeze(compactPaths(granted.read)),
    write: Object.freeze(compactPaths(granted.write)),
    net: Object.freeze([...new Set(granted.net)]),
    env: Object.freeze([...new Set(granted.env)]),
    run: false,
    ffi: false,
    sys: false,
    import: false,
    npm: Object.freeze([...new Set(npm)]),
    gpu: security?.allowGpu === true,
    denied: Object.freeze(denied.filter((d) => {
      const key = `${d.kind}\0${d.value}\0${d.reason}`;
      return seen.has(key) ? false : (seen.add(key), true);
    })),
    narrowed: Object.freeze(narrowed),
  });
}

/**
 * The `deno.permissions` option of a `Worker` for these permissions (an empty list becomes `false`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { computePermissions, toWorkerPermissions } from "./permissions.ts";
 * const p = computePermissions({
 *   manifestPermissions: { read: [], write: [], net: [], env: [] },
 *   pluginDir: "/srv/plugins/hello",
 *   implicitRead: ["/srv/plugins/hello"],
 *   hostHolds: () => true,
 * });
 * assert.deepEqual(toWorkerPermissions(p).read, ["/srv/plugins/hello"]);
 * ```
 */
export function toWorkerPermissions(p: EffectivePermissions): Deno.PermissionOptionsObject {
  const list = (values: readonly string[]): string[] | false => values.length > 0 ? [...values] : false;
  return {
    read: list(p.read),
    write: list(p.write),
    net: list(p.net),
    env: list(p.env),
    run: false,
    ffi: false,
    sys: false,
    import: false,
  };
}

/**
 * The `deno run` flags granting these permissions (`--allow-read=a,b`, …; none for an empty list). Throws a
 * `TypeError` for a value containing a comma, which a flag cannot express.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { computePermissions, toDenoFlags } from "./permissions.ts";
 * const p = computePermissions({
 *   manifestPermissions: { read: [], write: [], net: [], env: [] },
 *   pluginDir: "/srv/plugins/hello",
 *   implicitRead: ["/srv/plugins/hello"],
 *   hostHolds: () => true,
 * });
 * assert.deepEqual(toDenoFlags(p), ["--allow-read=/srv/plugins/hello"]);
 * ```
 */
export function toDenoFlags(p: EffectivePermissions): string[] {
  const flags: string[] = [];
  for (const kind of ["read", "write", "net", "env"] as const) {
    const values = p[kind];
    if (values.length === 0) continue;
    const bad = values.find((v) => v.includes(","));
    if (bad !== undefined) {
      throw new TypeError(`Cannot express "${bad}" in --allow-${kind}: it contains a comma`);
    }
    flags.push(`--allow-${kind}=${values.join(",")}`);
  }
  return flags;
}
