// NATS, the fleet's transport (src/_npm/README.md): loaded only by src/cluster/, and only for a host with
// `Plugins.Cluster`. transport-node runs under Deno with --allow-net to the servers alone.
export { connect, credsAuthenticator, RequestError, TimeoutError } from "npm:@nats-io/transport-node@3.4.0";
export type { ConnectionOptions, Msg, NatsConnection, Subscription } from "npm:@nats-io/transport-node@3.4.0";
