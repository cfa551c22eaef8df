/**
 * Plugins another host runs (the fleet, `Plugins.Cluster`) as dependencies and `ctx.plugins.call` see them.
 * The deps room knows them only by this interface; src/cluster/ implements it.
 *
 * @module
 */

/** A plugin another host offers. */
export interface RemoteRef {
  /** The host that runs it. */
  readonly hostId: string;
  /** The plugin's id. */
  readonly id: string;
  /** The version of what was looked up (the plugin's, or the capability's it provides). */
  readonly version: string;
  /** Capability id -> version, as its manifest declares. */
  readonly provides: Readonly<Record<string, string>>;
}

/** The fleet's plugins, for the dependency rule and calls across hosts. */
export interface RemotePlugins {
  /** Moves each time what the fleet offers changes: a resolution made before is stale. */
  readonly generation: number;
  /** Every plugin offered elsewhere, the highest version of each id, as the resolver reads manifests. */
  manifests(): readonly {
    readonly id: string;
    readonly version: string;
    readonly provides: Readonly<Record<string, string>>;
  }[];
  /** The best offer of `name` (a plugin id or a capability) in the highest version every range accepts. */
  find(name: string, ranges: readonly string[]): RemoteRef | undefined;
  /** Calls `method` of the plugin `to` names, on its host. */
  request(
    to: RemoteRef,
    method: string,
    args: readonly unknown[],
    options?: { readonly timeoutMs?: number; readonly signal?: AbortSignal },
  ): Promise<unknown>;
}
