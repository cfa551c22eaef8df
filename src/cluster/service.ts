/**
 * A service handle on a plugin another host of the fleet offers: the same calls as a local one, its
 * `location` the host's id, no `plugin` handle (the plugin is not this host's).
 *
 * @module
 */

import type { ServiceHandle } from "../deps/services.ts";
import type { FleetCaller, RemoteOffer } from "./types.ts";

/** The handle `host.getService` gives for a plugin found on another host. */
export function remoteService(fleet: FleetCaller, name: string, offer: RemoteOffer): ServiceHandle {
  return {
    name,
    id: offer.id,
    version: offer.version,
    location: offer.hostId,
    plugin: undefined,
    call: (method, ...args) => fleet.request(offer, method, args),
    request: (method, args, options) =>
      fleet.request(offer, method, args, {
        ...(options?.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        ...(options?.signal === undefined ? {} : { signal: options.signal }),
      }),
  } as ServiceHandle;
}
