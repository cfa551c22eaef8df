/**
 * Internal: the host's descriptor reserve. Worker-tier plugins share the host process's open-file limit; each
 * has its own budget (`ResourceLimits.MaxHandles`, counted inside its Worker by src/runtime/_budget.ts), and
 * all of them together draw on one pool in shared memory: the limit (`/proc/self/limits`) less what the host
 * itself uses (every Worker costs the host about 6 descriptors of its own) less a reserve of
 * {@linkcode HOST_FD_RESERVE}. A handle that would reach into the reserve is refused in the plugin that asks,
 * so the admin API, reloads and new plugins always find descriptors. Budgets are not summed at start-up: 100
 * plugins at the default 256 would need 25,600 descriptors that they almost never hold.
 *
 * @module
 */

/** Descriptors kept for the host's own work, beyond what it uses when a plugin starts. */
export const HOST_FD_RESERVE = 256;

interface Pool {
  readonly buffer: SharedArrayBuffer;
  readonly view: Int32Array;
  readonly limit: number;
}

let pool: Pool | null | undefined;

/** The soft open-file limit, or undefined where the host cannot read it (no /proc, or no read permission). */
export function openFileLimit(): number | undefined {
  try {
    const line = Deno.readTextFileSync("/proc/self/limits").split("\n").find((l) =>
      l.startsWith("Max open files")
    );
    const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
    const n = Number(soft);
    return Number.isSafeInteger(n) && n > 0 ? n : undefined; // "unlimited": nothing to keep a reserve of
  } catch {
    return undefined;
  }
}

/** Descriptors the host process holds now, or undefined where it cannot tell. */
export function openDescriptors(): number | undefined {
  try {
    let n = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
    return n;
  } catch {
    return undefined;
  }
}

function ensurePool(): Pool | undefined {
  if (pool === undefined) {
    const limit = openFileLimit();
    if (limit === undefined) pool = null;
    else {
      const buffer = new SharedArrayBuffer(8);
      pool = { buffer, view: new Int32Array(buffer), limit };
    }
  }
  return pool ?? undefined;
}

/** A plugin's share of the pool: the buffers its load message carries, and how to give its charge back. */
export interface PoolShare {
  readonly pool: SharedArrayBuffer;
  readonly slot: SharedArrayBuffer;
  /** The plugin ended: what it was charged goes back to the pool (its Worker's descriptors are closed). */
  reclaim(): void;
}

/** When /proc/self/fd was last read (performance.now()). */
let lastRead = -Infinity;

/**
 * A share of the process-wide pool for a worker-tier plugin about to start; undefined where the host cannot
 * read its limits (then only the per-plugin budgets apply). The pool's capacity is set again now from what the
 * host really uses: the process's open descriptors less what plugins are charged for.
 */
export function poolShare(): PoolShare | undefined {
  const p = ensurePool();
  if (!p) return undefined;
  // Reading /proc/self/fd costs about a descriptor's worth of work per open descriptor: at most every 250 ms
  // (a burst of starts shares one reading; the host's own use moves slowly).
  const now = performance.now();
  const open = now - lastRead < 250 ? undefined : (lastRead = now, openDescriptors());
  if (open !== undefined) {
    const hostOwn = Math.max(0, open - Atomics.load(p.view, 0));
    Atomics.store(p.view, 1, Math.max(0, p.limit - HOST_FD_RESERVE - hostOwn));
  }
  const slot = new SharedArrayBuffer(4);
  const mine = new Int32Array(slot);
  let done = false;
  return {
    pool: p.buffer,
    slot,
    reclaim(): void {
      if (done) return;
      done = true;
      Atomics.sub(p.view, 0, Atomics.exchange(mine, 0, 0));
    },
  };
}

/** What the pool holds now (tests, diagnostics): descriptors charged to plugins, and its capacity. */
export function poolState(): { charged: number; capacity: number } | undefined {
  const p = ensurePool();
  return p ? { charged: Atomics.load(p.view, 0), capacity: Atomics.load(p.view, 1) } : undefined;
}
