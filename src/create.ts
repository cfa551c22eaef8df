/**
 * `createPluginHost`: the one place the host (src/host/) and its admin API (src/admin/) meet, so that each
 * depends only on the other's interface (README, Architecture).
 *
 * @module
 */

import { startAdminServer } from "./admin/server.ts";
import { createHost } from "./host/host.ts";
import type { PluginHost, PluginHostOptions } from "./host/types.ts";

/**
 * Creates a host from a JSONC config file path or a config object (CONTRACT §3). Nothing runs until `start()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPluginHost } from "@dotcompute/plugins";
 * // A plugins folder with one plugin.
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/hello`);
 * await Deno.writeTextFile(
 *   `${dir}/hello/plugin.jsonc`,
 *   '{ "id": "hello.world", "name": "hello", "version": "1.0.0" }',
 * );
 * await Deno.writeTextFile(
 *   `${dir}/hello/mod.ts`,
 *   'export default { methods: { greet: (n) => "hello " + n } };',
 * );
 * {
 *   await using host = await createPluginHost({ Plugins: { PluginsDirectory: dir } });
 *   await host.start();
 *   assert.equal(await host.getPlugin("hello.world")?.call("greet", "Ada"), "hello Ada");
 * } // the host stops here
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function createPluginHost(
  source: string | Readonly<Record<string, unknown>>,
  options: PluginHostOptions = {},
): Promise<PluginHost> {
  return createHost(source, options, startAdminServer);
}
