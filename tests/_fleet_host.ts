// A host of the fleet in its own process, for the tests that kill one (tests/cluster_kill_test.ts). Input: one
// JSON argument { nats, hostId, pluginsDir, name }. Prints "ready" once its plugins run and it has joined, then
// serves until killed.
import { createPluginHost } from "../mod.ts";

const input = JSON.parse(Deno.args[0]) as { nats: string; hostId: string; pluginsDir: string; name: string };
const host = await createPluginHost({
  Plugins: {
    PluginsDirectory: input.pluginsDir,
    Cluster: { Servers: [input.nats], Name: input.name, HostId: input.hostId },
  },
}, { fallbackReport: false });
await host.start();
if (!host.cluster) throw new Error("the host did not join the fleet");
console.log("ready");
await new Promise(() => {});
