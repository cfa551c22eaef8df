// The web platform's handles, budgeted like Deno's (_budget.ts): fetch while in flight (its response body is a
// resource afterwards, counted by the table), and a WebSocket or EventSource while it connects (each holds a
// socket; once open, the table shows it).
import { wrapLazily } from "./_lazy.ts";

type Fn = (this: unknown, ...args: unknown[]) => unknown;

/** What _budget.ts lends: the counters and its lock. */
export interface BudgetHooks {
  admit(what: string): void;
  hold(): void;
  release(): void;
  pending<T>(p: T): T;
  lock(target: object, key: string, value: unknown): void;
  construct: typeof Reflect.construct;
}

const { apply } = Reflect;
const addEventListener = EventTarget.prototype.addEventListener;

/** Wraps fetch, WebSocket and EventSource on the global scope. */
export function wrapWeb(h: BudgetHooks): void {
  const g = globalThis as unknown as Record<string, unknown>;
  const fetch = g.fetch as Fn | undefined;
  if (typeof fetch === "function") {
    h.lock(globalThis, "fetch", function (this: unknown, ...args: unknown[]): unknown {
      h.admit("fetch");
      return h.pending(apply(fetch, globalThis, args));
    });
  }
  // Both are lazy globals (EventSource's first read costs a new Worker ~2 ms): wrapped on that read.
  for (const name of ["WebSocket", "EventSource"]) {
    wrapLazily(globalThis, name, (ctor) => wrapSocket(h, name, ctor));
  }
}

/** A socket-making constructor that counts each socket as held until it opens, fails or closes. */
function wrapSocket(h: BudgetHooks, name: string, ctor: unknown): unknown {
  if (typeof ctor !== "function") return ctor;
  const Ctor = ctor as new (...args: unknown[]) => EventTarget;
  const Wrapped = function (this: unknown, ...args: unknown[]): EventTarget {
    if (new.target === undefined) return new Ctor(...args); // throws as the original does
    h.admit(name);
    const target = h.construct(Ctor, args, new.target) as EventTarget;
    h.hold();
    let held = true;
    const settled = (): void => {
      if (held) h.release();
      held = false;
    };
    for (const type of ["open", "error", "close"]) {
      apply(addEventListener, target, [type, settled, { once: true }]);
    }
    return target;
  } as unknown as { prototype: unknown };
  Wrapped.prototype = Ctor.prototype;
  Object.setPrototypeOf(Wrapped, Ctor);
  return Wrapped;
}
