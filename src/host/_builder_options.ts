/**
 * The options `PluginHostBuilder` takes (src/host/builder.ts re-exports them) and the shapes it
 * writes, spelt as a config file spells them.
 *
 * @module
 */

/** A duration: milliseconds as a number, or a .NET time span string such as `"00:01:00"`. */
export type Duration = number | string;

/** Resource limits as the builder takes them (`Plugins.ResourceLimits` or a plugin block's). */
export interface ResourceLimitOptions {
  /** Heap limit of a plugin, in MiB (`MaxMemoryMB`). */
  readonly maxMemoryMB?: number;
  /** CPU share of a plugin, in percent (`MaxCpuPercent`). */
  readonly maxCpuPercent?: number;
  /** Handles a plugin may hold at once (`MaxHandles`). */
  readonly maxHandles?: number;
  /** Timers a plugin may have pending at once (`MaxTimers`). */
  readonly maxTimers?: number;
  /** Heap use in MiB past which the plugin's instance is replaced (`SoftMemoryMB`); below `maxMemoryMB`. */
  readonly softMemoryMB?: number;
  /** CPU share in percent past which the instance is replaced (`SoftCpuPercent`); below `maxCpuPercent`. */
  readonly softCpuPercent?: number;
  /** How long an instance may live before it is replaced (`MaxLifetime`). */
  readonly maxLifetime?: Duration;
}

/** What `PluginHostBuilder.configureLoader` lets its callback change (the seed's loader options). */
export interface LoaderOptions {
  /** `Plugins.EnableHotReload`. */
  enableHotReload: boolean;
  /** `Plugins.ReloadDelay`: the debounce before a hot reload. */
  reloadDelay: Duration;
}

/** What `PluginHostBuilder.configureManager` lets its callback change (the seed's manager options). */
export interface ManagerOptions {
  /** `Plugins.ValidateSignatures`: require signed plugins. */
  validateSignatures: boolean;
  /** `Plugins.TrustedCertificateThumbprints`; `push` works like the seed's `.Add`. */
  trustedCertificateThumbprints: string[];
  /** `Plugins.CallTimeout`: timeout of a call or hook. */
  callTimeout: Duration;
  /** `Plugins.HealthCheckInterval`. */
  healthCheckInterval: Duration;
  /** `Plugins.DrainTimeout`: how long a stopping plugin may finish pending calls. */
  drainTimeout: Duration;
  /**
   * `Plugins.Activation`: when plugins start, `"eager"` (default) with the host or `"lazy"` at their first
   * call; a plugin block's `activation` overrides it.
   */
  activation: "eager" | "lazy";
}

/** A plugin block (`Plugins.<id>`) as `PluginHostBuilder.configurePlugin` takes it. */
export interface PluginBlockOptions {
  /** `Enabled`: whether the host loads the plugin. */
  readonly enabled?: boolean;
  /** `Isolation`: `"worker"` (default) or `"process"`. */
  readonly isolation?: "worker" | "process";
  /** `ResourceLimits` of this plugin; merged key by key with earlier calls. */
  readonly resourceLimits?: ResourceLimitOptions;
  /** `Settings` handed to the plugin; merged key by key with earlier calls. */
  readonly settings?: Readonly<Record<string, unknown>>;
  /** `Replicas`: instances run at once, 1 to 64; the plugin must declare `Scalable`. */
  readonly replicas?: number;
  /** `MaxConcurrency`: calls in flight per replica; more wait in a queue. */
  readonly maxConcurrency?: number;
  /** `QueueTimeout`: how long a call may wait in that queue. */
  readonly queueTimeout?: Duration;
  /** `Activation`: `"eager"` (start with the host) or `"lazy"` (at the first call); overrides the host's. */
  readonly activation?: "eager" | "lazy";
  /** `IdleTimeout`: stop the plugin after this long without a call. */
  readonly idleTimeout?: Duration;
}

/** A `PluginSecurity.<id>` entry as `PluginHostBuilder.configureSecurity` takes it. */
export interface SecurityOptions {
  /** `AllowFileSystemAccess`. */
  readonly allowFileSystemAccess?: boolean;
  /** `AllowedPaths`: paths or `file:` URL objects. */
  readonly allowedPaths?: readonly (string | URL)[];
  /** `AllowNetworkAccess`. */
  readonly allowNetworkAccess?: boolean;
  /** `AllowedNetworkEndpoints`: URLs or `"host:port"`. */
  readonly allowedNetworkEndpoints?: readonly string[];
  /** `AllowedEnvironmentVariables`: names, or prefixes ending in `*`. */
  readonly allowedEnvironmentVariables?: readonly string[];
  /** `AllowGpu`: whether the plugin may see WebGPU (`navigator.gpu`). */
  readonly allowGpu?: boolean;
  /** `AllowedNpmPackages`: npm package names the plugin may import. */
  readonly allowedNpmPackages?: readonly string[];
  /** `Folder`: the only plugin folder that may claim this id (a path or a `file:` URL object). */
  readonly folder?: string | URL;
  /** `Signer`: the only key thumbprint whose signature may claim this id. */
  readonly signer?: string;
}

