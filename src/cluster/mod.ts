/**
 * The fleet on NATS (`Plugins.Cluster`): hosts that share a fleet name call each other's `Clusterable`
 * plugins. {@linkcode Fleet} is loaded by the host only when the configuration names a cluster.
 *
 * @module
 */

export { defaultHostId, Fleet } from "./fleet.ts";
export type { FleetHost, FleetSource, HostCluster, RemoteOffer } from "./types.ts";
export { FLEET_PROTOCOL, parseBeat, parseCallReply, parseCallRequest, subjects } from "./protocol.ts";
export type { Beat, CallReply, CallRequest, FleetPlugin } from "./protocol.ts";
