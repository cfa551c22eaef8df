// Many of Deno's globals are getters that load their module on first read: setTimeout (node:timers), caches,
// EventSource, WebSocket, GPU, Deno.serve, Deno.Command … Measured in a new Worker: 0.2 to 5 ms each, about
// 13 ms together, which every plugin paid at start when the runtime read them to wrap them. The runtime wraps
// them here without reading them, so a plugin pays only for what it uses. Wraps that must hold for a route
// that does not pass the global (Node's layer reaches Deno's classes directly) are settled when Node's layer
// loads (settleLazy, from _ambient_node.ts).

type Fn = (this: unknown, ...args: unknown[]) => unknown;

const { apply } = Reflect;
const { defineProperty, getOwnPropertyDescriptor } = Object;
/** Wraps that only ran when their global was read: settled when Node's layer loads. */
const pending: (() => unknown)[] = [];

/** What `target[key]` holds now, read on the first call through its original getter (or its value). */
export function original<T>(target: object, key: PropertyKey): () => T | undefined {
  const desc = getOwnPropertyDescriptor(target, key);
  let value: T | undefined;
  let read = false;
  return (): T | undefined => {
    if (!read) {
      value = (desc?.get ? apply(desc.get, target, []) : desc?.value) as T | undefined;
      read = true;
    }
    return value;
  };
}

/**
 * Replaces `target[key]` by `wrap(original)`, made on its first read (at once for a plain value, then locked);
 * the plugin never reaches the original. `settle`: Node's layer reaches the original
 * another way, so the wrap is made when that layer loads even if the global is never read.
 */
export function wrapLazily(
  target: object,
  key: PropertyKey,
  wrap: (original: unknown) => unknown,
  settle = false,
): void {
  const desc = getOwnPropertyDescriptor(target, key);
  if (!desc) return;
  if (!desc.get) {
    lockValue(target, key, wrap(desc.value));
    return;
  }
  const read = original<unknown>(target, key);
  let made = false;
  let value: unknown;
  const make = (): unknown => {
    if (!made) {
      made = true;
      value = wrap(read());
    }
    return value;
  };
  try {
    // Assignable and configurable like Deno's own (a polyfill may replace a global): that changes only what the
    // plugin itself sees; the original stays out of its reach.
    defineProperty(target, key, {
      get: make,
      set(v: unknown): void {
        made = true;
        value = v;
      },
      enumerable: desc.enumerable,
      configurable: true,
    });
  } catch {
    return; // not configurable: left as Deno made it
  }
  if (settle) pending.push(make);
}

/** Runs `make` when Node's layer loads (a wrap of something that layer reaches without its global). */
export function settleLater(make: () => unknown): void {
  pending.push(make);
}

/** A function's wrap: `around(f)` for a function, anything else as it is. */
export function wrapFunction(target: object, key: PropertyKey, around: (f: Fn) => Fn, settle = false): void {
  wrapLazily(target, key, (f) => typeof f === "function" ? around(f as Fn) : f, settle);
}

/** Makes every wrap Node's layer could go around (it is loading now). */
export function settleLazy(): void {
  for (const make of pending.splice(0)) {
    try {
      make();
    } catch { /* a module that cannot load here cannot load for the plugin either */ }
  }
}

function lockValue(target: object, key: PropertyKey, value: unknown): void {
  try {
    defineProperty(target, key, { value, writable: false, configurable: false, enumerable: false });
  } catch { /* already locked down */ }
}
