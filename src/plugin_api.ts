/**
 * What plugin authors import: {@linkcode definePlugin}, {@linkcode BackendPluginBase} and the types of the
 * context a plugin receives. This module has no runtime imports, so a sandboxed plugin can load it with
 * nothing but a read grant on this one file.
 *
 * ```ts
 * import assert from "node:assert/strict";
 * import { definePlugin } from "@dotcompute/plugins/plugin";
 *
 * const plugin = definePlugin({
 *   start(ctx) { ctx.log.info("started"); },
 *   methods: { greet: (name: string) => `hello ${name}` },
 * });
 * export default plugin;
 *
 * assert.equal(plugin.methods.greet("Ada"), "hello Ada");
 * ```
 *
 * @module
 */

/** Properties attached to a log record. */
export type LogProperties = Record<string, unknown>;

/**
 * The logger a plugin gets: at run time a LogTape `Logger` (category `[pluginId]`), whose records reach the
 * host's LogTape sinks under `["dotcompute", "plugin", id]` with a `pluginId` property. Messages are templates:
 * `ctx.log.info("loaded {count} items", { count })`.
 */
export interface PluginLogger {
  /** Logs at trace level. */
  trace(message: string, properties?: LogProperties): void;
  /** Logs at debug level. */
  debug(message: string, properties?: LogProperties): void;
  /** Logs at info level. */
  info(message: string, properties?: LogProperties): void;
  /** Logs at warning level. */
  warn(message: string, properties?: LogProperties): void;
  /** Logs at error level. */
  error(message: string, properties?: LogProperties): void;
  /** Logs at fatal level. */
  fatal(message: string, properties?: LogProperties): void;
  /** A logger for a sub-category, e.g. `ctx.log.getChild("cache")`. */
  getChild(subcategory: string): PluginLogger;
  /** A logger that adds `properties` to every record. */
  with(properties: LogProperties): PluginLogger;
}

