// The host's side of the usage tick for direct workers (TickMessage in src/rpc/protocol.ts): one timer for all
// the workers of a period sends each a tick, instead of a timer in each worker. The worker measures how late it
// handled the tick: the time its event loop was blocked, as it measured a timer's lateness before.

interface Clock {
  readonly sinks: Set<(at: number) => void>;
  readonly timer: ReturnType<typeof setInterval>;
}

const clocks = new Map<number, Clock>();

/** Calls `send(at)` every `periodMs` (`at`: absolute ms) until the returned function is called. */
export function tickEvery(periodMs: number, send: (at: number) => void): () => void {
  let own = clocks.get(periodMs);
  if (!own) {
    const sinks = new Set<(at: number) => void>();
    const timer = setInterval(() => {
      const at = performance.timeOrigin + performance.now();
      for (const sink of sinks) sink(at);
    }, periodMs);
    Deno.unrefTimer(timer as unknown as number); // the plugins never keep the host alive by themselves
    own = { sinks, timer };
    clocks.set(periodMs, own);
  }
  const clock = own;
  clock.sinks.add(send);
  return () => {
    clock.sinks.delete(send);
    if (clock.sinks.size === 0) {
      clearInterval(clock.timer);
      clocks.delete(periodMs);
    }
  };
}
