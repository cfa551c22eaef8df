// A repeating tick for the runtime's usage reports, without Deno's timers. Measured (Deno 2.9.6, 20 Workers):
// the first setTimeout or setInterval in a Worker costs it ~1.7 MiB of RSS, more than the whole rest of the
// runtime, while the timeout of Atomics.waitAsync on a private cell costs ~0.2 MiB and fires as late as a timer
// would when the plugin blocks the event loop (which is what the tick measures). Everything is taken at load,
// before the plugin's code could replace Atomics, Reflect or Promise.prototype.then.
const { waitAsync } = Atomics;
const { apply } = Reflect;
const then = Promise.prototype.then;

/** Calls `fn` about every `ms` milliseconds, from the event loop, until the returned function is called. */
export function every(ms: number, fn: () => void): () => void {
  let stopped = false;
  if (typeof waitAsync !== "function") {
    const id = setInterval(fn, ms);
    return () => clearInterval(id);
  }
  const cell = new Int32Array(new SharedArrayBuffer(4)); // nobody ever notifies it: every wait times out
  const next = (): void => {
    if (stopped) return;
    const wait = waitAsync(cell, 0, 0, ms);
    if (!wait.async) return void next(); // cannot happen for a value that matches; never spin on it
    apply(then, wait.value, [() => {
      if (stopped) return;
      fn();
      next();
    }]);
  };
  next();
  return () => {
    stopped = true;
  };
}
