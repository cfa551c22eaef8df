/**
 * Dependency resolution, pure: manifests in, for each plugin whether it can start (and why not), which plugin
 * satisfies each of its dependencies, and the start levels.
 *
 * A dependency names a plugin id or a capability from some plugin's `provides`: its candidates are the plugin
 * with that id (at the plugin's version) and every plugin providing a capability of that name (at the version
 * provided). The candidate with the highest version the range accepts is chosen. A plugin fails when a
 * required dependency has no candidate (`missing`), none in range (`version`), when it sits on a cycle of
 * required dependencies (`cycle`), or when every candidate in range failed itself (`dependency`); the
 * message names the chain down to the cause. Optional dependencies never fail a plugin: when satisfied they
 * only order the start (an optional edge that would close a cycle is dropped).
 *
 * @module
 */

import { findCycles, layer } from "./graph.ts";
import { SemverCache, type SemVerLike } from "../_common/semver.ts";
import { HOST_METRICS_SERVICE } from "./services.ts";

const HOST_SERVICES: ReadonlySet<string> = new Set([HOST_METRICS_SERVICE]);

/** What the resolver reads of a manifest (a {@linkcode PluginManifest} fits). */
export interface ResolverManifest {
  /** The plugin id. */
  readonly id: string;
  /** The plugin's version. */
  readonly version: string;
  /** Capability id -> the version of it the plugin offers. */
  readonly provides?: Readonly<Record<string, string>>;
  /** Plugin or capability id -> semver range: the plugin cannot start without them. */
  readonly dependencies?: Readonly<Record<string, string>>;
  /** Plugin or capability id -> semver range: used when present, never a reason to fail. */
  readonly optionalDependencies?: Readonly<Record<string, string>>;
}

/** How one declared dependency was resolved. */
export interface DependencyBinding {
  /** The dependency as declared: a plugin id or a capability id. */
  readonly name: string;
  /** The range declared. */
  readonly range: string;
  /** Declared under `optionalDependencies`. */
  readonly optional: boolean;
  /** The plugin chosen to satisfy it; absent when none can (only possible for an optional one). */
  readonly provider?: string;
  /** The version of `name` the provider offers. */
  readonly version?: string;
}

/** Why a plugin cannot start. */
export interface DependencyFailure {
  /** `missing`: nothing has that name; `version`: nothing in range; `cycle`; `dependency`: what it needs failed. */
  readonly kind: "missing" | "version" | "cycle" | "dependency";
  /** The whole message, e.g. `c needs storage.kv ^2.0.0, found 1.4.0` or `x → a: dependency cycle a → b → a`. */
  readonly reason: string;
  /** The declared dependency that failed the plugin. */
  readonly name: string;
  /** Plugin ids from this plugin down to the cause; for a plugin on a cycle, the cycle (`[a, b, a]`). */
  readonly chain: readonly string[];
}

/** The outcome for one plugin. */
export interface ResolvedPlugin {
  /** The plugin id. */
  readonly id: string;
  /** True when the plugin can start. */
  readonly ok: boolean;
  /** Its start level (0 first), when `ok`. */
  readonly level?: number;
  /** Every declared dependency, required first, each sorted by name. */
  readonly bindings: readonly DependencyBinding[];
  /** Why it cannot start, when not `ok`. */
  readonly failure?: DependencyFailure;
  /** Things worth a log line that fail nothing (an optional dependency left out, and why). */
  readonly notes: readonly string[];
}

/** The outcome for every plugin. */
export interface Resolution {
  /** By plugin id. */
  readonly plugins: ReadonlyMap<string, ResolvedPlugin>;
  /** The plugins that can start, by level, each level sorted; a level depends only on earlier ones. */
  readonly levels: readonly (readonly string[])[];
  /** The plugins that cannot start, sorted. */
  readonly failed: readonly string[];
}

interface Candidate {
  readonly id: string;
  readonly version: string;
  /** Null when `version` is not semver. */
  readonly parsed: SemVerLike | null;
}
interface Dep {
  readonly name: string;
  readonly range: string;
  readonly optional: boolean;
  readonly all: readonly Candidate[];
  /** The candidates in range, best first. */
  readonly matching: readonly Candidate[];
}
interface Failure {
  readonly kind: DependencyFailure["kind"];
  readonly name: string;
  readonly chain: readonly string[];
  /** The cause's own message (the chain's last plugin's). */
  readonly root: string;
}

