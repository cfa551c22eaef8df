// The host's side of the usage tick for direct workers (TickMessage in src/rpc/protocol.ts): one timer for all
// the workers of a period sends each a tick, instead of a timer in each worker. The worker measures how late it
// handled the tick: the time its event loop was blocked, as it measured a timer's lateness before.
//
// A tick wakes two sleeping threads (the worker, then the host for its report): measured on the 2-core box,
// 100 idle workers ticked every second cost 6-8% of a core, and a lone tick about 1 ms of CPU. So a worker is
// ticked every period only while it needs it: when its usage report feeds a limit (`needed`: a plugin's own
// timers may burn CPU or grow its heap without any call, and a limit must still see that), while a call into
// it is in flight, and in the period after anything crossed its channel. An idle worker that no limit watches
// is ticked once every IDLE_EVERY periods, each on its own turn so that they do not all wake at once: its heap
// and lag in the metrics are at most that old. What it does on its own timers in between goes unseen; nothing
// acts on those reports but the metrics, and an operator who wants them acted on sets a limit, which keeps the
// worker on the full clock. (One tick in 30 periods was measured too: 100 idle workers still cost 0.5-0.9% of
// a core more than 100 bare Workers.)

/** An idle worker that no limit watches is ticked once every this many periods (5 min at the usual 1 s). */
export const IDLE_EVERY = 300;
/** Turns are dealt this far apart (prime to IDLE_EVERY, about 0.6 of it): any run of periods gets its share. */
const STRIDE = 181;

/** How a worker is put on the clock. */
export interface TickOptions {
  /** A limit rests on its usage reports: ticked every period, idle or not. */
  readonly needed: boolean;
  /** Whether a call into it is in flight now (read at each tick). */
  readonly busy: () => boolean;
}

/** A worker on the clock. */
export interface Ticked {
  /** Something crossed its channel: it is ticked at the next period, whatever its turn. */
  touch(): void;
  /** Takes it off the clock. */
  stop(): void;
}

interface Sink {
  readonly send: (at: number) => void;
  readonly options: TickOptions;
  /** Its turn among the idle ones: the period number, modulo IDLE_EVERY, at which it is ticked anyway. */
  readonly turn: number;
  touched: boolean;
}

interface Clock {
  readonly sinks: Set<Sink>;
  readonly timer: ReturnType<typeof setInterval>;
  /** Periods elapsed; new sinks take the next turns in order, so the idle ones spread evenly. */
  count: number;
  turns: number;
}

const clocks = new Map<number, Clock>();

/** Calls `send(at)` (`at`: absolute ms) every `periodMs` as `options` say, until `stop()`. */
export function tickEvery(periodMs: number, send: (at: number) => void, options: TickOptions): Ticked {
  let own = clocks.get(periodMs);
  if (!own) {
    const clock: Clock = {
      sinks: new Set(),
      count: 0,
      turns: 0,
      timer: setInterval(() => _tick(clock), periodMs),
    };
    Deno.unrefTimer(clock.timer as unknown as number); // the plugins never keep the host alive by themselves
    own = clock;
    clocks.set(periodMs, own);
  }
  const clock = own;
  // Touched: a worker just started is ticked at the first period (its first report comes a period in).
  const sink: Sink = { send, options, turn: (clock.turns++ * STRIDE) % IDLE_EVERY, touched: true };
  clock.sinks.add(sink);
  return {
    touch(): void {
      sink.touched = true;
    },
    stop(): void {
      if (!clock.sinks.delete(sink) || clock.sinks.size > 0) return;
      clearInterval(clock.timer);
      clocks.delete(periodMs);
    },
  };
}

function _tick(clock: Clock): void {
  const at = performance.timeOrigin + performance.now();
  const turn = clock.count++ % IDLE_EVERY;
  for (const sink of clock.sinks) {
    if (sink.touched || sink.options.needed || sink.turn === turn || sink.options.busy()) {
      sink.touched = false;
      sink.send(at);
    }
  }
}
