/**
 * Internal: spawning a plugin's connection in its isolation tier, with its logs, usage reports, metrics, protocol
 * errors and calls to other plugins wired back to the parts of the plugin that own them.
 *
 * @module
 */

import type { Logger, LogLevel } from "../_npm/logtape.ts";
import { CallTimeoutError, PluginHostError } from "../errors.ts";
import { checkGrantLinks } from "../permissions/grant_links.ts";
import { checkImports } from "../discovery/import_check.ts";
import type { PluginConnection, SpawnAdmission, WireTraffic } from "../isolation/tier.ts";
import type { PluginOptions } from "./types.ts";
import { boundLogProperties } from "../rpc/_log_bounds.ts";
import { toFileUrl } from "../_common/paths.ts";
import type { HealthChecks } from "./_health.ts";
import type { ResourceWatch } from "./_resources.ts";
import type { CallMetrics } from "./metrics.ts";
import type { LogBudget } from "../logging/log_rate.ts";
import { poolShare } from "../isolation/fd_reserve.ts";
import { DEFAULT_MAX_HANDLES, DEFAULT_MAX_TIMERS } from "../runtime/_budget.ts";
import { ReplicaSet } from "./_replicas.ts";
import type { Shutdowns } from "./_shutdowns.ts";
import type { ShutdownReason } from "../lifecycle/shutdown.ts";
import type { SoftLimits } from "./_soft_limits.ts";

/** The parts of a plugin a connection reports to; each owns what it is told. */
export interface PluginParts {
  readonly id: string;
  readonly log: Logger;
  readonly metrics: CallMetrics;
  readonly traffic: WireTraffic;
  /** Its log budget (none when the host sets no limit). */
  readonly logs: LogBudget | undefined;
  readonly resources: ResourceWatch;
  readonly health: HealthChecks;
  /** The ends of its instances, by reason. */
  readonly shutdowns: Shutdowns;
  /** Its soft limits: an instance past one is retired. */
  readonly soft: SoftLimits;
}

/** The ends nobody asked for: a replica's is logged, since it raises no crash event. */
const UNASKED: ReadonlySet<ShutdownReason> = new Set(["crash", "memory", "cpu", "unresponsive"]);

/** Whether `o` runs as a replica set: several replicas, or a cap on calls in flight. */
const pooled = (o: PluginOptions): boolean => (o.replicas ?? 1) > 1 || o.maxConcurrency !== undefined;

/** Whether a reload from `a` to `b` can roll replicas one at a time (the set itself stays as it is). */
export function samePool(a: PluginOptions, b: PluginOptions): boolean {
  const idem = (o: PluginOptions): string => [...o.discovered.manifest.idempotent].sort().join();
  return pooled(a) && pooled(b) && a.replicas === b.replicas && a.maxConcurrency === b.maxConcurrency &&
    a.queueTimeoutMs === b.queueTimeoutMs && a.callTimeoutMs === b.callTimeoutMs &&
    a.hookTimeoutMs === b.hookTimeoutMs && a.drainTimeoutMs === b.drainTimeoutMs && idem(a) === idem(b);
}

/**
 * The plugin's connection for definition `o`: one worker (or process), or a {@linkcode ReplicaSet} whose
 * replicas, restarted later, are of `current(set)` (the definition in force once the set is the plugin's).
 */
export async function open(
  c: PluginParts,
  o: PluginOptions,
  current: (set: ReplicaSet) => PluginOptions,
): Promise<PluginConnection> {
  if (!pooled(o)) return spawn(c, o);
  let set: ReplicaSet | undefined;
  const metered = o.enableMetrics !== false;
  return await ReplicaSet.open({
    id: c.id,
    count: o.replicas ?? 1,
    ...(o.maxConcurrency ? { maxConcurrency: o.maxConcurrency } : {}),
    ...(o.queueTimeoutMs ? { queueTimeoutMs: o.queueTimeoutMs } : {}),
    callTimeoutMs: o.callTimeoutMs,
    hookTimeoutMs: o.hookTimeoutMs,
    drainTimeoutMs: o.drainTimeoutMs,
    idempotent: new Set(o.discovered.manifest.idempotent),
    spawn: () => spawn(c, set ? current(set) : o, (conn, heap) => set?.usage(conn, heap)),
    ended: (index, reason, detail) => {
      c.shutdowns.record(o.events, undefined, reason, detail, index);
      // A replica's death is no crash of the plugin (no crash event, no self-healing of it all): said here.
      if (UNASKED.has(reason)) {
        c.log.warn("replica {replica} of plugin {id} ended ({reason}): {detail}; it restarts alone", {
          replica: index,
          id: c.id,
          reason,
          detail,
        });
      }
    },
    healed: (replica, attempt, error) =>
      o.events.emit("heal", {
        id: c.id,
        action: error ? "failed" : "restarted",
        attempt,
        replica,
        reason: error
          ? `replica ${replica} could not be restarted: ${error.message}`
          : `replica ${replica} restarted`,
        at: Date.now(),
      }),
    retried: () => metered && c.metrics.started(),
    dropped: (at, error) => metered && c.metrics.finish(at, error),
  }).then((opened) => set = opened);
}

/** Says (at most once a second) how many of the plugin's log records were dropped over its budget. */
function droppedLogs(c: PluginParts, force = false): void {
  const dropped = c.logs?.report(Date.now(), force) ?? 0;
  if (dropped === 0) return void c.logs?.later(() => droppedLogs(c));
  c.log.warn("plugin {id} logged faster than its budget ({perSecond}/s): {dropped} records dropped", {
    id: c.id,
    perSecond: c.logs!.rate.perSecond,
    dropped,
  });
}

