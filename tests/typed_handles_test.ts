// Typed handles: a plugin's method types reach the host side. The @ts-expect-error lines are the type tests —
// `deno check` (part of `deno task check`, and of `deno test`) fails if any of them compiles cleanly. The
// runtime test then calls real plugins through the typed handles.
import assert from "node:assert/strict";
import { createPluginHost, type PluginHandle, type ServiceHandle } from "../mod.ts";
import { definePlugin, type PluginCalls, type PluginMethods, type ServiceProxy } from "../src/plugin_api.ts";
import type hello from "../plugins/hello/mod.ts";
import type MyPlugin from "../plugins/my-plugin/mod.ts";

const plugins = new URL("../plugins", import.meta.url).pathname;

// Compile-time only: never called, so no host is needed to check these.
async function typeTests(
  h: PluginHandle<PluginMethods<typeof hello>>,
  c: PluginHandle<PluginMethods<typeof MyPlugin>>,
  untyped: PluginHandle,
): Promise<void> {
  const greeting: string = await h.call("greet", "Ada");
  const total: number = await h.call("sum", [1, 2]);
  // @ts-expect-error a method the plugin does not have
  await h.call("greett", "Ada");
  // @ts-expect-error a wrong argument type
  await h.call("greet", 42);
  // @ts-expect-error a missing argument
  await h.call("sum");
  // @ts-expect-error a result used as what it is not
  const wrong: number = await h.call("greet", "Ada");
  // @ts-expect-error request checks the argument list too
  await h.request("sum", ["1"]);

  // A class plugin: its public methods, not the base class's hooks and not `_` names.
  const scaled: Float32Array = await c.call("scale", new Float32Array(2), 2);
  const squares: number = await c.call("sumOfSquares", new Float64Array(1));
  // @ts-expect-error lifecycle hooks are not callable methods
  await c.call("initialize");
  // @ts-expect-error a wrong argument type on a class method
  await c.call("scale", [1, 2], 2);

  // Untyped handles compile as before: any name and arguments, an unknown result.
  const anything: unknown = await untyped.call("whatever", 1, "two", [3]);
  // @ts-expect-error an unknown result must be narrowed before use
  const n: number = await untyped.call("whatever");
  const widened: PluginHandle = h; // a typed handle is still a handle
  console.log(greeting, total, wrong, scaled, squares, anything, n, widened);
}

// definePlugin keeps the method types; a service proxy inside a plugin can be typed the same way.
const kv = definePlugin({
  methods: {
    get: (key: string): Promise<string | undefined> => Promise.resolve(key),
    set: (key: string, value: string): void => void [key, value],
  },
});
async function serviceTypeTests(
  proxy: ServiceProxy<PluginMethods<typeof kv>>,
  service: ServiceHandle<PluginMethods<typeof kv>>,
): Promise<void> {
  const value: string | undefined = await proxy.call("get", "k");
  await service.call("set", "k", "v");
  // @ts-expect-error set takes two strings
  await service.call("set", "k");
  // @ts-expect-error get's result may be undefined
  const sure: string = await proxy.call("get", "k");
  console.log(value, sure);
}
// Inside a plugin: ctx.plugins.getService takes the other plugin's type the same way (by plugin id too).
async function pluginSideTypeTests(plugins: PluginCalls): Promise<void> {
  const hw = await plugins.getService<typeof hello>("hello.world");
  const greeting: string | undefined = await hw?.call("greet", "Ada");
  // @ts-expect-error a method hello does not have
  await hw?.call("greett", "Ada");
  // @ts-expect-error greet takes a string
  await hw?.call("greet", 42);
  const store = await plugins.getService<typeof kv>("storage.kv", "^1");
  const value: string | undefined = await store?.call("get", "k");
  // @ts-expect-error set takes two strings
  await store?.call("set", "k");
  // Untyped, as before: any method, an unknown result.
  const anything: unknown = await plugins.call("x", "whatever", 1, 2);
  const proxy = await plugins.getService("storage.kv");
  const untyped: unknown = await proxy?.call("anything", { a: 1 });
  console.log(greeting, value, anything, untyped);
}
void typeTests, serviceTypeTests, pluginSideTypeTests;

Deno.test("typed handles call real plugins: results arrive as the types say", async () => {
  await using host = await createPluginHost({ Plugins: { PluginsDirectory: plugins } }, {
    watchConfig: false,
  });
  await host.start();

  const h = host.getPlugin<typeof hello>("hello.world");
  assert.ok(h);
  const greeting = await h.call("greet", "Ada");
  assert.equal(greeting.toUpperCase(), "HELLO ADA"); // a string method compiles only because it is typed
  assert.equal((await h.call("sum", [1, 2, 3])).toFixed(1), "6.0");

  const c = host.getPlugin<typeof MyPlugin>("my.plugin");
  assert.ok(c);
  const scaled = await c.call("scale", new Float32Array([1, 2, 3]), 2);
  assert.deepEqual([...scaled.subarray(0, 3)], [2, 4, 6]);

  const service = host.getService<typeof MyPlugin>("compute.custom", "^1.0.0");
  assert.equal(service?.id, "my.plugin");
  assert.equal(await service.call("sumOfSquares", new Float64Array([3, 4])), 25);

  // The types are the caller's claim: a wrong claim still fails at run time, with the plugin's answer.
  const liar = host.getPlugin<{ missing(): string }>("hello.world");
  await assert.rejects(liar!.call("missing"), { code: "METHOD_NOT_FOUND" });
});
