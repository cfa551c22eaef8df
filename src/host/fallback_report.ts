// What an embedded host says when its embedder has not configured LogTape. LogTape's rule for libraries is to
// log and never configure: an application that never calls `configure()` sees nothing, not even every plugin
// failing. So while LogTape has no configuration, the host itself writes its failures to stderr, one line
// each (a failed or quarantined plugin, a plugin folder that failed discovery, a crash); the moment the
// application configures LogTape, these lines stop and its sinks get the full records.
import { getConfig } from "../_npm/logtape.ts";
import type { HostEventMap } from "../events/events.ts";
import { indentLines } from "../logging/record.ts";

type On = <K extends keyof HostEventMap>(type: K, listener: (event: HostEventMap[K]) => void) => () => void;

/** The line's writer: console.error (stderr) unless a test gives another. */
export type FallbackWrite = (line: string) => void;

const HINT = "LogTape is not configured; configure it to get every record (README, Logging)";

/** Reports failures on stderr while LogTape is unconfigured; the returned function ends it. */
export function reportWhileUnconfigured(on: On, write: FallbackWrite = (l) => console.error(l)): () => void {
  let hinted = false;
  const say = (text: string): void => {
    if (getConfig() !== null) return;
    // A code frame keeps its lines, indented: a plugin's source is in the frame (src/logging/record.ts).
    write(`dotcompute: ${indentLines(text)}${hinted ? "" : ` (${HINT})`}`);
    hinted = true;
  };
  const offs = [
    on("state", (e) => {
      if (e.to === "Failed") say(`plugin "${e.id}" failed: ${e.reason ?? "no reason given"}`);
    }),
    on("crash", (e) => say(`plugin "${e.id}" crashed: ${e.reason}`)),
    on("discoveryFailure", (e) => say(`${e.dir}: ${e.message}`)),
    on("heal", (e) => {
      if (e.action === "quarantined") say(`plugin "${e.id}" quarantined: ${e.reason}`);
    }),
  ];
  return () => offs.forEach((off) => off());
}
