/**
 * Proves each red-team test guards something: for every defence, copies the repository (without .git) to a temp
 * dir, removes that one defence with a textual mutation, runs the matching tests in tests/security/ there, and
 * reports whether they fail, as they must. /work/main itself is never touched.
 *
 *   deno run -A scripts/security_mutations.ts [--only NAME[,NAME…]] [--markdown]
 *   deno run -A scripts/security_mutations.ts --check   (only: does every edit still find its text once?)
 *
 * Exit 1 when a mutation survives (its tests still pass) or a mutation no longer applies (the defence's text
 * moved: update the table below).
 *
 * @module
 */

import { join } from "node:path";

interface Mutation {
  /** Short name, for --only and the report. */
  readonly name: string;
  /** The defence removed, in words. */
  readonly defence: string;
  /** File edits: each `find` must occur exactly once in `file`. */
  readonly edits: readonly { file: string; find: string; replace: string }[];
  /** Test files under tests/security/ to run. */
  readonly tests: readonly string[];
  /** Host flags to drop from the test command (a defence that is a flag). */
  readonly dropFlags?: readonly string[];
}

const H = "src/runtime/_harden.ts";
const N = "src/runtime/_harden_node.ts";
const P = "src/permissions/permissions.ts";
const AM = "src/runtime/_ambient.ts";
const AN = "src/runtime/_ambient_node.ts";
const edit = (file: string, find: string, replace = ""): Mutation["edits"][number] => ({
  file,
  find,
  replace,
});