/** A plugin's answer to a health check. */
export interface HealthReport {
  /** `degraded` still counts as up; `unhealthy` makes the host report the plugin unhealthy. */
  readonly status: "healthy" | "degraded" | "unhealthy";
  /** Anything that helps an operator. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** A monotonically growing count a plugin keeps. */
export interface PluginCounter {
  /** Adds `n` (default 1). */
  add(n?: number): void;
}

/** A distribution of values a plugin records (durations, sizes). */
export interface PluginHistogram {
  /** Records one value. */
  record(value: number): void;
}

/** The plugin's own metrics; they reach the host and its `/metrics`. */
export interface PluginMetrics {
  /** The counter called `name`, created on first use. */
  counter(name: string): PluginCounter;
  /** The histogram called `name`, created on first use. */
  histogram(name: string): PluginHistogram;
}

/**
 * The method table of an untyped handle: any name, any arguments, an `unknown` result. The default of every
 * generic handle type, so code that does not name a plugin type compiles as before.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { UntypedMethods } from "@dotcompute/plugins/plugin";
 * const table: UntypedMethods = { echo: (...args: unknown[]) => args };
 * assert.deepEqual(table.echo("any", 2), ["any", 2]);
 * ```
 */
export type UntypedMethods = Record<string, (...args: unknown[]) => unknown>;

/**
 * The callable method names of a method table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { MethodName } from "@dotcompute/plugins/plugin";
 * const name: MethodName<{ greet(name: string): string }> = "greet";
 * assert.equal(name, "greet");
 * // @ts-expect-error: not a method of the table
 * const wrong: MethodName<{ greet(name: string): string }> = "wave";
 * ```
 */
export type MethodName<M> = Extract<keyof M, string>;

/**
 * The argument list of method `K` of a method table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { MethodArgs } from "@dotcompute/plugins/plugin";
 * const greet = (name: string): string => `hello ${name}`;
 * const args: MethodArgs<{ greet: typeof greet }, "greet"> = ["Ada"];
 * assert.equal(greet(...args), "hello Ada");
 * ```
 */
export type MethodArgs<M, K extends keyof M> = M[K] extends (...args: infer A) => unknown ? A : never;

/**
 * What a call of method `K` resolves with: the method's result, awaited.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { MethodResult } from "@dotcompute/plugins/plugin";
 * const n: MethodResult<{ sum(xs: number[]): Promise<number> }, "sum"> = 6;
 * assert.equal(n + 1, 7); // a number, not a Promise
 * ```
 */
export type MethodResult<M, K extends keyof M> = M[K] extends (...args: never[]) => infer R ? Awaited<R>
  : never;

/**
 * The public methods of a class plugin's instance `I`: not the base class's hooks, not names starting with `_`
 * (what the runtime makes callable).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackendPluginBase, type ClassPluginMethods } from "@dotcompute/plugins/plugin";
 * class Adder extends BackendPluginBase {
 *   add(a: number, b: number): number {
 *     return a + b;
 *   }
 * }
 * const methods: ClassPluginMethods<Adder> = new Adder();
 * assert.equal(methods.add(2, 3), 5);
 * // @ts-expect-error: the base class's hooks are not among them
 * const hook: keyof ClassPluginMethods<Adder> = "initialize";
 * ```
 */
export type ClassPluginMethods<I> = {
  [
    K in keyof I as K extends keyof BackendPluginBase | `_${string}` ? never
      : I[K] extends PluginMethod ? K
      : never
  ]: I[K];
};

/**
 * Any method signature a plugin may expose.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PluginMethod } from "@dotcompute/plugins/plugin";
 * const greet: PluginMethod = (name: string): string => `hello ${name}`;
 * assert.equal(greet("Ada"), "hello Ada");
 * ```
 */
// deno-lint-ignore no-explicit-any -- the widest function type, so that every method signature matches it
export type PluginMethod = (...args: any[]) => unknown;

/**
 * The method table of a plugin type, for typed handles (`host.getPlugin<typeof plugin>(id)`): the `methods`
 * of a plain-object plugin, the public methods of a class plugin (`typeof MyPlugin`), or a method table
 * itself. `unknown` (the default) gives {@linkcode UntypedMethods}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { definePlugin, type PluginMethods } from "@dotcompute/plugins/plugin";
 * const plugin = definePlugin({ methods: { greet: (name: string): string => `hello ${name}` } });
 * type Methods = PluginMethods<typeof plugin>; // { greet: (name: string) => string }
 * const greet: Methods["greet"] = plugin.methods.greet;
 * assert.equal(greet("Ada"), "hello Ada");
 * ```
 */
export type PluginMethods<P> = unknown extends P ? UntypedMethods
  : P extends abstract new (...args: never[]) => infer I ? ClassPluginMethods<I>
  : P extends { readonly methods?: infer M } ? (undefined extends M ? NonNullable<M> : M)
  : { [K in keyof P as P[K] extends PluginMethod ? K : never]: P[K] };

/** A Running plugin that offers a service, found by {@linkcode PluginCalls.getService}. */
export interface ServiceProxy<M = UntypedMethods> {
  /** The name looked up: a capability id (from some plugin's `provides`) or a plugin id. */
  readonly name: string;
  /** The id of the plugin that offers it. */
  readonly id: string;
  /** The version of `name` it offers. */
  readonly version: string;
  /** Calls a method of that plugin through the host (buffers transferred); typed when `M` is given. */
  call<K extends MethodName<M>>(method: K, ...args: MethodArgs<M, K>): Promise<MethodResult<M, K>>;
}

/** What a dependency's change looks like to a dependent (its `dependencyChanged` hook). */
export interface DependencyChange {
  /** The plugin that changed. */
  readonly dependency: string;
  /** The dependency as the dependent declared it: that plugin's id, or a capability it provides. */
  readonly name: string;
  /**
   * `stopped` / `failed`: it is gone (a dependent that needs it is stopped right after this hook, and started
   * again when it is back); `started`: it runs again; `reloaded`: a new version took over (blue/green) and
   * nothing was stopped.
   */
  readonly change: "stopped" | "failed" | "started" | "reloaded";
  /** Declared under `optionalDependencies`. */
  readonly optional: boolean;
  /** Its version now. */
  readonly version: string;
  /** Why, for `failed`. */
  readonly reason?: string;
}

/**
 * Calls into the plugins this plugin declared as dependencies. For typed calls, take a proxy with
 * `getService<typeof other>(id)`: its `call` checks method names, arguments and results as the host's
 * `getPlugin<P>` does.
 */
export interface PluginCalls {
  /**
   * Calls `method` of plugin `id`; refused unless `id` is among the manifest's `dependencies` or
   * `optionalDependencies`, or provides a capability declared there in a version its range accepts.
   */
  call(id: string, method: string, ...args: unknown[]): Promise<unknown>;
  /**
   * The Running plugin that offers `name` (a capability or plugin id this plugin declared as a dependency) in
   * the highest version accepted by the declared range and by `range`; undefined when none runs. Refused for a
   * name not declared. `P` (`typeof plugin` of its module, a class, or a method table) types the proxy's
   * calls; without it any method and arguments compile and results are `unknown`.
   */
  getService<P = unknown>(name: string, range?: string): Promise<ServiceProxy<PluginMethods<P>> | undefined>;
}

/** What every hook receives. */
export interface PluginContext<S extends Record<string, unknown> = Record<string, unknown>> {
  /** The plugin id from the manifest. */
  readonly id: string;
  /** The plugin's display name. */
  readonly name: string;
  /** The plugin version from the manifest. */
  readonly version: string;
  /** The manifest's settings merged with the host configuration's. */
  readonly settings: Readonly<S>;
  /** A LogTape logger; its records reach the host tagged with the plugin id. */
  readonly log: PluginLogger;
  /** Aborted when the plugin is being stopped. */
  readonly signal: AbortSignal;
  /** The signal of the call being served (aborted when its caller gives up); `signal` outside a call. */
  readonly callSignal: AbortSignal;
  /** Counters and histograms the plugin updates itself. */
  readonly metrics: PluginMetrics;
  /** Calls to the plugin's dependencies, through the host. */
  readonly plugins: PluginCalls;
}

/** A plain-object plugin: every hook and method is optional. */
export interface PluginDefinition<S extends Record<string, unknown> = Record<string, unknown>> {
  /** Runs once after loading. */
  initialize?(ctx: PluginContext<S>): void | Promise<void>;
  /** Runs when the plugin starts (and on every restart). */
  start?(ctx: PluginContext<S>): void | Promise<void>;
  /** Runs when the plugin stops; `ctx.signal` is already aborted. */
  stop?(ctx: PluginContext<S>): void | Promise<void>;
  /** Answers health checks. */
  health?(ctx: PluginContext<S>): HealthReport | Promise<HealthReport>;
  /** The host configuration's settings changed (already validated). */
  configure?(settings: Readonly<S>, ctx: PluginContext<S>): void | Promise<void>;
  /** A dependency stopped, failed, started again or was reloaded (see {@linkcode DependencyChange}). */
  dependencyChanged?(change: DependencyChange, ctx: PluginContext<S>): void | Promise<void>;
  /**
   * This instance passed a soft limit (`reason`: `retired:memory`, `retired:cpu` or `retired:lifetime`): a fresh
   * one is starting and takes the new calls; this one finishes its calls in flight, then stops. Flush what it
   * should hand on.
   */
  retiring?(reason: string, ctx: PluginContext<S>): void | Promise<void>;
  /**
   * Checks settings before `initialize` and before every `configure`: return the problems (or throw). Invalid
   * settings fail this plugin alone at start, and are refused (the old ones stay) on a live change.
   */
  validateSettings?(
    settings: Readonly<Record<string, unknown>>,
  ): readonly string[] | void | Promise<readonly string[] | void>;
  /** Methods callable by the host and by dependent plugins. Arguments and results are structured-cloned. */
  // deno-lint-ignore no-explicit-any -- method signatures are the author's; any keeps them inferable
  methods?: Record<string, (...args: any[]) => unknown>;
}

/**
 * Returns `plugin` unchanged; it exists so the editor checks the plugin's shape.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { definePlugin } from "@dotcompute/plugins/plugin";
 * const methods = { sum: (xs: number[]) => xs.reduce((a, b) => a + b, 0) };
 * const plugin = definePlugin({ methods });
 * export default plugin;
 * assert.equal(plugin.methods, methods); // unchanged
 * assert.equal(plugin.methods.sum([1, 2, 3]), 6);
 * ```
 */
export function definePlugin<S extends Record<string, unknown>, P extends PluginDefinition<S>>(plugin: P): P {
  return plugin;
}

/** Marks BackendPluginBase.prototype, so the runtime knows where a class plugin's own methods end. */
const BASE = Symbol.for("dotcompute.plugins.BackendPluginBase");

/**
 * The seed's base class. Override the `on*` hooks and `checkHealth`; every other public method of the subclass
 * (not starting with `_`) is callable by the host and by dependent plugins.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BackendPluginBase, type PluginContext } from "@dotcompute/plugins/plugin";
 *
 * export default class MyPlugin extends BackendPluginBase {
 *   protected override onInitialize(): void {
 *     this.logger.info("Initializing My Plugin");
 *   }
 *   add(a: number, b: number): number {
 *     this.metrics.counter("adds").add();
 *     return a + b;
 *   }
 * }
 *
 * // The runtime hands the plugin its context; a stand-in with what MyPlugin uses is enough to try it.
 * const seen: string[] = [];
 * const ctx = {
 *   signal: new AbortController().signal,
 *   log: { info: (message: string) => seen.push(message) },
 *   metrics: { counter: (name: string) => ({ add: () => seen.push(`${name} + 1`) }) },
 * } as unknown as PluginContext;
 * const plugin = new MyPlugin();
 * await plugin.initialize(ctx);
 * assert.equal(plugin.add(2, 3), 5);
 * assert.deepEqual(seen, ["Initializing My Plugin", "adds + 1"]);
 * ```
 */
export abstract class BackendPluginBase<S extends Record<string, unknown> = Record<string, unknown>> {
  #ctx: PluginContext<S> | undefined;

