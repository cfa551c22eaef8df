/**
 * The one extension point for where a plugin runs: a tier spawns a plugin and hands back a connection.
 *
 * @module
 */

import type { CallOptions } from "../rpc/endpoint.ts";
import type {
  CallMessage,
  HookName,
  LoadBudget,
  LogMessage,
  MetricsMessage,
  UsageMessage,
} from "../rpc/protocol.ts";
import type { EffectivePermissions } from "../permissions/permissions.ts";

/**
 * Messages that crossed a plugin's channel, counted by its tier: a batch of calls or answers counts once, so
 * calls per message shows how well batching works.
 */
export interface WireTraffic {
  /** Messages sent to the plugin. */
  messagesSent: number;
  /** Messages received from the plugin. */
  messagesReceived: number;
  /** Calls that went through the shared-memory slot instead (a lone small call), each answered there too. */
  sharedCalls: number;
}

/** The host's verdict on a plugin it is starting (SpawnSpec.admission). */
export interface SpawnAdmission {
  /** As SpawnSpec.importHook. */
  readonly importHook?: boolean;
}

/** Everything a tier needs to start one plugin. */
export interface SpawnSpec {
  /** The plugin id from the manifest. */
  readonly id: string;
  /** The plugin's display name. */
  readonly name: string;
  /** The plugin version from the manifest. */
  readonly version: string;
  /** The plugin's entry module, as a file URL (real path). */
  readonly entryUrl: string;
  /** The plugin's effective settings. */
  readonly settings: Readonly<Record<string, unknown>>;
  /** The ids of the plugins this plugin may call. */
  readonly dependencies: readonly string[];
  /** The permissions the plugin runs with. */
  readonly permissions: EffectivePermissions;
  /** Default bound of a call, either way between host and plugin. */
  readonly callTimeoutMs: number;
  /** Bounds loading the plugin's module graph (its top-level code included). */
  readonly loadTimeoutMs: number;
  /** Heap cap of the plugin in MiB; none when absent. */
  readonly maxMemoryMB?: number;
  /** CPU budget in percent of one core; it makes the tier able to end the plugin mid-loop. */
  readonly maxCpuPercent?: number;
  /**
   * Whether a limit rests on the plugin's usage reports (a hard or soft memory or CPU limit). False lets the
   * tier report an idle plugin's usage rarely (src/isolation/_usage_clock.ts); absent counts as true, so that a
   * limit is never left without reports because nobody said it was there.
   */
  readonly usageNeeded?: boolean;
  /** The host's import scan left dynamic imports only the runtime can judge (src/runtime/_import_hook.ts). */
  readonly importHook?: boolean;
  /**
   * What the host still checks while the unit boots (a Worker's constructor alone holds the host's thread for
   * ~27 ms): the load message waits for it, and takes `importHook` from it. A rejection ends the unit before any
   * plugin code ran, and the spawn rejects with that error.
   */
  readonly admission?: Promise<SpawnAdmission>;
  /** Handle and timer budgets (`ResourceLimits.MaxHandles` / `MaxTimers`), counted inside the plugin. */
  readonly budget?: LoadBudget;
  /** Counters the tier adds every message it sends and receives to, when given. */
  readonly traffic?: WireTraffic;
  /**
   * Told when each method call ends (not hooks), with its start time (`performance.now()`) and error; one
   * function for every call, so measuring calls allocates nothing per call.
   */
  onMethodEnd?(startedAt: number, error: unknown): void;
  /** A log record from the plugin (already validated). */
  onLog(message: LogMessage): void;
  /** The plugin's own metrics changed. */
  onMetrics(message: MetricsMessage): void;
  /** The plugin's event loop and heap, about once a second. */
  onUsage?(message: UsageMessage): void;
  /** A message from the plugin was malformed and dropped. */
  onProtocolError(reason: string): void;
  /** The plugin calls another plugin through the host. */
  onPluginCall(
    target: string,
    method: string,
    args: readonly unknown[],
    signal: AbortSignal,
  ): Promise<unknown>;
}

/** How a plugin's worker or process ended. */
export interface ExitInfo {
  /** `terminated` when the host ended it; otherwise how it died. */
  readonly kind: "terminated" | "exit" | "crash" | "load-failed" | "memory" | "timeout" | "cpu";
  /** Words for an operator. */
  readonly reason: string;
  /** The error behind it, when there is one. */
  readonly error?: Error;
}

/** A live plugin in some tier. */
export interface PluginConnection {
  /** The methods the plugin exposes. */
  readonly methods: readonly string[];
  /** Settles once, when the plugin's worker or process is gone for whatever reason. */
  readonly exited: Promise<ExitInfo>;
  /** How many calls into the plugin are pending. */
  readonly pending: number;
  /** Whether its worker or process has ended or is ending: a call rejected now was lost with it. */
  readonly gone: boolean;
  /** Calls a hook of the plugin. */
  call(kind: "hook", hook: HookName, args: readonly unknown[], options?: CallOptions): Promise<unknown>;
  /** Calls a method of the plugin. */
  call(
    kind: Exclude<CallMessage["kind"], "hook">,
    method: string,
    args: readonly unknown[],
    options?: CallOptions,
  ): Promise<unknown>;
  /** Resolves once no call into the plugin is pending. */
  idle(): Promise<void>;
  /** Ends the plugin at once, even mid-loop; pending calls reject. */
  terminate(reason?: string): Promise<void>;
  /** Ends the plugin for a resource reason (it counts as a crash with that kind, not as a requested stop). */
  kill(kind: "timeout" | "cpu" | "memory", reason: string): Promise<void>;
}

/** Spawns plugins. */
export interface IsolationTier {
  /** The tier's name as the config says it (`worker`, `process`). */
  readonly kind: string;
  /** How many of its workers or processes are alive now, when the tier counts them. */
  readonly live?: number;
  /** Starts the plugin and resolves once its module has loaded (or rejects with why it could not). */
  spawn(spec: SpawnSpec): Promise<PluginConnection>;
}