const MUTATIONS: readonly Mutation[] = [
  {
    name: "read-grant",
    defence: "the Worker's read permission narrowed to the plugin's paths",
    edits: [edit(P, "    read: list(p.read),", "    read: true,")],
    tests: ["fs_test.ts", "imports_test.ts"],
  },
  {
    name: "write-grant",
    defence: "the Worker's write permission narrowed",
    edits: [edit(P, "    write: list(p.write),", "    write: true,")],
    tests: ["fs_test.ts"],
  },
  {
    name: "net-grant",
    defence: "the Worker's net permission narrowed to the endpoints",
    edits: [edit(P, "    net: list(p.net),", "    net: true,")],
    tests: ["net_test.ts"],
  },
  {
    name: "env-grant",
    defence: "the Worker's env permission narrowed",
    edits: [edit(P, "    env: list(p.env),", "    env: true,")],
    tests: ["env_sys_test.ts"],
  },
  {
    name: "run-ffi-sys-import",
    defence: "run, ffi, sys and import never granted",
    edits: [
      edit(
        P,
        "    run: false,\n    ffi: false,\n    sys: false,\n    import: false,\n  };",
        "    run: true,\n    ffi: true,\n    sys: true,\n    import: true,\n  };",
      ),
    ],
    tests: ["env_sys_test.ts", "imports_test.ts"],
  },
  {
    name: "deno-kill",
    defence: "Deno.kill refused in the plugin's thread",
    edits: [edit(H, `  replace(Deno, "kill", () => refuse("Deno.kill"));\n`)],
    tests: ["process_signals_test.ts"],
  },
  {
    name: "process-kill-abort",
    defence: "process.kill, process._kill and process.abort refused on the process object",
    edits: [
      edit(N, `    lock(process, "kill", () => refuse("process.kill"));\n`),
      edit(
        N,
        `    lock(process, "_kill", () => refuse("process.kill")); // what the \`kill\` export calls\n`,
      ),
      edit(N, `    lock(process, "abort", () => refuse("process.abort"));\n`),
    ],
    tests: ["process_signals_test.ts", "node_layer_test.ts"],
  },
  {
    name: "node-process-wrapper",
    defence:
      "the node:process wrapper's own named abort export (else node:process's, bound to an op, passes)",
    edits: [
      edit(
        "src/runtime/node_process.ts",
        `export function abort(): never {`,
        `function notExported(): never {`,
      ),
    ],
    tests: ["process_signals_test.ts", "node_layer_test.ts"],
  },
  {
    name: "node-process-import-map",
    defence: "the import map sends every module's node:process (data:, blob: too) to the wrapper",
    edits: [edit("deno.json", `,\n    "node:process": "./src/runtime/node_process.ts"`)],
    tests: ["node_layer_test.ts"],
  },
  {
    name: "node-wrapper-guard",
    defence: "the wrapper hardens process before its importer runs",
    edits: [edit("src/runtime/node_process.ts", `guardNode();\n`)],
    tests: ["node_layer_test.ts"],
  },
  {
    name: "node-hook-worker-threads",
    defence: "hardening when node:worker_threads (or node:module, require, CommonJS) loads",
    edits: [edit(N, `  announce(internals, "__initWorkerThreads", () => {`, `  (() => {`)],
    tests: ["node_layer_test.ts", "imports_test.ts"],
  },
  {
    name: "node-hook-global",
    defence: "the process global hardened before it is first returned",
    edits: [
      edit(
        N,
        `  if (global?.get) {\n    // \`process\` as a global`,
        `  if (false) {\n    // \`process\` as a global`,
      ),
    ],
    tests: ["node_layer_test.ts"],
  },
  {
    name: "node-hook-process-load",
    defence: "hardening a microtask after node:process loads by a route with no other hook",
    edits: [edit(N, `    if (!hardenNow()) queue(hardenNow);\n`)],
    tests: ["node_layer_test.ts", "process_signals_test.ts"],
  },
  {
    name: "internals",
    defence: "Deno's internals object taken from the plugin",
    edits: [edit(H, `    delete (Deno as unknown as Record<symbol, unknown>)[key];\n`)],
    tests: ["node_layer_test.ts"],
  },
  {
    name: "signal-listener",
    defence: "Deno.addSignalListener refused",
    edits: [edit(H, `  replace(Deno, "addSignalListener", () => refuse("Deno.addSignalListener"));\n`)],
    tests: ["process_signals_test.ts"],
  },
  {
    name: "chdir",
    defence: "Deno.chdir refused (the cwd is process-wide)",
    edits: [edit(H, `  replace(Deno, "chdir", () => refuse("Deno.chdir"));\n`)],
    tests: ["env_sys_test.ts"],
  },
  {
    name: "deno-worker",
    defence: "the global Worker refused",
    edits: [
      edit(
        H,
        `  replace(globalThis, "Worker", function Worker(): never {\n    return refuse("Worker");\n  });\n`,
      ),
    ],
    tests: ["imports_test.ts"],
  },
  {
    name: "node-worker",
    defence: "node:worker_threads Worker refused (its thread would start unhardened)",
    edits: [edit(N, `      if (buildingNodeWorker()) refuse("node:worker_threads Worker");\n`)],
    tests: ["imports_test.ts", "node_layer_test.ts"],
  },
  {
    name: "permission-request",
    defence: "Deno.permissions.request/requestSync refused",
    edits: [
      edit(H, `  replace(Deno.permissions, "request", denied);\n`),
      edit(H, `  replace(Deno.permissions, "requestSync", denied);\n`),
    ],
    tests: ["env_sys_test.ts"],
  },
  {
    name: "codegen-flag",
    defence: "--v8-flags=--disallow-code-generation-from-strings alone (the runtime fallback stays)",
    edits: [],
    dropFlags: ["--v8-flags=--disallow-code-generation-from-strings"],
    tests: ["codegen_test.ts"],
  },
  {
    name: "codegen-both",
    defence: "the V8 flag and the runtime's fallback together",
    edits: [edit(H, `  blockCodeGeneration();\n`)],
    dropFlags: ["--v8-flags=--disallow-code-generation-from-strings"],
    tests: ["codegen_test.ts"],
  },
  {
    name: "codegen-fallback",
    defence: "the runtime's fallback that removes eval/Function when the V8 flag is missing",
    edits: [edit(H, `  blockCodeGeneration();\n`)],
    tests: ["codegen_test.ts"],
  },
  {
    name: "task-flags",
    defence: "--no-prompt and the V8 flag in the deno.json tasks",
    edits: [
      edit(
        "deno.json",
        `"start": "deno run --quiet --unstable-worker-options --no-prompt `,
        `"start": "deno run --quiet --unstable-worker-options `,
      ),
    ],
    tests: ["codegen_test.ts"],
  },
  {
    name: "no-prompt-flag",
    defence: "--no-prompt on the test command",
    edits: [],
    dropFlags: ["--no-prompt"],
    tests: ["env_sys_test.ts"],
  },
  {
    name: "validator",
    defence: "parseWorkerMessage validates every worker message",
    edits: [
      edit(
        "src/rpc/protocol.ts",
        `  if (!isRec(data)) return "not an object";\n`,
        `  return data as WorkerMessage;\n`,
      ),
    ],
    tests: ["rpc_forgery_test.ts"],
  },
  {
    name: "log-tagging",
    defence: "a plugin's log records are tagged with its own id, whatever it claims",
    edits: [
      edit(
        "src/plugin/_connection.ts",
        "{ ...boundLogProperties(m.properties), pluginId: c.id }",
        "{ pluginId: c.id, ...boundLogProperties(m.properties) }",
      ),
    ],
    tests: ["rpc_forgery_test.ts"],
  },
  {
    name: "worker-onerror",
    defence: "the worker tier's onerror preventDefault",
    edits: [edit("src/isolation/worker_tier.ts", "      e.preventDefault();\n")],
    tests: ["process_signals_test.ts"],
  },
  {
    name: "folder-symlinks",
    defence: "plugin folders with a symlink pointing out are refused",
    edits: [
      edit(
        "src/discovery/plugin_folder.ts",
        "} else if (!within(found.target, realDir)) {",
        "} else if (false) {",
      ),
    ],
    tests: ["fs_test.ts", "reload_race_test.ts"],
  },
  {
    name: "buffers-count",
    defence: "ArrayBuffers counted against MaxMemoryMB from the usage reports",
    edits: [
      edit("src/plugin/_resources.ts", "  if (mib <= cap) return;", "  if (mib <= cap || cap > 0) return;"),
    ],
    tests: ["exhaustion_test.ts"],
  },
  {
    name: "grant-links",
    defence: "a symlink in a granted folder that leads out of the grants refuses the start",
    edits: [edit("src/plugin/_connection.ts", "  if (links.problems.length > 0) {", "  if (false) {")],
    tests: ["fs_test.ts"],
  },
  {
    name: "load-timeout",
    defence: "the load timeout (a top-level await that never settles)",
    edits: [
      edit(
        "src/isolation/_link.ts",
        "        spec.loadTimeoutMs + bootMs,",
        "        3_600_000 + bootMs,",
      ),
    ],
    tests: ["process_signals_test.ts"],
  },
  {
    name: "stdio-output",
    defence: "Deno.stdout/stderr (and so process.stdout/stderr) write the plugin's log records",
    edits: [
      edit(AM, `  muteOutput(Deno.stdout, "stdout", write);\n  muteOutput(Deno.stderr, "stderr", write);\n`),
    ],
    tests: ["ambient_test.ts"],
  },
  {
    name: "stdio-input",
    defence: "Deno.stdin (and so process.stdin) reads end-of-file",
    edits: [edit(AM, "  muteInput(Deno.stdin, refuse);\n")],
    tests: ["ambient_test.ts"],
  },
  {
    name: "console",
    defence: "the console object (node:console's too) writes the plugin's log records",
    edits: [edit(AM, "  muteConsole(internals, write);\n")],
    tests: ["ambient_test.ts"],
  },
  {
    name: "stdio-fds",
    defence: "file descriptors 0-2 closed to node:fs, and TTY and pipe handles on them refused",
    edits: [edit(AN, "    closeStdioFds(process, refuse, closeFds, nodeFs);\n")],
    tests: ["ambient_test.ts"],
  },
  {
    name: "channels",
    defence: "BroadcastChannel, Web Locks and the Cache API closed between workers",
    edits: [edit(AM, "  closeChannels(refuse);\n")],
    tests: ["ambient_test.ts"],
  },
  {
    name: "host-facts",
    defence:
      "Deno.cwd, pid, ppid, args, execPath, memoryUsage's rss, cpuUsage, consoleSize, telemetry hidden",
    edits: [edit(AM, "  hideFacts(refuse, (msg) => {", "  if (false) hideFacts(refuse, (msg) => {")],
    tests: ["ambient_test.ts"],
  },
  {
    name: "node-facts",
    defence: "process.pid, ppid, argv, execPath, cwd, cpuUsage, resourceUsage, report hidden",
    edits: [edit(AN, "  hideProcessFacts(process, refuse, !closeFds);\n")],
    tests: ["ambient_test.ts"],
  },
  {
    name: "v8-flags",
    defence: "v8.setFlagsFromString refused (the import map's node:v8 wrapper and the module object)",
    edits: [
      edit(AN, "    closeProcessWide(nodeV8, refuse);\n"),
      edit(
        "deno.json",
        `    "node:v8": "./src/runtime/node_v8.ts"`,
        `    "node:v8x": "./src/runtime/node_v8.ts"`,
      ),
    ],
    tests: ["ambient_test.ts"],
  },
  {
    name: "gpu",
    defence: "navigator.gpu hidden without AllowGpu",
    edits: [edit(AM, '  if (found) getter(found.holder, "gpu", () => undefined);\n')],
    tests: ["ambient_test.ts"],
  },
  {
    name: "duplicate-id",
    defence: "two plugin folders claiming one id: neither gets it (not the first by folder order)",
    edits: [
      edit(
        "src/discovery/discovery.ts",
        "    if (all.length === 1) return r;",
        "    if (all.length >= 1) return r;",
      ),
    ],
    tests: ["identity_test.ts"],
  },
  {
    name: "duplicate-id-hot",
    defence: "a hot-reloaded folder is refused while another folder claims its id too",
    edits: [
      edit("src/host/_trust.ts", "  if (others.length === 0) return report;", "  if (others) return report;"),
    ],
    tests: ["identity_test.ts"],
  },
  {
    name: "folder-pin",
    defence: "PluginSecurity.<id>.Folder: a plugin from another folder is refused",
    edits: [edit("src/trust/identity_pins.ts", "    if (pinned !== plugin.dir) {", "    if (!pinned) {")],
    tests: ["identity_test.ts"],
  },
  {
    name: "signer-pin",
    defence: "PluginSecurity.<id>.Signer: a plugin without a valid signature by that key is refused",
    edits: [edit("src/trust/identity_pins.ts", "  if (!result.ok) {", "  if (!result) {")],
    tests: ["identity_test.ts"],
  },
  {
    name: "hardlinks-folder",
    defence: "a file with more than one hard link in a plugin folder refuses the plugin",
    edits: [
      edit(
        "src/discovery/plugin_folder.ts",
        '    } else if (found.kind === "hardlink") {\n      diagnostics.push({',
        '    } else if (found.kind === "hardlink") {\n      if (found) continue;\n      diagnostics.push({',
      ),
    ],
    tests: ["identity_test.ts"],
  },
  {
    name: "hardlinks-grant",
    defence: "a file with more than one hard link in (or as) a granted path refuses the start",
    edits: [
      edit(
        "src/permissions/grant_links.ts",
        "        if (nlink > 1) problems.push(",
        "        if (!nlink) problems.push(",
      ),
      edit(
        "src/permissions/grant_links.ts",
        "          problems.push(hardLinkProblem(join(root, found.rel), kind, found.nlink));",
        "          void hardLinkProblem;",
      ),
    ],
    tests: ["identity_test.ts"],
  },
  {
    name: "manifest-depth",
    defence:
      "manifests and host configurations nested deeper than 64 levels are refused before parsing (one reader)",
    edits: [edit("src/_common/jsonc.ts", "  if (deep !== undefined) {", "  if (!deep) {")],
    tests: ["manifest_shapes_test.ts"],
  },
  {
    name: "manifest-proto-keys",
    defence: "keys named like Object.prototype properties refused anywhere in a manifest",
    edits: [
      edit(
        "src/manifest/manifest.ts",
        "  if (unsafe.length > 0) return { id, idPosition, diagnostics: unsafe };\n",
      ),
    ],
    tests: ["manifest_shapes_test.ts"],
  },
  {
    name: "manifest-proto-id",
    defence: 'a plugin id that is a name of Object.prototype ("constructor") refused',
    edits: [
      edit(
        "src/manifest/manifest.ts",
        "  .refine((id) => !isPrototypeName(id), {",
        "  .refine((id) => !!id, {",
      ),
    ],
    tests: ["manifest_shapes_test.ts"],
  },
  {
    name: "grant-paths",
    defence: "manifest grants must be plain paths (no file: host, no %2F/%2e/%00, no other scheme)",
    edits: [
      edit(
        "src/manifest/_guards.ts",
        "export function grantPathProblem(grant: string): string | undefined {\n",
        "export function grantPathProblem(grant: string): string | undefined {\n  if (grant) return undefined;\n",
      ),
    ],
    tests: ["manifest_shapes_test.ts"],
  },
  {
    name: "npm-host-scan",
    defence: "the host scans the plugin's graph and refuses a start over an npm import not allowed",
    edits: [
      edit(
        "src/plugin/_connection.ts",
        "if (imports.problems.length > 0) {",
        "if (imports.problems.length < 0) {",
      ),
    ],
    tests: ["npm_test.ts"],
  },
  {
    name: "npm-hook-needed",
    defence: "a graph with an import the scan cannot settle makes the runtime install its import hook",
    edits: [
      edit("src/discovery/import_check.ts", "importHook: graph.unsettled.length > 0", "importHook: false"),
    ],
    tests: ["npm_test.ts"],
  },
  {
    name: "npm-hook",
    defence: "the runtime's import hook refuses an npm package not allowed (computed import, require)",
    edits: [
      edit(
        "src/runtime/_import_hook.ts",
        "if (!allowed.has(name)) refused(",
        "if (allowed.has(name)) refused(",
      ),
    ],
    tests: ["npm_test.ts"],
  },
  {
    name: "hook-data-blob",
    defence: "the import hook refuses data:/blob: URLs not written literally in scanned code",
    edits: [
      edit("src/runtime/_import_hook.ts", "if (!literals.has(url.href)) {", "if (literals.has(url.href)) {"),
    ],
    tests: ["codegen_routes_test.ts"],
  },
  {
    name: "hook-keeps-wrappers",
    defence: "the import hook keeps node:* on the import map's wrappers (Node's resolver bypasses the map)",
    edits: [edit("src/runtime/_import_hook.ts", "if (hasOwn(NODE_WRAPPERS, builtin) && ", "if (false && ")],
    tests: ["codegen_routes_test.ts"],
  },
  {
    name: "node-vm-import-map",
    defence: "the import map sends plugins' node:vm to the wrapper that refuses its compiling exports",
    edits: [edit("deno.json", '    "node:vm": "./src/runtime/node_vm.ts",\n', "")],
    tests: ["codegen_routes_test.ts"],
  },
  {
    name: "node-vm-object",
    defence: "node:vm's CommonJS object (require, getBuiltinModule, default export) locked when Node loads",
    edits: [edit("src/runtime/_import_hook.ts", "if (!vmDone) closeVm(", "if (vmDone) closeVm(")],
    tests: ["codegen_routes_test.ts", "codegen_test.ts"],
  },
  {
    name: "module-compile",
    defence: "Module.prototype._compile only of the file's own text",
    edits: [edit("src/runtime/_import_hook.ts", "if (!same) refuse(", "if (false) refuse(")],
    tests: ["codegen_routes_test.ts"],
  },
  {
    name: "module-wrap",
    defence: "Module.prototype._compile refused once Module.wrap or Module.wrapper changed",
    edits: [edit("src/runtime/_import_hook.ts", 'refuse("Changing Module.wrap or Module.wrapper");', "")],
    tests: ["codegen_routes_test.ts"],
  },
  {
    name: "register-hooks-object",
    defence: "node:module's registerHooks/register refused on the CommonJS object",
    edits: [
      edit(
        "src/runtime/_import_hook.ts",
        'lock(Module, "registerHooks", () => refuse("node:module registerHooks"));',
        "",
      ),
    ],
    tests: ["codegen_routes_test.ts"],
  },
  {
    name: "register-hooks-wrapper",
    defence: "node_module.ts (import map) refuses the named registerHooks export (else node:module's passes)",
    edits: [
      edit("src/runtime/node_module.ts", 'export const registerHooks: Fn = gated("registerHooks");', ""),
    ],
    tests: ["codegen_routes_test.ts"],
  },
  {
    name: "budget-install",
    defence: "per-plugin budgets installed by harden() before the plugin loads (src/runtime/_budget.ts)",
    edits: [edit(H, "  installBudgets(internals); //", "  // installBudgets(internals); //")],
    tests: ["handles_test.ts"],
  },
  {
    name: "budget-handles",
    defence: "a handle past ResourceLimits.MaxHandles is refused in the plugin",
    edits: [edit("src/runtime/_budget.ts", "  if (now >= maxHandles) {", "  if (false) {")],
    tests: ["handles_test.ts"],
  },
  {
    name: "budget-pending",
    defence: "async operations in flight (readFile, open, fetch…) count against MaxHandles",
    edits: [
      edit(
        "src/runtime/_budget.ts",
        "export function pending<T>(p: T): T {\n  counted++;",
        "export function pending<T>(p: T): T {",
      ),
    ],
    tests: ["handles_test.ts"],
  },
  {
    name: "budget-timers",
    defence: "a timer past ResourceLimits.MaxTimers is refused in the plugin",
    edits: [edit("src/runtime/_budget.ts", "if (timers >= maxTimers) exceeded(", "if (false) exceeded(")],
    tests: ["handles_test.ts"],
  },
  {
    name: "budget-config",
    defence: "the load message's MaxHandles (a plugin block's, else the host-wide one) sets the budget",
    edits: [edit("src/runtime/_budget.ts", "  if (spec.maxHandles > 0) maxHandles = spec.maxHandles;\n", "")],
    tests: ["handles_test.ts"],
  },
  {
    name: "budget-pool",
    defence: "worker-tier plugins are charged in the host's descriptor pool (the host keeps its reserve)",
    edits: [edit("src/runtime/_budget.ts", "  if (pool) charge(pool, now + 1, what);\n", "")],
    tests: ["handles_test.ts"],
  },
  {
    name: "slot-proxy",
    defence: "a Proxy in a lone call's result never takes the shared-memory slot (JSON would read its traps)",
    edits: [edit("src/runtime/_shared_serve.ts", "jsonExact(m.value, isProxy)", "jsonExact(m.value)")],
    tests: ["host_input_test.ts"],
  },
  {
    name: "budget-node-fs",
    defence:
      "node:fs openSync (module object: require, default import, getBuiltinModule) counts against MaxHandles",
    edits: [edit("src/runtime/_budget_node.ts", '      admit("node:fs openSync");\n', "")],
    tests: ["handles_test.ts"],
  },
  {
    name: "budget-node-fs-named",
    defence: "node:fs's named openSync (the import map's node_fs.ts) is the counted one",
    edits: [edit("src/runtime/node_fs.ts", "export const openSync: typeof fs.openSync = fs.openSync;\n", "")],
    tests: ["handles_test.ts"],
  },
  {
    name: "budget-node-fs-open",
    defence: "node:fs open (callback; Node's streams open through it) counts against MaxHandles",
    edits: [edit("src/runtime/_budget_node.ts", '        admit("node:fs open");\n', "")],
    tests: ["handles_test.ts"],
  },
  {
    name: "budget-node-fs-promises",
    defence: "node:fs/promises open counts each FileHandle against MaxHandles",
    edits: [edit("src/runtime/_budget_node.ts", '      admit("node:fs/promises open");\n', "")],
    tests: ["handles_test.ts"],
  },
  {
    name: "budget-node-fs-inflight",
    defence:
      "node:fs's asynchronous operations (readFile, stat, …; callbacks and promises) are pending while they run",
    edits: [
      edit("src/runtime/_budget_node.ts", "  for (const key of NODE_FS_ASYNC) pendingCallback(fs, key);\n"),
      edit("src/runtime/_budget_node.ts", "  for (const key of NODE_FS_ASYNC) pendingPromise(fsp, key);\n"),
    ],
    tests: ["handles_test.ts"],
  },
  {
    name: "budget-node-fs-release",
    defence: "a closed node:fs descriptor is released (closeSync, close, FileHandle.close, stream close)",
    edits: [
      edit(
        "src/runtime/_budget_node.ts",
        "  else apply(mapDelete, open, [fd]);\n  release();",
        "  else apply(mapDelete, open, [fd]);",
      ),
    ],
    tests: ["handles_test.ts"],
  },
  {
    name: "budget-node-ambient",
    defence: "node:fs's module object is counted when Node's layer loads, without node:fs being imported",
    edits: [edit(AN, "    budgetNodeFs(nodeFs); //", "    // budgetNodeFs(nodeFs); //")],
    tests: ["handles_test.ts"],
  },
  {
    name: "host-fd-reserve",
    defence: "the pool's capacity is the open-file limit less the host's own use and its reserve",
    edits: [
      edit(
        "src/isolation/fd_reserve.ts",
        "Atomics.store(p.view, 1, Math.max(0, p.limit - HOST_FD_RESERVE - hostOwn));",
        "Atomics.store(p.view, 1, 2 ** 30);",
      ),
    ],
    tests: ["handles_test.ts"],
  },
  // Input that reaches the host from a plugin (tests/security/host_input_test.ts).
  {
    name: "log-category-tree",
    defence: "a plugin's log category never becomes a LogTape getChild name (constructor ended the host)",
    edits: [
      edit(
        "src/plugin/_connection.ts",
        "      c.log.emit(record as Parameters<typeof c.log.emit>[0]);",
        "      (m.category.length > 1 ? c.log.getChild(m.category.slice(1) as [string]) : c.log).emit(record as Parameters<typeof c.log.emit>[0]);",
      ),
    ],
    tests: ["host_input_test.ts"],
  },
  {
    name: "inbox-catch",
    defence: "whatever the host's handling of one plugin message throws is charged as a protocol error",
    edits: [
      edit(
        "src/isolation/_inbox.ts",
        "    } catch (e) {\n      this.#charge(`handling its",
        "    } catch (e) {\n      throw e;\n      this.#charge(`handling its",
      ),
    ],
    tests: ["host_input_test.ts"],
  },
  {
    name: "log-category-charset",
    defence: "each part of a log category is [A-Za-z0-9_.:-]{1,64}",
    edits: [edit("src/rpc/protocol.ts", "!isCategory(m.category)", "!isStrArr(m.category, 16)")],
    tests: ["host_input_test.ts"],
  },
  {
    name: "log-bounds",
    defence: "the host bounds a plugin's log properties (size, depth, keys, binary copied) on receipt",
    edits: [
      edit(
        "src/plugin/_connection.ts",
        "properties: { ...boundLogProperties(m.properties), pluginId: c.id },",
        "properties: { ...m.properties, pluginId: c.id },",
      ),
    ],
    tests: ["host_input_test.ts"],
  },
  {
    name: "log-text-escape",
    defence:
      "the CLI's text output indents a message's further lines and escapes every other control character",
    edits: [
      edit("src/cli/_output.ts", `    sanitize: { sgr: "escape", newlines: "escape" },\n`),
      edit("src/cli/_output.ts", ": ${indentLines(message)}${", ": ${message}${"),
    ],
    tests: ["host_input_test.ts"],
  },
  {
    name: "result-unshare",
    defence: "shared memory in a plugin's result is copied on receipt",
    edits: [edit("src/isolation/_inbox.ts", "(m as { value: unknown }).value = unshareOwned(m.value);", "")],
    tests: ["host_input_test.ts"],
  },
  {
    name: "outgoing-unshare",
    // (The copy of a plugin-to-plugin call's arguments on receipt, src/isolation/_inbox.ts, is a second layer
    // behind this one: removed alone, no test can tell.)
    defence: "shared memory in arguments is copied before they are sent to a plugin",
    edits: [edit("src/rpc/endpoint.ts", "      args = unshareCopy(args);\n")],
    tests: ["host_input_test.ts"],
  },
  {
    name: "call-args-guard",
    defence: "arguments that throw when read reject that call (never throw out of call, never stay pending)",
    edits: [
      edit(
        "src/rpc/endpoint.ts",
        "      // Arguments that cannot even be looked at (a getter that throws, a Proxy): only this call fails.\n",
        "      throw e;\n",
      ),
    ],
    tests: ["host_input_test.ts"],
  },
  {
    name: "result-transfer-guard",
    defence: "a result that throws when read fails that call, not the plugin's thread",
    edits: [
      edit(
        "src/runtime/_answers.ts",
        "  try {\n    return collectTransferables(value);\n  } catch {\n    return [];\n  }",
        "  return collectTransferables(value);",
      ),
    ],
    tests: ["host_input_test.ts"],
  },
  {
    name: "post-count",
    defence: "a message that could not be posted is not counted (the shared slot's answers would stall)",
    edits: [
      edit(
        "src/runtime/_answers.ts",
        "    // Same arity as the caller: one argument keeps Deno's fast path.\n",
        "    count++;\n",
      ),
      edit(
        "src/runtime/_answers.ts",
        "    // would hold every later answer of the shared slot.\n    count++;\n",
        "",
      ),
    ],
    tests: ["host_input_test.ts"],
  },
];

