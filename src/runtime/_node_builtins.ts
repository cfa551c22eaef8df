// Node's modules that the runtime hardens when Node's layer loads (_ambient_node.ts). Imported deferred
// (_harden.ts): linked with the runtime, so that reading them later needs no read grant and no
// `process.getBuiltinModule` (a lazy getter that loads node:module, which measured as a circular load when
// Node's layer is mid-evaluation), and evaluated only when a plugin has loaded Node's layer anyway.
import fs from "node:fs";
import v8 from "node:v8";

/** node:fs's module object (the one `require("fs")` returns). */
export const nodeFs: Record<string, unknown> = fs as unknown as Record<string, unknown>;
/** node:v8's module object (the one `require("v8")` returns). */
export const nodeV8: Record<string, unknown> = v8 as unknown as Record<string, unknown>;
