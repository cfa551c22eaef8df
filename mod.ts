/**
 * DotCompute Plugins for Deno: a plugin host in which every plugin runs in its own Deno Worker holding only the
 * permissions it was granted.
 *
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPluginHost } from "@dotcompute/plugins";
 *
 * // A host configuration, and a plugins folder holding one plugin.
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/host.jsonc`, '{ "Plugins": { "PluginsDirectory": "./plugins" } }');
 * const plugin = `${dir}/plugins/hello`;
 * await Deno.mkdir(plugin, { recursive: true });
 * await Deno.writeTextFile(`${plugin}/plugin.jsonc`, '{ "id": "hello.world", "name": "Hello", "version": "1.0.0" }');
 * await Deno.writeTextFile(`${plugin}/mod.ts`, 'export default { methods: { greet: (n: string) => "hello " + n } };');
 *
 * {
 *   await using host = await createPluginHost(`${dir}/host.jsonc`);
 *   await host.start();
 *   assert.equal(await host.getPlugin("hello.world")?.call("greet", "Ada"), "hello Ada");
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

export { createPluginHost } from "./src/create.ts";
export type { HostStatistics, PluginHost, PluginHostOptions } from "./src/host/host.ts";
export { discoverPlugins } from "./src/discovery/discovery.ts";
export type { DiscoverOptions, DiscoveryResult } from "./src/discovery/discovery.ts";
export { CAPABILITIES, MANIFEST_FILES, parseManifest } from "./src/manifest/manifest.ts";
export type { Capability, ManifestPermissions, PluginManifest } from "./src/manifest/manifest.ts";
export { loadPluginFolder } from "./src/discovery/plugin_folder.ts";
export type { DiscoveredPlugin } from "./src/discovery/plugin_folder.ts";
export { CONFIG_DEFAULTS, loadConfig, normalizeConfig, parseConfig } from "./src/config/config.ts";
export type {
  AdminConfig,
  ClusterConfig,
  ConfigDefaults,
  HostConfig,
  LoadedConfig,
  LoggingConfig,
  NormalizeOptions,
  PluginConfig,
  ResourceLimits,
  SecurityEntry,
} from "./src/config/config.ts";
export { PluginHostBuilder, usePlugins } from "./src/host/builder.ts";
export type {
  AdminOptions,
  ClusterOptions,
  Duration,
  LoaderOptions,
  ManagerOptions,
  PluginBlockOptions,
  ResourceLimitOptions,
  SecurityOptions,
} from "./src/host/builder.ts";
export { computePermissions, toDenoFlags, toWorkerPermissions } from "./src/permissions/permissions.ts";
export type {
  DeniedPermission,
  EffectivePermissions,
  NarrowedPermission,
  PermissionInput,
  PermissionKind,
} from "./src/permissions/permissions.ts";
export { canTransition, Lifecycle, PluginState } from "./src/lifecycle/lifecycle.ts";
export type { StateChange } from "./src/lifecycle/lifecycle.ts";
export { SHUTDOWN_REASONS } from "./src/lifecycle/shutdown.ts";
export type { RetireReason, ShutdownEvent, ShutdownReason } from "./src/lifecycle/shutdown.ts";
export { Plugin } from "./src/plugin/plugin.ts";
export { DEFAULT_LOG_RATE } from "./src/logging/log_rate.ts";
export type { LogRate } from "./src/logging/log_rate.ts";
export type { PluginHandle, PluginOptions } from "./src/plugin/plugin.ts";
export { CallMetrics, LatencyHistogram } from "./src/plugin/metrics.ts";
export type { LatencySummary, PluginMetricsSnapshot, ResourceUsage } from "./src/plugin/metrics.ts";
export type { QueueSnapshot, ReplicaSnapshot } from "./src/plugin/pool_metrics.ts";
export { Emitter } from "./src/events/events.ts";
export type {
  ApprovalEvent,
  BundleEvent,
  ConfigChange,
  ConfigEvent,
  CrashEvent,
  DependencyEvent,
  DiscoveryFailureEvent,
  FleetEvent,
  HostEventMap,
  ProtocolErrorEvent,
  ReloadEvent,
} from "./src/events/events.ts";
export { pluginFolderOf } from "./src/discovery/watch.ts";
export { SIGNATURE_FILE, SignatureError, signPlugin, verifyPlugin } from "./src/trust/trust.ts";
export type {
  FileDigest,
  PluginSignature,
  SignatureProblem,
  SignatureProblemKind,
  VerifyOptions,
  VerifyResult,
} from "./src/trust/trust.ts";
export {
  exportKeyPem,
  generateKeyPair,
  importPublicKey,
  importSigningKeys,
  rawPublicKey,
  readSigningKeys,
  thumbprint,
  writeKeyPair,
} from "./src/trust/keys.ts";
export type { KeyPairFiles, SigningKeys } from "./src/trust/keys.ts";
export { describePermissions, permissionIncrease } from "./src/host/approvals.ts";
export type { PendingApproval } from "./src/host/approvals.ts";
export { startOrder } from "./src/deps/graph.ts";
export { DEFAULT_RESTART_POLICY, RestartTracker } from "./src/health/restart_policy.ts";
export type { RestartDecision, RestartPolicy } from "./src/health/restart_policy.ts";
export { SelfHealer } from "./src/health/self_heal.ts";
export type { HealEvent, HealTarget } from "./src/health/self_heal.ts";
export type { GraphNode, StartOrder } from "./src/deps/graph.ts";
export { resolveDependencies } from "./src/deps/resolver.ts";
export type {
  DependencyBinding,
  DependencyFailure,
  Resolution,
  ResolvedPlugin,
  ResolverManifest,
} from "./src/deps/resolver.ts";
export type { HostMetricsSnapshot, ServiceHandle } from "./src/deps/services.ts";
export { HOST_METRICS_SERVICE, HOST_METRICS_VERSION } from "./src/deps/services.ts";
export { WorkerTier } from "./src/isolation/worker_tier.ts";
export { ProcessTier } from "./src/isolation/process_tier.ts";
export type { PluginProcess } from "./src/isolation/process_tier.ts";
export type {
  ExitInfo,
  IsolationTier,
  PluginConnection,
  SpawnAdmission,
  SpawnSpec,
  WireTraffic,
} from "./src/isolation/tier.ts";
export { collectTransferables, RpcEndpoint } from "./src/rpc/endpoint.ts";
export type { CallOptions, RpcEndpointOptions, Send } from "./src/rpc/endpoint.ts";
export { parseWorkerMessage, PROTOCOL_VERSION, SERVICE_TARGET } from "./src/rpc/protocol.ts";
export type * from "./src/rpc/protocol.ts";
export {
  CallTimeoutError,
  ConfigError,
  formatDiagnostic,
  ManifestError,
  PluginCrashedError,
  PluginHostError,
} from "./src/errors.ts";
export type { Diagnostic, PluginHostErrorCode, PluginHostErrorOptions } from "./src/errors.ts";
export { createAdminApp } from "./src/admin/app.ts";
export { instrumentHost } from "./src/otel.ts";
export type {
  HostInstrumentation,
  InstrumentHostOptions,
  ObservableInstrument,
  ObservableInstrumentOptions,
  ObservableMeter,
  ObservableMeterProvider,
  ObservationAttributes,
  ObservationResult,
} from "./src/otel.ts";
export type { AdminApp, AdminAppOptions } from "./src/admin/app.ts";
export type { AdminServer, ServeAdminOptions } from "./src/admin/server.ts";
export type { Diagnosis, Finding, FindingKind, Severity } from "./src/admin/diagnosis.ts";
export type { HealthChangeEvent } from "./src/admin/health_events.ts";
export type { HealthStatus } from "./src/admin/views.ts";
export { BackendPluginBase, definePlugin } from "./src/plugin_api.ts";
export type {
  ClassPluginMethods,
  DependencyChange,
  HealthReport,
  LogProperties,
  MethodArgs,
  MethodName,
  MethodResult,
  PluginCalls,
  PluginContext,
  PluginCounter,
  PluginDefinition,
  PluginHistogram,
  PluginLogger,
  PluginMethod,
  PluginMethods,
  PluginMetrics,
  ServiceProxy,
  UntypedMethods,
} from "./src/plugin_api.ts";
export type { FleetHost, HostCluster } from "./src/cluster/types.ts";
