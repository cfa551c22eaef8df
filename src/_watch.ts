// Deno.watchFs fires several events per save (5-8 for an editor's write, more for write-then-rename), so events
// are collected per batch and handed over once the files have been quiet for `delayMs` — never dropped. A
// steady stream of writes still flushes after `maxWaitMs`.

/** What a batch holds: every path that changed, and the kinds of change seen. */
export interface WatchBatch {
  readonly paths: ReadonlySet<string>;
  readonly kinds: ReadonlySet<Deno.FsEvent["kind"]>;
}

/** A running watcher; close it to stop watching (pending events are flushed first unless `discard`). */
export interface DebouncedWatcher extends AsyncDisposable {
  close(options?: { readonly discard?: boolean }): Promise<void>;
}

/** Watches `paths` and calls `onBatch` with collected events. `delayMs` is read on every event, so it can change. */
export function watchDebounced(
  paths: readonly string[],
  options: {
    readonly delayMs: () => number;
    readonly recursive?: boolean;
    readonly filter?: (path: string) => boolean;
    readonly onBatch: (batch: WatchBatch) => void | Promise<void>;
  },
): DebouncedWatcher {
  const watcher = Deno.watchFs([...paths], { recursive: options.recursive ?? false });
  let pathsSeen = new Set<string>();
  let kinds = new Set<Deno.FsEvent["kind"]>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let firstAt = 0;
  let running: Promise<void> = Promise.resolve();

  const flush = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (pathsSeen.size === 0) return;
    const batch: WatchBatch = { paths: pathsSeen, kinds };
    pathsSeen = new Set();
    kinds = new Set();
    // Batches never overlap: the next waits for the previous one's work.
    running = running.then(() => options.onBatch(batch)).catch(() => {});
  };

  const loop = (async () => {
    try {
      for await (const event of watcher) {
        const relevant = event.paths.filter((p) => options.filter?.(p) ?? true);
        if (relevant.length === 0) continue;
        if (pathsSeen.size === 0) firstAt = Date.now();
        for (const p of relevant) pathsSeen.add(p);
        kinds.add(event.kind);
        const delay = options.delayMs();
        clearTimeout(timer);
        timer = Date.now() - firstAt >= delay * 10 ? (flush(), undefined) : setTimeout(flush, delay);
      }
    } catch { /* closed */ }
  })();

  const close = async ({ discard = false } = {}): Promise<void> => {
    try {
      watcher.close();
    } catch { /* already closed */ }
    await loop;
    if (discard) {
      clearTimeout(timer);
      pathsSeen.clear();
    } else flush();
    await running;
  };
  return { close, [Symbol.asyncDispose]: () => close() };
}
