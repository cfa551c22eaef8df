// The runtime's side of the host's descriptor pool (src/isolation/fd_reserve.ts): every worker-tier plugin shares
// the host process's open-file limit, so each one charges what it holds to a counter in shared memory that all
// of them see, and a handle that would take the total into the host's reserve is refused. The plugin never sees
// the buffers (they live in this module's closure); it can only charge what it really asks for.
const { add, sub, load, store } = Atomics;
const ErrorCtor = Error;

/** The pool ([charged by all plugins, capacity]) and this plugin's own charge (the host reclaims it at exit). */
export interface BudgetPool {
  readonly total: Int32Array;
  readonly mine: Int32Array;
  charged: number;
}

/** The pool the load message carries, if any (the process tier's children have descriptor tables of their own). */
export function openPool(pool?: SharedArrayBuffer, slot?: SharedArrayBuffer): BudgetPool | undefined {
  if (!(pool instanceof SharedArrayBuffer) || !(slot instanceof SharedArrayBuffer)) return undefined;
  if (pool.byteLength < 8 || slot.byteLength < 4) return undefined;
  return { total: new Int32Array(pool, 0, 2), mine: new Int32Array(slot, 0, 1), charged: 0 };
}

/** Charges the pool for `want` handles held by this plugin; throws when that would reach into the host's reserve. */
export function charge(p: BudgetPool, want: number, what: string): void {
  const delta = want - p.charged;
  if (delta === 0) return;
  const after = add(p.total, 0, delta) + delta;
  const capacity = load(p.total, 1);
  if (delta > 0 && after > capacity) {
    sub(p.total, 0, delta);
    const error = new ErrorCtor(
      `Plugin budget exhausted: ${what}: the host's plugins hold ${after - delta} descriptors together, ` +
        `all the host lends them (${capacity}: its open-file limit less its own reserve); raise the host's ` +
        `open-file limit (ulimit -n) or lower ResourceLimits.MaxHandles of other plugins`,
    );
    error.name = "BudgetExceeded";
    throw error;
  }
  p.charged = want;
  store(p.mine, 0, want);
}
