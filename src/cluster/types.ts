/**
 * The fleet as the host sees it: `host.cluster` ({@linkcode HostCluster}) and what a fleet needs from its
 * host ({@linkcode FleetSource}).
 *
 * @module
 */

import type { FleetEvent } from "../events/events.ts";
import type { PluginHandle } from "../plugin/types.ts";

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
  /** Tells the host's listeners of a change in the fleet. */
  emit(event: FleetEvent): void;
}

/** A plugin the fleet offers on another host, as {@linkcode Fleet.find} picks it. */
export interface RemoteOffer {
  readonly hostId: string;
  readonly id: string;
  readonly version: string;
}

/** What a remote service handle calls through (the fleet). */
export interface FleetCaller {
  request(
    to: RemoteOffer,
    method: string,
    args: readonly unknown[],
    options?: { readonly timeoutMs?: number; readonly signal?: AbortSignal },
  ): Promise<unknown>;
}