const FLAGS = [
  "--unstable-worker-options",
  "--no-prompt",
  "--v8-flags=--disallow-code-generation-from-strings",
];
const REPO = new URL("..", import.meta.url).pathname;
/** A mutation that makes a test hang is a failure too: each run is bounded. */
const RUN_TIMEOUT_MS = 240_000;

async function copyRepo(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dotcompute_mutant_" });
  const tar = new Deno.Command("sh", {
    args: ["-c", `tar -C "${REPO}" --exclude=./.git -cf - . | tar -C "${dir}" -xf -`],
  });
  const out = await tar.output();
  if (!out.success) throw new Error(`copy failed: ${new TextDecoder().decode(out.stderr)}`);
  return dir;
}

async function apply(dir: string, m: Mutation): Promise<string | undefined> {
  for (const e of m.edits) {
    const path = join(dir, e.file);
    const text = await Deno.readTextFile(path);
    const n = text.split(e.find).length - 1;
    if (n !== 1) return `${e.file}: expected the text once, found it ${n} times: ${JSON.stringify(e.find)}`;
    await Deno.writeTextFile(path, text.replace(e.find, () => e.replace));
  }
}

interface Result {
  readonly mutation: Mutation;
  readonly killed: boolean;
  readonly failed: readonly string[];
  readonly note?: string;
}

