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
 * ```ts ignore
 * import { createPluginHost } from "@dotcompute/plugins";
 * await using host = await createPluginHost({ Plugins: { PluginsDirectory: "./plugins" } });
 * await host.start();
 * console.log(await host.getPlugin("hello.world")?.call("greet", "Ada"));
 * ```
 */
export function createPluginHost(
  source: string | Readonly<Record<string, unknown>>,
  options: PluginHostOptions = {},
): Promise<PluginHost> {
  return createHost(source, options, startAdminServer);
}
