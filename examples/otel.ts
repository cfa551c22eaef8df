// OpenTelemetry: the host's metrics on the global meter provider, which Deno's own exporter ships over OTLP
// when the process runs with OTEL_DENO=true (README, OpenTelemetry), until Ctrl-C or SIGTERM. From the
// repository root:
//   OTEL_DENO=true OTEL_SERVICE_NAME=plugin-host npx -y deno@2.9.6 run --unstable-worker-options --no-prompt \
//     -A examples/otel.ts
import { createPluginHost, instrumentHost } from "../mod.ts";

await using host = await createPluginHost(new URL("./host.jsonc", import.meta.url).pathname);
using _otel = instrumentHost(host); // observed at each export, so it lives as long as the host serves
await host.start();
console.log(await host.getPlugin("hello.world")?.call("greet", "Ada"));
const stop = Promise.withResolvers<void>();
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, () => stop.resolve());
// Said once the listeners are in place: whoever waits for this line may signal at once.
console.log(
  `instruments registered for ${host.getPlugins().length} plugins; exported until Ctrl-C or SIGTERM`,
);
await stop.promise;