async function run(m: Mutation): Promise<Result> {
  const dir = await copyRepo();
  try {
    const problem = await apply(dir, m);
    if (problem) return { mutation: m, killed: false, failed: [], note: `does not apply: ${problem}` };
    const flags = FLAGS.filter((f) => !m.dropFlags?.includes(f));
    const child = new Deno.Command(Deno.execPath(), {
      args: ["test", "--no-check", ...flags, "--allow-all", ...m.tests.map((t) => `tests/security/${t}`)],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS);
    const out = await child.output();
    clearTimeout(timer);
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    // The FAILURES section lists each failed test (and step) as `name ... step => file:line:col`.
    const failures = text.split("FAILURES").at(1) ?? "";
    const entries = [...failures.matchAll(/^(.+?) => \S+:\d+:\d+$/gm)].map((x) => x[1].trim());
    // A test whose steps failed is listed too: keep the steps, and the tests that failed by themselves.
    const failed = entries
      .filter((e) => !entries.some((o) => o !== e && o.startsWith(`${e} ... `)))
      .map((e) => e.split(" ... ").at(-1)!);
    const note = out.signal
      ? `the test process was ended by ${out.signal}${
        out.signal === "SIGKILL" ? " (host killed or timed out)" : ""
      }`
      : out.code !== 0 && failed.length === 0
      ? `exit code ${out.code}`
      : undefined;
    return { mutation: m, killed: !out.success, failed, note };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Each mutation's edits still find their text exactly once in this tree (what `--check` prints). */
export async function staleEdits(): Promise<string[]> {
  const problems: string[] = [];
  for (const m of MUTATIONS) {
    for (const e of m.edits) {
      const text = await Deno.readTextFile(join(REPO, e.file)).catch(() => "");
      const n = text.split(e.find).length - 1;
      if (n !== 1) problems.push(`${m.name}: ${e.file}: its text found ${n} times`);
    }
  }
  return problems;
}

if (import.meta.main && Deno.args.includes("--check")) {
  const problems = await staleEdits();
  for (const p of problems) console.error(p);
  console.log(`${MUTATIONS.length} mutations, ${problems.length} stale edits`);
  Deno.exit(problems.length === 0 ? 0 : 1);
}

if (import.meta.main) {
  const only = Deno.args.includes("--only") ? Deno.args[Deno.args.indexOf("--only") + 1] : undefined;
  const names = only?.split(",");
  const selected = MUTATIONS.filter((m) => !names || names.includes(m.name));
  const results: Result[] = [];
  for (const m of selected) {
    const r = await run(m);
    results.push(r);
    console.error(
      `${r.killed ? "KILLED  " : "SURVIVED"} ${m.name}: ${r.failed.length} failing${
        r.note ? ` (${r.note})` : ""
      }`,
    );
  }
  if (Deno.args.includes("--markdown")) {
    console.log("| mutation (defence removed) | tests run | result | failing tests |");
    console.log("| --- | --- | --- | --- |");
    for (const r of results) {
      const names = r.failed.length > 8
        ? [...r.failed.slice(0, 8), `… ${r.failed.length - 8} more`]
        : r.failed;
      console.log(
        `| \`${r.mutation.name}\`: ${r.mutation.defence} | ${r.mutation.tests.join(", ")} | ${
          r.killed ? "**fails**" : "passes"
        }${r.note ? ` (${r.note})` : ""} | ${names.join("; ").replaceAll("|", "\\|")} |`,
      );
    }
  }
  if (results.some((r) => !r.killed)) Deno.exit(1);
}
