// Which failures of a plugin's start self-healing retries. One that is a property of the plugin's files — its
// module does not parse, throws while it loads, exports no plugin, imports an npm package it is not allowed,
// or a grant reaches through a hard link — fails the same way on every retry: retrying it only delays the
// diagnosis and fills the log. Those go to Failed at once and are tried again when the files change (hot
// reload) or an operator starts the plugin. Everything else (a hook that throws, a timeout, a crash) may
// pass on a retry.

/** The words the host and its tiers give such failures (src/isolation/_inbox.ts, src/plugin/_connection.ts). */
const FILE_FAILURES: readonly RegExp[] = [
  /^its module failed to load: /,
  /^Cannot start plugin "[^"]+": .*(imports npm package|hard link|symlink)/s,
  // The host's own flags do not let it start the process tier: no retry changes them.
  /^Cannot start a process for plugin "[^"]+": NotCapable: /,
];

/** Whether `error` (or an error it wraps) is a property of the plugin's files, which no retry changes. */
export function failsOnEveryTry(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (FILE_FAILURES.some((re) => re.test(e.message))) return true;
  }
  return false;
}
