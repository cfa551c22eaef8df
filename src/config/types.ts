/**
 * The shapes of the host configuration, declared once: what config.ts loads and _schema.ts builds.
 *
 * @module
 */

/**
 * Resource limits for the host's plugins or one plugin. Absent means unlimited. A hard limit (`Max...`) ends
 * the plugin; a soft limit (`Soft...`, and `MaxLifetime`) retires its instance and replaces it: a fresh one
 * takes the new calls while the old one finishes those it has. A soft limit must be below the hard one when
 * one object sets both.
 */
export interface ResourceLimits {
  /** Heap limit of a plugin, in MiB. */
  readonly maxMemoryMB?: number;
  /** CPU share of a plugin, in percent (0 < x <= 100). */
  readonly maxCpuPercent?: number;
  /**
   * Handles a plugin may hold at once (key `MaxHandles`): open files, sockets, listeners, watchers, child
   * processes and operations in flight that hold one. Absent: the host's default budget.
   */
  readonly maxHandles?: number;
  /** Timers a plugin may have pending at once (key `MaxTimers`). Absent: the host's default budget. */
  readonly maxTimers?: number;
  /** Heap use, in MiB, past which the plugin's instance is retired and replaced (key `SoftMemoryMB`). */
  readonly softMemoryMB?: number;
  /** CPU share, in percent (0 < x <= 100), past which the instance is replaced (key `SoftCpuPercent`). */
  readonly softCpuPercent?: number;
  /** How long an instance may live before it is replaced, in ms (key `MaxLifetime`); more than zero. */
  readonly maxLifetimeMs?: number;
}

/** The host's settings for one plugin (a block under `Plugins` keyed by the plugin id). */
export interface PluginConfig {
  /** Whether the host loads the plugin; default true. */
  readonly enabled: boolean;
  /** How the plugin is isolated; default `"worker"`. */
  readonly isolation: "worker" | "process";
  /** The plugin's own limits (they override the host-wide ones). */
  readonly resourceLimits: ResourceLimits;
  /** Settings handed to the plugin, overriding its manifest's; keys keep their case. Default `{}`. */
  readonly settings: Readonly<Record<string, unknown>>;
  /** Instances of the plugin run at once (key `Replicas`): an integer from 1 to 64. Absent: not set. */
  readonly replicas?: number;
  /**
   * Where the `Replicas` key was written, as `file:line:column`, when the configuration came from a file: for
   * the located error a plugin that does not declare `Scalable` gets.
   */
  readonly replicasAt?: string;
  /** Calls in flight per replica (key `MaxConcurrency`); more wait in a queue. A positive integer. */
  readonly maxConcurrency?: number;
  /** How long a call may wait in that queue, in ms (key `QueueTimeout`); more than zero. */
  readonly queueTimeoutMs?: number;
  /**
   * When the plugin starts (key `Activation`): `"eager"` with the host, `"lazy"` at its first call. Absent: the
   * host-wide {@linkcode HostConfig.activation}.
   */
  readonly activation?: "eager" | "lazy";
  /** Stop the plugin after this long without a call, in ms (key `IdleTimeout`); more than zero. */
  readonly idleTimeoutMs?: number;
}

/** A plugin's `PluginSecurity` entry: the most it may be granted. Everything defaults to false / empty. */
export interface SecurityEntry {
  /** Whether any file access may be granted. */
  readonly allowFileSystemAccess: boolean;
  /** Absolute paths (resolved against the config's folder) file access is confined to. */
  readonly allowedPaths: readonly string[];
  /** Whether any network access may be granted. */
  readonly allowNetworkAccess: boolean;
  /** Endpoints as `"host:port"` (URLs are converted: `https://a.com` is `a.com:443`). */
  readonly allowedNetworkEndpoints: readonly string[];
  /** Variable names; a trailing `*` makes an entry a prefix (`MY_*`). */
  readonly allowedEnvironmentVariables: readonly string[];
  /** Whether the plugin may see WebGPU (`navigator.gpu`), which Deno grants without a permission; default false. */
  readonly allowGpu?: boolean;
  /** npm packages (names) the plugin may import (default none); any other `npm:` import is refused. */
  readonly allowedNpmPackages?: readonly string[];
  /** The only folder (absolute) that may claim this id (key `Folder`). */
  readonly folder?: string;
  /** The only signer (lowercase hex SHA-256 key thumbprint) whose signature may claim this id (key `Signer`). */
  readonly signer?: string;
}