  /** The context; throws before `initialize`. */
  protected get context(): PluginContext<S> {
    if (!this.#ctx) throw new Error("The plugin context is not available before initialize");
    return this.#ctx;
  }
  /** The plugin's logger (the seed's `Logger`). */
  protected get logger(): PluginLogger {
    return this.context.log;
  }
  /** The effective settings. */
  protected get settings(): Readonly<S> {
    return this.context.settings;
  }
  /** The plugin's own metrics. */
  protected get metrics(): PluginMetrics {
    return this.context.metrics;
  }

  /** Called by the runtime; override {@linkcode BackendPluginBase.onInitialize} instead. */
  async initialize(ctx: PluginContext<S>): Promise<void> {
    this.#ctx = ctx;
    await this.onInitialize(ctx.signal);
  }
  /** Called by the runtime; override {@linkcode BackendPluginBase.onStart} instead. */
  async start(ctx: PluginContext<S>): Promise<void> {
    await this.onStart(ctx.signal);
  }
  /** Called by the runtime; override {@linkcode BackendPluginBase.onStop} instead. */
  async stop(ctx: PluginContext<S>): Promise<void> {
    await this.onStop(ctx.signal);
  }
  /** Called by the runtime; override {@linkcode BackendPluginBase.onConfigure} instead. */
  async configure(settings: Readonly<S>, _ctx: PluginContext<S>): Promise<void> {
    await this.onConfigure(settings);
  }
  /** Called by the runtime; override {@linkcode BackendPluginBase.onDependencyChanged} instead. */
  async dependencyChanged(change: DependencyChange, _ctx: PluginContext<S>): Promise<void> {
    await this.onDependencyChanged(change);
  }
  /** Called by the runtime; override {@linkcode BackendPluginBase.onRetiring} instead. */
  async retiring(reason: string, _ctx: PluginContext<S>): Promise<void> {
    await this.onRetiring(reason);
  }
  /** Called by the runtime; override {@linkcode BackendPluginBase.checkHealth} instead. */
  health(): HealthReport | Promise<HealthReport> {
    return this.checkHealth();
  }

  /** Initialise the plugin (the seed's `OnInitializeAsync`). */
  protected onInitialize(_signal: AbortSignal): void | Promise<void> {}
  /** Start the plugin's services (the seed's `OnStartAsync`). */
  protected onStart(_signal: AbortSignal): void | Promise<void> {}
  /** Stop them (the seed's `OnStopAsync`). */
  protected onStop(_signal: AbortSignal): void | Promise<void> {}
  /** React to new settings from the host configuration. */
  protected onConfigure(_settings: Readonly<S>): void | Promise<void> {}
  /** React to a dependency that stopped, failed, started again or was reloaded. */
  protected onDependencyChanged(_change: DependencyChange): void | Promise<void> {}
  /** This instance passed a soft limit and is being replaced (see {@linkcode PluginDefinition.retiring}). */
  protected onRetiring(_reason: string): void | Promise<void> {}
  /** Check settings before they are used (see {@linkcode PluginDefinition.validateSettings}); all valid by default. */
  validateSettings(
    _settings: Readonly<Record<string, unknown>>,
  ): readonly string[] | void | Promise<readonly string[] | void> {}
  /** Report health; healthy by default. */
  protected checkHealth(): HealthReport | Promise<HealthReport> {
    return { status: "healthy" };
  }
}
Object.defineProperty(BackendPluginBase.prototype, BASE, { value: true });