/** The checks a plugin's grants and imports must pass before its module loads; resolves what the load needs. */
async function admit(c: PluginParts, o: PluginOptions): Promise<SpawnAdmission> {
  const d = o.discovered;
  const links = await checkGrantLinks(o.permissions, [d.dir]);
  for (const folder of links.unchecked) {
    c.log.warn("plugin {id}: granted folder {folder} is too big to check for symlinks to the end", {
      id: c.id,
      folder,
    });
  }
  if (links.problems.length > 0) {
    throw new PluginHostError("LOAD_FAILED", `Cannot start plugin "${c.id}": ${links.problems.join("; ")}`, {
      pluginId: c.id,
    });
  }
  // npm packages load whatever the plugin's permissions say: refused here, before anything is fetched.
  const imports = checkImports(c.id, toFileUrl(d.entryPath), d.dir, o.permissions);
  if (imports.problems.length > 0) {
    throw new PluginHostError(
      "LOAD_FAILED",
      `Cannot start plugin "${c.id}": ${imports.problems.join("; ")}`,
      {
        pluginId: c.id,
      },
    );
  }
  return imports.importHook ? { importHook: true } : {};
}

/** Spawns a connection for the plugin as `o` defines it (the current options, or a new version's). */
export async function spawn(
  c: PluginParts,
  o: PluginOptions,
  heapOf?: (conn: PluginConnection, heapUsed: number) => void,
): Promise<PluginConnection> {
  const d = o.discovered;
  // Judged once the unit is booting, not before (its Worker's constructor alone holds this thread ~27 ms, and the
  // microtask runs after it): the load message waits for the verdict; no plugin code runs in a unit refused here.
  const admission = Promise.resolve().then(() => admit(c, o));
  admission.catch(() => {}); // the link reports it; a unit that never started must not leave it unhandled
  let conn: PluginConnection | undefined;
  // Worker-tier plugins share the host's descriptor table: they also draw on its pool (src/isolation/fd_reserve.ts).
  const share = o.tier.kind === "worker" ? poolShare() : undefined;
  const spawning = o.tier.spawn({
    id: c.id,
    name: d.manifest.name,
    version: d.manifest.version,
    entryUrl: toFileUrl(d.entryPath),
    settings: o.settings,
    dependencies: Object.keys(d.manifest.dependencies),
    permissions: o.permissions,
    admission,
    callTimeoutMs: o.callTimeoutMs,
    loadTimeoutMs: o.hookTimeoutMs,
    traffic: c.traffic,
    onMethodEnd: (startedAt, error) => methodEnded(c, o, conn, startedAt, error),
    ...(o.maxMemoryMB ? { maxMemoryMB: o.maxMemoryMB } : {}),
    ...(o.maxCpuPercent ? { maxCpuPercent: o.maxCpuPercent } : {}),
    // A limit judged from usage reports needs them every second, busy or idle; an unlimited idle plugin not.
    usageNeeded: Boolean(o.maxMemoryMB || o.maxCpuPercent || o.softMemoryMB || o.softCpuPercent),
    budget: {
      maxHandles: o.maxHandles ?? DEFAULT_MAX_HANDLES,
      maxTimers: o.maxTimers ?? DEFAULT_MAX_TIMERS,
      ...(share ? { pool: share.pool, slot: share.slot } : {}),
    },
    onUsage: (m) => {
      c.resources.usage(m.blockedMs, m.intervalMs, m.heapUsed, m.tickMs ?? 100);
      c.resources.overMemory(conn, m.heapUsed, m.external ?? 0, o.maxMemoryMB);
      if (conn) {
        heapOf?.(conn, m.heapUsed);
        c.soft.usage(conn, o, m);
      }
      droppedLogs(c); // once a second: a flood that stopped is still reported
    },
    onLog: (m) => {
      if (c.logs && !c.logs.take()) {
        c.metrics.logsDropped(1);
        return void droppedLogs(c);
      }
      droppedLogs(c);
      // Emitted by the plugin's own logger with the full category on the record: a plugin-chosen part never
      // becomes a key in LogTape's logger tree (getChild("constructor") threw, "__proto__" rewired it).
      const record = {
        category: [...c.log.category, ...m.category.slice(1)],
        level: m.level as LogLevel,
        message: [m.message],
        rawMessage: m.message,
        properties: { ...boundLogProperties(m.properties), pluginId: c.id },
        timestamp: Date.now(),
      };
      c.log.emit(record as Parameters<typeof c.log.emit>[0]);
    },
    onMetrics: (m) => c.metrics.setCustom({ counters: m.counters, histograms: m.histograms }),
    onProtocolError: (reason) => {
      c.metrics.protocolError();
      c.log.warn("dropped a malformed message from the plugin: {reason}", { reason });
      o.events.emit("protocolError", { id: c.id, reason, at: Date.now() });
    },
    onPluginCall: (target, method, args, signal) => o.onPluginCall(c.id, target, method, args, signal),
  });
  spawning.then((spawned) =>
    void spawned.exited.then(() => {
      share?.reclaim();
      // What its last second dropped is said now, and no timer outlives the worker.
      droppedLogs(c, true);
      c.logs?.cancel();
    }), () => share?.reclaim());
  const spawned = await spawning.then((s) => conn = s);
  c.soft.watch(spawned, o);
  return spawned;
}

/** A method call ended (told by the connection, once per call): metrics, and a probe after a timeout. */
function methodEnded(
  c: PluginParts,
  o: PluginOptions,
  conn: PluginConnection | undefined,
  startedAt: number,
  error: unknown,
): void {
  if (o.enableMetrics !== false) c.metrics.finish(startedAt, error);
  if (conn && error instanceof CallTimeoutError) void c.health.probe(conn, o.callTimeoutMs);
}
