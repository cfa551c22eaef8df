// A plugin's hook that throws, told as an operator reads it: which hook, what it threw, and where in the
// plugin's own files (the first frame of its stack inside the plugin's folder), e.g.
// `its start hook threw Error: no database (at /srv/plugins/db/mod.ts:12:11)`. The host's own errors (a
// timeout, a dead plugin) pass as they are.
import { fileURLToPath } from "node:url";
import { PluginHostError } from "../errors.ts";

/** The first `file:` frame of `stack` inside `dir`, as `path:line:col`. */
function placeIn(stack: string | undefined, dir: string): string | undefined {
  for (const m of (stack ?? "").matchAll(/(file:\/\/\/[^\s:'"`)]+):(\d+):(\d+)/g)) {
    const path = fileURLToPath(m[1]);
    if (path.startsWith(dir.endsWith("/") ? dir : `${dir}/`)) return `${path}:${m[2]}:${m[3]}`;
  }
  return undefined;
}

/** `error` from hook `name` of the plugin in `dir`, named and located; the same error when it is the host's. */
export function hookError(name: string, error: unknown, dir: string): unknown {
  if (error instanceof PluginHostError || !(error instanceof Error)) return error;
  const at = placeIn(error.stack, dir);
  const wrapped = new Error(
    `its ${name} hook threw ${error.name}: ${error.message}${at ? ` (at ${at})` : ""}`,
    { cause: error },
  );
  wrapped.name = error.name; // what the plugin threw stays what it is (SettingsError, RangeError…)
  return wrapped;
}
