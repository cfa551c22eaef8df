/**
 * `ctx.plugins` inside a plugin's thread: calls to dependencies and service lookups, both carried by the host
 * (which checks them against the manifest). Imports only what the plugin thread may read.
 *
 * @module
 */

import type { RpcEndpoint } from "../rpc/endpoint.ts";
import { SERVICE_TARGET } from "../rpc/protocol.ts";
import type { PluginCalls, PluginMethods, ServiceProxy } from "../plugin_api.ts";

/**
 * Builds `ctx.plugins` over the endpoint to the host; `signal()` gives the signal of the call being served (or
 * the plugin's stop signal), so a call made while serving one is cancelled with it.
 *
 * @example
 * ```ts ignore
 * import { pluginCalls } from "./_services.ts";
 * const plugins = pluginCalls(toHost, () => stopping.signal);
 * const kv = await plugins.getService("storage.kv", "^2.0.0");
 * await kv?.call("get", "key");
 * ```
 */
export function pluginCalls(host: RpcEndpoint, signal: () => AbortSignal): PluginCalls {
  const call = (id: string, method: string, ...args: unknown[]): Promise<unknown> =>
    host.call("plugin", method, args, { target: id, signal: signal() });
  return {
    call,
    async getService<P>(name: string, range?: string): Promise<ServiceProxy<PluginMethods<P>> | undefined> {
      const found = await host.call("plugin", "lookup", [name, range ?? null], {
        target: SERVICE_TARGET,
        signal: signal(),
      }) as { name: string; id: string; version: string } | null;
      if (found === null) return undefined;
      const { id, version } = found;
      return Object.freeze({
        name,
        id,
        version,
        call: (method: string, ...args: unknown[]) => call(id, method, ...args),
      }) as ServiceProxy<PluginMethods<P>>; // the types are the caller's claim: the host checks names only
    },
  };
}