const byBest = (a: Candidate, b: Candidate): number =>
  (a.parsed && b.parsed ? b.parsed.compare(a.parsed) : a.parsed ? -1 : b.parsed ? 1 : 0) ||
  (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const showFound = (name: string, found: readonly Candidate[]): string =>
  found.map((c) => c.id === name ? c.version : `${c.version} (${c.id})`).join(", ");

/**
 * Resolves every plugin's dependencies. Pure and deterministic; a repeated id keeps its first manifest.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveDependencies } from "./resolver.ts";
 * const r = resolveDependencies([
 *   { id: "kv", version: "1.4.0" },
 *   { id: "app", version: "1.0.0", dependencies: { kv: "^2.0.0" } },
 * ]);
 * assert.equal(r.plugins.get("app")?.failure?.reason, "app needs kv ^2.0.0, found 1.4.0");
 * assert.deepEqual(r.levels, [["kv"]]);
 * assert.deepEqual(r.failed, ["app"]);
 * ```
 */
export function resolveDependencies(manifests: Iterable<ResolverManifest>): Resolution {
  const nodes = new Map<string, ResolverManifest>();
  for (const m of manifests) if (!nodes.has(m.id)) nodes.set(m.id, m);
  const ids = [...nodes.keys()].sort();
  const parsed = new SemverCache();
  const offers = new Map<string, Candidate[]>();
  const offer = (name: string, c: Candidate): void => {
    const list = offers.get(name);
    if (list) list.push(c);
    else offers.set(name, [c]);
  };
  for (const id of ids) {
    const m = nodes.get(id)!;
    offer(id, { id, version: m.version, parsed: parsed.version(m.version) });
    for (const [name, version] of Object.entries(m.provides ?? {})) {
      if (name !== id) offer(name, { id, version, parsed: parsed.version(version) });
    }
  }

  // The candidates in range, best first, by name and range (many plugins ask for the same thing), and who
  // asks: a provider that fails is looked up here to re-check the plugins that could have used it.
  const matches = new Map<string, readonly Candidate[]>();
  /** provider id -> the keys (name and range) it is in range for. */
  const keysOf = new Map<string, string[]>();
  /** key -> the plugins asking for it. */
  const askers = new Map<string, string[]>();
  const matchesOf = (key: string, name: string, range: string): readonly Candidate[] => {
    let found = matches.get(key);
    if (found === undefined) {
      const r = parsed.range(range);
      found = r
        ? (offers.get(name) ?? []).filter((c) => c.parsed !== null && r.test(c.parsed)).sort(byBest)
        : [];
      matches.set(key, found);
      for (const c of found) {
        const keys = keysOf.get(c.id);
        if (keys) keys.push(key);
        else keysOf.set(c.id, [key]);
      }
    }
    return found;
  };
  const deps = new Map<string, Dep[]>();
  const notes = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const id of ids) {
    const m = nodes.get(id)!;
    const list: Dep[] = [];
    const add = (entries: Readonly<Record<string, string>>, optional: boolean): void => {
      for (const name of Object.keys(entries).sort()) {
        if (optional && Object.hasOwn(m.dependencies ?? {}, name)) {
          notes.get(id)!.push(`${name} is declared both required and optional; it is required`);
          continue;
        }
        const range = entries[name];
        const key = `${name}\0${range}`;
        const matching = matchesOf(key, name, range);
        const asking = askers.get(key);
        if (asking) asking.push(id);
        else askers.set(key, [id]);
        list.push({ name, range, optional, all: offers.get(name) ?? [], matching });
      }
    };
    add(m.dependencies ?? {}, false);
    add(m.optionalDependencies ?? {}, true);
    deps.set(id, list);
  }

  const failed = new Map<string, Failure>();
  const queue: string[] = [];
  const fail = (id: string, f: Failure): void => {
    if (failed.has(id)) return;
    failed.set(id, f);
    queue.push(id);
  };
  const best = (d: Dep): Candidate | undefined => d.matching.find((c) => !failed.has(c.id));
  /** Fails `id` if one of its required dependencies has no live candidate left. */
  const check = (id: string): void => {
    for (const d of deps.get(id)!) {
      if (d.optional || best(d)) continue;
      if (d.all.length === 0) {
        return fail(id, {
          kind: "missing",
          name: d.name,
          chain: [id],
          root: `${id} needs ${d.name} ${d.range}, not found`,
        });
      }
      if (d.matching.length === 0) {
        const found = showFound(d.name, [...d.all].sort(byBest));
        return fail(id, {
          kind: "version",
          name: d.name,
          chain: [id],
          root: `${id} needs ${d.name} ${d.range}, found ${found}`,
        });
      }
      const cause = failed.get(d.matching[0].id)!;
      const chain = cause.kind === "cycle" ? [id, d.matching[0].id] : [id, ...cause.chain];
      return fail(id, { kind: "dependency", name: d.name, chain, root: cause.root });
    }
  };
  const propagate = (): void => {
    while (queue.length > 0) {
      const gone = queue.shift()!;
      for (const key of keysOf.get(gone) ?? []) {
        for (const user of askers.get(key)!) if (!failed.has(user)) check(user);
      }
    }
  };

  for (const id of ids) check(id);
  propagate();
  // Levels over what can start: required edges, plus optional ones as long as they close no cycle. Whatever
  // never becomes ready sits on or behind a cycle: a cycle of required edges fails its members (and, through
  // propagate, who needs them); one closed by optional edges only loses those edges.
  const edgesOf = (id: string): Set<string> => {
    const out = new Set<string>();
    for (const d of deps.get(id)!) {
      const c = best(d);
      if (c && !(d.optional && c.id === id)) out.add(c.id);
    }
    return out;
  };
  let layered: { levels: string[][]; rest: string[] };
  for (;;) {
    const live = ids.filter((id) => !failed.has(id));
    const edges = new Map(live.map((id) => [id, edgesOf(id)]));
    layered = layer(live, edges);
    if (layered.rest.length === 0) break;
    const stuck = new Map(layered.rest.map((id) => [id, requiredEdges(deps.get(id)!, best)]));
    const cycles = findCycles(layered.rest, stuck);
    for (const [id, path] of cycles) {
      const name = nameFor(deps.get(id)!, path[1], best);
      fail(id, { kind: "cycle", name, chain: path, root: `dependency cycle ${path.join(" → ")}` });
    }
    propagate();
    if (cycles.size > 0) continue;
    const rest = new Set(layered.rest);
    for (const id of layered.rest) {
      for (const d of deps.get(id)!) {
        const c = best(d);
        if (!d.optional || !c || !rest.has(c.id) || c.id === id) continue;
        edges.get(id)!.delete(c.id);
        notes.get(id)!.push(`optional dependency ${d.name} does not order the start: it would close a cycle`);
      }
    }
    layered = layer(live, edges);
    break;
  }

  const levelOf = new Map(layered.levels.flatMap((l, i) => l.map((id) => [id, i] as const)));
  const plugins = new Map<string, ResolvedPlugin>();
  for (const id of ids) {
    const f = failed.get(id);
    const bindings = deps.get(id)!.map((d): DependencyBinding => {
      const c = f ? d.matching[0] : best(d);
      // Host-provided services (host.metrics) are declared as optional dependencies no plugin provides.
      if (d.optional && !c && !HOST_SERVICES.has(d.name)) notes.get(id)!.push(optionalNote(d));
      return c
        ? { name: d.name, range: d.range, optional: d.optional, provider: c.id, version: c.version }
        : { name: d.name, range: d.range, optional: d.optional };
    });
    const failure = f && {
      kind: f.kind,
      name: f.name,
      chain: f.chain,
      reason: f.chain.length > 1 && f.kind !== "cycle" ? `${f.chain.join(" → ")}: ${f.root}` : f.root,
    };
    plugins.set(id, {
      id,
      ok: !f,
      ...(f ? { failure } : { level: levelOf.get(id)! }),
      bindings,
      notes: notes.get(id)!,
    });
  }
  return { plugins, levels: layered.levels, failed: ids.filter((id) => failed.has(id)) };
}

function optionalNote(d: Dep): string {
  if (d.all.length === 0) return `optional dependency ${d.name} ${d.range} not found`;
  if (d.matching.length === 0) {
    return `optional dependency ${d.name} ${d.range} not used: found ${
      showFound(d.name, [...d.all].sort(byBest))
    }`;
  }
  return `optional dependency ${d.name} ${d.range} not used: ${d.matching[0].id} cannot start`;
}

function requiredEdges(list: readonly Dep[], best: (d: Dep) => Candidate | undefined): string[] {
  return list.flatMap((d) => {
    const c = d.optional ? undefined : best(d);
    return c ? [c.id] : [];
  });
}

function nameFor(list: readonly Dep[], provider: string, best: (d: Dep) => Candidate | undefined): string {
  return list.find((d) => !d.optional && best(d)?.id === provider)?.name ?? provider;
}
