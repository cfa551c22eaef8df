// NATS, the fleet's transport (src/_npm/README.md): loaded only by src/cluster/, and only for a host with
// `Plugins.Cluster` (or the CLI's --cluster commands). They run under Deno with --allow-net to the servers alone:
// transport-node for the connection, obj for the bundle store, kv for the fleet's shared decisions.
export { connect, createInbox, credsAuthenticator } from "npm:@nats-io/transport-node@3.4.0";
export type { ConnectionOptions, Msg, NatsConnection, Subscription } from "npm:@nats-io/transport-node@3.4.0";
export { Objm } from "npm:@nats-io/obj@3.4.0";
export type { ObjectInfo, ObjectStore } from "npm:@nats-io/obj@3.4.0";
export { Kvm } from "npm:@nats-io/kv@3.4.0";
export type { KV, KvEntry } from "npm:@nats-io/kv@3.4.0";
