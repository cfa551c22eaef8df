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
 * ```ts
 * import assert from "node:assert/strict";
 * import { RpcEndpoint } from "../rpc/endpoint.ts";
 * import { pluginCalls } from "./_services.ts";
 *
 * // A stand-in host at the other end of a channel: "storage.kv" is offered by plugin "storage".
 * const { port1, port2 } = new MessageChannel();
 * const toHost = new RpcEndpoint({ peer: "host", defaultTimeoutMs: 1000, send: (m) => port1.postMessage(m) });
 * port1.onmessage = (e) => toHost.settle(e.data);
 * port2.onmessage = ({ data: { id, target, method, args } }) => {
 *   const found = { name: args[0], id: "storage", version: "2.1.0" };
 *   const value = target === "$service" ? found : `${target}.${method}(${args})`;
 *   port2.postMessage({ v: 1, t: "result", id, value });
 * };
 *
 * const stopping = new AbortController();
 * const plugins = pluginCalls(toHost, () => stopping.signal);
 * const kv = await plugins.getService("storage.kv", "^2.0.0");
 * assert.equal(kv?.version, "2.1.0");
 * assert.equal(await kv?.call("get", "key"), "storage.get(key)");
 * port1.close();
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
