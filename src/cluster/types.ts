/**
 * The fleet as the host sees it: `host.cluster` ({@linkcode HostCluster}) and what a fleet needs from its
 * host ({@linkcode FleetSource}).
 *
 * @module
 */

import type { HostEventMap, PendingApproval, ReloadEvent } from "../events/events.ts";
import type { PluginHandle } from "../plugin/types.ts";
import type { RemoteRef } from "../deps/remote.ts";

/** One host of the fleet and what it runs (`GET /cluster`, `fleet --cluster URL`). */
export interface FleetHost {
  /** The host's id (`Plugins.Cluster.HostId`). */
  readonly hostId: string;
  /** `true` for the host that answered. */
  readonly self: boolean;
  /** Every plugin of the host, with its state there. */
  readonly plugins: readonly { readonly id: string; readonly version: string; readonly state: string }[];
}

/** `host.cluster`: the fleet this host is part of (`Plugins.Cluster`). */
export interface HostCluster {
  /** This host's id in the fleet. */
  readonly hostId: string;
  /** The fleet's name. */
  readonly name: string;
  /** Every host seen alive in the last 3 s, this one first. */
  hosts(): Promise<FleetHost[]>;
}

/** What the fleet reads from its host. */
export interface FleetSource {
  /** Every plugin of the host. */
  plugins(): Iterable<PluginHandle>;
  /** The host's plugin with this id (a fleet call's target), without a scan. */
  plugin(id: string): PluginHandle | undefined;
  /** Calls `listener` when a plugin's state changes; returns the unsubscribe. */
  onChange(listener: () => void): () => void;
  /** `Plugins.CallTimeout`. */
  callTimeoutMs(): number;
  /** Tells the host's listeners of a change in the fleet, or of what a bundle became here. */
  emit<K extends "fleet" | "bundle">(type: K, event: HostEventMap[K]): void;
  /** The host's approval gate, for the fleet's decisions (`approve ID --cluster URL`). */
  readonly approvals: FleetApprovals;
  /** Where bundles go, when the host installs them (`Plugins.Cluster.Bundles`). */
  readonly bundles: BundleTarget;
}

/** The host's approval gate as the fleet's decisions reach it. */
export interface FleetApprovals {
  /** The held version of `id`, if any. */
  pending(id: string): PendingApproval | undefined;
  /** `PluginHost.approve`: loads the held version. */
  approve(id: string): Promise<unknown>;
  /** `PluginHost.reject`: drops it. */
  reject(id: string): unknown;
  /** Calls `listener` after a reload held a version for approval; returns the unsubscribe. */
  onHeld(listener: (id: string, version: string) => void): () => void;
}

/** What installing a bundle needs from the host. */
export interface BundleTarget {
  /** The folder bundles are installed in (`<plugins folder>/.fleet`: hidden from discovery and hot reload). */
  readonly folder: string;
  /** `TrustedCertificateThumbprints` now. */
  trusted(): readonly string[];
  /**
   * Loads the plugin folder `dir` through the reload path: a new plugin, or a new version of the plugin that
   * runs from `dir` (blue/green, approval gate); or why the host refused the folder (also among its discovery
   * failures).
   */
  install(dir: string): Promise<ReloadEvent | { readonly refused: string }>;
}

/** A plugin the fleet offers on another host, as {@linkcode Fleet.find} picks it. */
export type RemoteOffer = RemoteRef;

/** What a remote service handle calls through (the fleet). */
export interface FleetCaller {
  request(
    to: RemoteOffer,
    method: string,
    args: readonly unknown[],
    options?: { readonly timeoutMs?: number; readonly signal?: AbortSignal },
  ): Promise<unknown>;
}