/** `Plugins.Admin` as `PluginHostBuilder.setAdmin` takes it. */
export interface AdminOptions {
  /** `Hostname` to listen on. */
  readonly hostname?: string;
  /** `Port`; 0 picks a free one. */
  readonly port?: number;
  /** `Token` every route but `/health` requires (16 bytes or more); `null` removes it. */
  readonly token?: string | null;
  /** `TokenFile`: a file whose content is the token (relative paths resolve against the config's folder). */
  readonly tokenFile?: string;
}

/** {@linkcode PluginHostBuilder.cluster}'s options: `Plugins.Cluster`, the fleet this host joins on NATS. */
export interface ClusterOptions {
  /** NATS servers (`nats://host:port`); default `["nats://127.0.0.1:4222"]`. */
  readonly servers?: readonly string[];
  /** The fleet's name (a NATS subject token); default `"dotcompute"`. */
  readonly name?: string;
  /** This host's id in the fleet; default the hostname and pid. */
  readonly hostId?: string;
  /** A NATS token. */
  readonly token?: string;
  /** A file whose content is the NATS token (absolute path). */
  readonly tokenFile?: string;
  /** A NATS credentials file (absolute path). */
  readonly credsFile?: string;
  /** Install the bundles published to the fleet; default false. */
  readonly bundles?: boolean;
}

/** `ResourceLimits` as a file spells it. */
export interface Limits {
  MaxMemoryMB?: number;
  MaxCpuPercent?: number;
  MaxHandles?: number;
  MaxTimers?: number;
  SoftMemoryMB?: number;
  SoftCpuPercent?: number;
  MaxLifetime?: Duration;
}

/** The `Plugins` options, as a file spells them. */
export interface Section {
  PluginsDirectory?: string;
  EnableHotReload?: boolean;
  ReloadDelay?: Duration;
  HealthCheckInterval?: Duration;
  EnableMetrics?: boolean;
  CallTimeout?: Duration;
  DrainTimeout?: Duration;
  Activation?: "eager" | "lazy";
  ResourceLimits?: Limits;
  ValidateSignatures?: boolean;
  TrustedCertificateThumbprints?: string[];
  SharedModules?: string[];
  ProbingPaths?: string[];
  Admin?: { Hostname?: string; Port?: number; Token?: string | null; TokenFile?: string };
  Cluster?: {
    Servers?: string[];
    Name?: string;
    HostId?: string;
    Token?: string;
    TokenFile?: string;
    CredsFile?: string;
    Bundles?: boolean;
  };
}

/** A plugin block, as a file spells it. */
export interface Block {
  Enabled?: boolean;
  Isolation?: "worker" | "process";
  ResourceLimits?: Limits;
  Settings?: Record<string, unknown>;
  Replicas?: number;
  MaxConcurrency?: number;
  QueueTimeout?: Duration;
  Activation?: "eager" | "lazy";
  IdleTimeout?: Duration;
}

/** A `PluginSecurity` entry, as a file spells it. */
export interface Security {
  AllowFileSystemAccess?: boolean;
  AllowedPaths?: string[];
  AllowNetworkAccess?: boolean;
  AllowedNetworkEndpoints?: string[];
  AllowedEnvironmentVariables?: string[];
  AllowGpu?: boolean;
  AllowedNpmPackages?: string[];
  Folder?: string;
  Signer?: string;
}

/** Copies the defined values only, so that an option left out never overwrites an earlier one. */
export function defined<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The limits as a file spells them, those left out absent. */
export const limits = (l: ResourceLimitOptions): Limits =>
  defined({
    MaxMemoryMB: l.maxMemoryMB,
    MaxCpuPercent: l.maxCpuPercent,
    MaxHandles: l.maxHandles,
    MaxTimers: l.maxTimers,
    SoftMemoryMB: l.softMemoryMB,
    SoftCpuPercent: l.softCpuPercent,
    MaxLifetime: l.maxLifetime,
  });

/** A block's scalar options as a file spells them, those left out absent. */
export const blockScalars = (o: PluginBlockOptions): Block =>
  defined({
    Enabled: o.enabled,
    Isolation: o.isolation,
    Replicas: o.replicas,
    MaxConcurrency: o.maxConcurrency,
    QueueTimeout: o.queueTimeout,
    Activation: o.activation,
    IdleTimeout: o.idleTimeout,
  });