/** The normalized host configuration. Durations are in milliseconds, paths absolute. */
export interface HostConfig {
  /** The absolute path of the file it was read from, if any. */
  readonly configFile?: string;
  /** The folder relative paths were resolved against. */
  readonly baseDir: string;
  /** Absolute folder plugins are discovered in; default `./plugins`. */
  readonly pluginsDirectory: string;
  /** Reload plugins when their files change; default false. */
  readonly enableHotReload: boolean;
  /** Debounce before a hot reload; default 500. */
  readonly reloadDelayMs: number;
  /** Interval between health checks; default 60000. */
  readonly healthCheckIntervalMs: number;
  /** Collect metrics; default true. */
  readonly enableMetrics: boolean;
  /** Timeout of a call or hook; default 30000. */
  readonly callTimeoutMs: number;
  /** How long a stopping plugin may finish pending calls (key `DrainTimeout`); default 5000. */
  readonly drainTimeoutMs: number;
  /**
   * When plugins start (key `Plugins.Activation`): `"eager"` (default) with the host, `"lazy"` at their first
   * call. A plugin block's `Activation` overrides it.
   */
  readonly activation: "eager" | "lazy";
  /** Host-wide default limits. */
  readonly resourceLimits: ResourceLimits;
  /** Require signed plugins; default false. */
  readonly validateSignatures: boolean;
  /** Lowercase hex SHA-256 fingerprints of trusted Ed25519 public keys. */
  readonly trustedCertificateThumbprints: readonly string[];
  /**
   * Absolute paths of modules (files or folders) every plugin may import (key `SharedModules`; the seed's
   * `AddSharedAssemblies`). Every plugin may read them; default `[]`.
   */
  readonly sharedModules: readonly string[];
  /**
   * Absolute folders every plugin may read and load modules from (key `ProbingPaths`; the seed's
   * `AddProbingPaths`); default `[]`.
   */
  readonly probingPaths: readonly string[];
  /** The admin API. */
  readonly admin: AdminConfig;
  /** How `run` writes its log records; `--log-format` overrides it. */
  readonly logging: LoggingConfig;
  /** The fleet this host joins (key `Plugins.Cluster`); absent: none, and no NATS module is loaded. */
  readonly cluster?: ClusterConfig;
  /** Plugin blocks by lowercased plugin id; look up with {@linkcode pluginConfigFor}. */
  readonly plugins: Readonly<Record<string, PluginConfig>>;
  /** `PluginSecurity` entries by lowercased plugin id; look up with {@linkcode securityFor}. */
  readonly security: Readonly<Record<string, SecurityEntry>>;
}

/** The shape of {@linkcode CONFIG_DEFAULTS}. */
export interface ConfigDefaults {
  /** `"./plugins"`, relative to the config's folder. */
  readonly pluginsDirectory: string;
  /** false */
  readonly enableHotReload: boolean;
  /** 500 */
  readonly reloadDelayMs: number;
  /** 60000 */
  readonly healthCheckIntervalMs: number;
  /** true */
  readonly enableMetrics: boolean;
  /** 30000 */
  readonly callTimeoutMs: number;
  /** 5000 */
  readonly drainTimeoutMs: number;
  /** `"eager"` */
  readonly activation: "eager" | "lazy";
  /** false */
  readonly validateSignatures: boolean;
  /** `127.0.0.1:8080`, no token. */
  readonly admin: AdminConfig;
  /** Text. */
  readonly logging: LoggingConfig;
  /** A plugin block's defaults: enabled, in a worker. */
  readonly plugin: Pick<PluginConfig, "enabled" | "isolation">;
}

/** Where the admin API listens and the token it requires. */
export interface AdminConfig {
  /** Interface to listen on; default `"127.0.0.1"`. */
  readonly hostname: string;
  /** Port; default 8080; 0 picks a free one. */
  readonly port: number;
  /** Bearer token every route but `/health` requires; `null` (default) means none. */
  readonly token: string | null;
  /**
   * `TokenFile`: an absolute path whose content (less a trailing newline) is the token, read when the admin
   * API starts (`token` wins when both are set); where neither is set, the environment's
   * `DOTCOMPUTE_ADMIN_TOKEN` is used.
   */
  readonly tokenFile?: string;
}

/** How the command line writes log records (`Plugins.Logging`). */
export interface LoggingConfig {
  /** `"text"` (default): one readable line a record; `"json"`: one JSON object a line. */
  readonly format: "text" | "json";
}

/** The fleet a host joins (`Plugins.Cluster`): hosts with one `name` on the same NATS servers form one fleet. */
export interface ClusterConfig {
  /** NATS servers (`nats://host:port` or `host:port`), tried in order; default `nats://127.0.0.1:4222`. */
  readonly servers: readonly string[];
  /** The fleet's name, a NATS subject token; default `"dotcompute"`. */
  readonly name: string;
  /** This host's id in the fleet, a NATS subject token; default the hostname and pid (`box-1234`). */
  readonly hostId?: string;
  /** A NATS token (`Token`); `tokenFile` is read when this is absent. */
  readonly token?: string;
  /** An absolute path whose content (less a trailing newline) is the NATS token. */
  readonly tokenFile?: string;
  /** An absolute path to a NATS credentials file (`CredsFile`: a user JWT and its NKey seed). */
  readonly credsFile?: string;
  /** Install the bundles published to the fleet (`Bundles`); default false. */
  readonly bundles: boolean;
}
