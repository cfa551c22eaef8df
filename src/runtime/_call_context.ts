// The AbortSignal of the call that a plugin's code is running for, carried across awaits and timers. It is
// built on Deno's core AsyncVariable, the primitive under node:async_hooks' AsyncLocalStorage: importing that
// module would load Node's compatibility layer into every plugin Worker (~1.5 MiB and a few ms each), which
// the runtime otherwise never needs. The core is taken here, before the runtime hides Deno's internals from
// the plugin; a Deno without it falls back to AsyncLocalStorage.

interface AsyncVariable<T> {
  enter(value: T | undefined): unknown;
  get(): T | undefined;
}

interface Core {
  readonly AsyncVariable?: new <T>() => AsyncVariable<T>;
  readonly setAsyncContext?: (snapshot: unknown) => void;
}

/** Runs functions with a value visible to everything they start, as AsyncLocalStorage does. */
export interface CallContext<T> {
  run<A extends unknown[], R>(value: T, fn: (...args: A) => R, ...args: A): R;
  get(): T | undefined;
}

const internal = (Deno as unknown as { internal?: symbol }).internal;
const core = internal === undefined
  ? undefined
  : (Deno as unknown as Record<symbol, { core?: Core } | undefined>)[internal]?.core;

/** A new context: on Deno's core when it is there, else on node:async_hooks. */
export async function createCallContext<T>(): Promise<CallContext<T>> {
  if (core?.AsyncVariable && core.setAsyncContext) {
    const variable = new core.AsyncVariable<T>();
    const restore = core.setAsyncContext;
    return {
      run<A extends unknown[], R>(value: T, fn: (...args: A) => R, ...args: A): R {
        // enter() copies the whole context and returns the one before; putting that back is a plain store,
        // half the cost of a second enter() (profiled: enter was ~10% of a plugin's CPU per call).
        const previous = variable.enter(value);
        try {
          return fn(...args);
        } finally {
          restore(previous);
        }
      },
      get: (): T | undefined => variable.get(),
    };
  }
  const { AsyncLocalStorage } = await import("node:async_hooks");
  const storage = new AsyncLocalStorage<T>();
  return {
    run: <A extends unknown[], R>(value: T, fn: (...args: A) => R, ...args: A): R =>
      storage.run(value, fn, ...args),
    get: (): T | undefined => storage.getStore(),
  };
}
