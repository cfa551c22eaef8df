// A host of the fleet in its own process, for the tests that kill one (tests/cluster_kill_test.ts) and the fleet
// benchmarks (bench/_scenarios_fleet.ts). Input: one JSON argument { nats, hostId, pluginsDir, name, raw? }.
// With `raw`, a plain NATS connection of this process also echoes requests on that subject (the benchmark's
// baseline, from the same process as the host). Prints "ready" once its plugins run and it has joined, then
// serves until killed.
import { createPluginHost } from "../mod.ts";
import { connect } from "../src/_npm/nats.ts";

const input = JSON.parse(Deno.args[0]) as {
  nats: string;
  hostId: string;
  pluginsDir: string;
  name: string;
  raw?: string;
};
const host = await createPluginHost({
  Plugins: {
    PluginsDirectory: input.pluginsDir,
    Cluster: { Servers: [input.nats], Name: input.name, HostId: input.hostId },
  },
}, { fallbackReport: false, watchConfig: false });
await host.start();
if (!host.cluster) throw new Error("the host did not join the fleet");
if (input.raw) {
  const nc = await connect({ servers: input.nats });
  nc.subscribe(input.raw, { callback: (_e, m) => void m.respond(m.data) });
  await nc.flush();
}
console.log("ready");
await new Promise(() => {});
