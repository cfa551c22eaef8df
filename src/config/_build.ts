/**
 * The step from validated configuration data (src/config/_schema.ts) to a frozen {@linkcode HostConfig}:
 * defaults filled in, paths made absolute, keys given their HostConfig names.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import type { ConfigDefaults, HostConfig, PluginConfig, ResourceLimits, SecurityEntry } from "./types.ts";
import type { Segment } from "./_parse.ts";
import { type BlockData, type ConfigData, has, type LimitsData, OPTIONS } from "./_schema.ts";

/** Where the key at a normalized path was written, as `file:line:column`; undefined without a file. */
export type KeyLocator = (path: readonly Segment[]) => string | undefined;

const toLimits = (l: LimitsData | undefined): ResourceLimits =>
  Object.freeze({
    ...(l?.maxmemorymb === undefined ? {} : { maxMemoryMB: l.maxmemorymb }),
    ...(l?.maxcpupercent === undefined ? {} : { maxCpuPercent: l.maxcpupercent }),
    ...(l?.maxhandles === undefined ? {} : { maxHandles: l.maxhandles }),
    ...(l?.maxtimers === undefined ? {} : { maxTimers: l.maxtimers }),
    ...(l?.softmemorymb === undefined ? {} : { softMemoryMB: l.softmemorymb }),
    ...(l?.softcpupercent === undefined ? {} : { softCpuPercent: l.softcpupercent }),
    ...(l?.maxlifetime === undefined ? {} : { maxLifetimeMs: l.maxlifetime }),
  });
const unique = <T>(list: readonly T[]): readonly T[] => Object.freeze([...new Set(list)]);
const absolute = (baseDir: string, paths: readonly string[] | undefined): readonly string[] =>
  unique((paths ?? []).map((path) => isAbsolute(path) ? resolve(path) : resolve(baseDir, path)));

function toPlugin(id: string, block: BlockData, d: ConfigDefaults, locate: KeyLocator): PluginConfig {
  // The elastic keys are absent unless written: "not set" lets the host-wide value (or none) apply.
  const replicasAt = block.replicas === undefined ? undefined : locate(["plugins", id, "replicas"]);
  return Object.freeze({
    enabled: block.enabled ?? d.plugin.enabled,
    isolation: block.isolation ?? d.plugin.isolation,
    resourceLimits: toLimits(block.resourcelimits),
    settings: block.settings ?? {},
    ...(block.replicas === undefined ? {} : { replicas: block.replicas }),
    ...(replicasAt === undefined ? {} : { replicasAt }),
    ...(block.maxconcurrency === undefined ? {} : { maxConcurrency: block.maxconcurrency }),
    ...(block.queuetimeout === undefined ? {} : { queueTimeoutMs: block.queuetimeout }),
    ...(block.activation === undefined ? {} : { activation: block.activation }),
    ...(block.idletimeout === undefined ? {} : { idleTimeoutMs: block.idletimeout }),
  });
}

/**
 * Turns validated data into a frozen {@linkcode HostConfig}, filling in defaults. `locate` says where a key
 * was written (for `replicasAt`); without a file it finds nothing.
 */
export function buildConfig(
  data: ConfigData,
  defaults: ConfigDefaults,
  baseDir: string,
  configFile: string | undefined,
  locate: KeyLocator = () => undefined,
): HostConfig {
  const d = defaults;
  const p = data.plugins ?? {};
  // Keyed by ids from the file: built with Object.fromEntries (own properties, never a prototype write even for
  // "__proto__" or "constructor"), read with Object.hasOwn (config.ts here).
  const plugins: Record<string, PluginConfig> = Object.fromEntries(
    Object.entries(p).filter(([id]) => !has(OPTIONS, id)).map((
      [id, raw],
    ) => [id, toPlugin(id, raw as BlockData, d, locate)]),
  );
  const securityEntries: Record<string, SecurityEntry> = Object.fromEntries(
    Object.entries(data.pluginsecurity ?? {}).map(([id, s]) => [
      id,
      Object.freeze({
        allowFileSystemAccess: s.allowfilesystemaccess ?? false,
        allowedPaths: absolute(baseDir, s.allowedpaths),
        allowNetworkAccess: s.allownetworkaccess ?? false,
        allowedNetworkEndpoints: unique(s.allowednetworkendpoints ?? []),
        allowedEnvironmentVariables: unique(s.allowedenvironmentvariables ?? []),
        // Absent unless written, so that an entry without them reads as it always did.
        ...(s.allowgpu === undefined ? {} : { allowGpu: s.allowgpu }),
        ...(s.allowednpmpackages === undefined ? {} : { allowedNpmPackages: unique(s.allowednpmpackages) }),
        ...(s.folder === undefined ? {} : { folder: absolute(baseDir, [s.folder])[0] }),
        ...(s.signer === undefined ? {} : { signer: s.signer }),
      }),
    ]),
  );
  return Object.freeze({
    ...(configFile === undefined ? {} : { configFile }),
    baseDir,
    pluginsDirectory: resolve(baseDir, p.pluginsdirectory ?? d.pluginsDirectory),
    enableHotReload: p.enablehotreload ?? d.enableHotReload,
    reloadDelayMs: p.reloaddelay ?? d.reloadDelayMs,
    healthCheckIntervalMs: p.healthcheckinterval ?? d.healthCheckIntervalMs,
    enableMetrics: p.enablemetrics ?? d.enableMetrics,
    callTimeoutMs: p.calltimeout ?? d.callTimeoutMs,
    drainTimeoutMs: p.draintimeout ?? d.drainTimeoutMs,
    activation: p.activation ?? d.activation,
    resourceLimits: toLimits(p.resourcelimits),
    validateSignatures: p.validatesignatures ?? d.validateSignatures,
    trustedCertificateThumbprints: unique(p.trustedcertificatethumbprints ?? []),
    sharedModules: absolute(baseDir, p.sharedmodules),
    probingPaths: absolute(baseDir, p.probingpaths),
    admin: Object.freeze({
      hostname: p.admin?.hostname ?? d.admin.hostname,
      port: p.admin?.port ?? d.admin.port,
      token: p.admin?.token ?? d.admin.token,
      ...(p.admin?.tokenfile === undefined ? {} : { tokenFile: resolve(baseDir, p.admin.tokenfile) }),
    }),
    logging: Object.freeze({ format: p.logging?.format ?? d.logging.format }),
    ...(p.cluster === undefined ? {} : {
      cluster: Object.freeze({
        servers: unique(p.cluster.servers ?? ["nats://127.0.0.1:4222"]), // NATS's own default
        name: p.cluster.name ?? "dotcompute",
        ...(p.cluster.hostid === undefined ? {} : { hostId: p.cluster.hostid }),
        ...(p.cluster.token === undefined ? {} : { token: p.cluster.token }),
        ...(p.cluster.tokenfile === undefined ? {} : { tokenFile: resolve(baseDir, p.cluster.tokenfile) }),
        ...(p.cluster.credsfile === undefined ? {} : { credsFile: resolve(baseDir, p.cluster.credsfile) }),
        bundles: p.cluster.bundles ?? false,
      }),
    }),
    plugins: Object.freeze(plugins),
    security: Object.freeze(securityEntries),
  });
}
