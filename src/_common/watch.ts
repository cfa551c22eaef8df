// Deno.watchFs fires several events per save (5-8 for an editor's write, more for write-then-rename), so events
// are collected per key (a plugin folder, the config file) and handed over once that key has been quiet for
// `delayMs` — never dropped. A steady stream of writes to one key still flushes after 10 × `delayMs`. Batches of
// one key never overlap; different keys proceed independently.

/** What one batch holds: every path under the key that changed, and the kinds of change seen. */
export interface WatchBatch {
  readonly key: string;
  readonly paths: ReadonlySet<string>;
  readonly kinds: ReadonlySet<Deno.FsEvent["kind"]>;
}

/** A running watcher; close it to stop watching (pending batches are flushed first unless `discard`). */
export interface DebouncedWatcher extends AsyncDisposable {
  close(options?: { readonly discard?: boolean }): Promise<void>;
}

interface Pending {
  paths: Set<string>;
  kinds: Set<Deno.FsEvent["kind"]>;
  timer: ReturnType<typeof setTimeout> | undefined;
  firstAt: number;
}

/** Watches `paths`; `keyOf` maps a changed path to its key (undefined: ignore it). */
export function watchDebounced(
  paths: readonly string[],
  options: {
    readonly delayMs: () => number;
    readonly recursive?: boolean;
    readonly keyOf: (path: string) => string | undefined;
    readonly onBatch: (batch: WatchBatch) => void | Promise<void>;
  },
): DebouncedWatcher {
  const watcher = Deno.watchFs([...paths], { recursive: options.recursive ?? false });
  const pending = new Map<string, Pending>();
  const running = new Map<string, Promise<void>>();

  const flush = (key: string): void => {
    const p = pending.get(key);
    if (!p) return;
    clearTimeout(p.timer);
    pending.delete(key);
    const batch: WatchBatch = { key, paths: p.paths, kinds: p.kinds };
    const next = (running.get(key) ?? Promise.resolve()).then(() => options.onBatch(batch)).catch(() => {});
    running.set(key, next);
    void next.then(() => running.get(key) === next && running.delete(key));
  };

  const loop = (async () => {
    try {
      for await (const event of watcher) {
        for (const path of event.paths) {
          const key = options.keyOf(path);
          if (key === undefined) continue;
          let p = pending.get(key);
          if (!p) {
            pending.set(
              key,
              p = { paths: new Set(), kinds: new Set(), timer: undefined, firstAt: Date.now() },
            );
          }
          p.paths.add(path);
          p.kinds.add(event.kind);
          clearTimeout(p.timer);
          const delay = options.delayMs();
          if (Date.now() - p.firstAt >= delay * 10) flush(key);
          else p.timer = setTimeout(() => flush(key), delay);
        }
      }
    } catch { /* closed */ }
  })();

  const close = async ({ discard = false } = {}): Promise<void> => {
    try {
      watcher.close();
    } catch { /* already closed */ }
    await loop;
    for (const [key, p] of [...pending]) {
      if (discard) {
        clearTimeout(p.timer);
        pending.delete(key);
      } else flush(key);
    }
    await Promise.all(running.values());
  };
  return { close, [Symbol.asyncDispose]: () => close() };
}
