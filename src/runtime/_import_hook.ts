// Inside the plugin's thread: what the host's scan before the start cannot settle. Deno downloads and loads
// `npm:` packages whatever the Worker's permissions say, and Node's layer compiles strings whatever V8's flag
// says. So:
// - when the plugin's graph has a dynamic import the scan could not settle (a computed specifier, a file the
//   plugin can write or one outside its folder), or when Node's layer loads anyway (require, CommonJS), a
//   node:module `registerHooks` resolve hook scans each dynamically imported module's graph before it loads,
//   and refuses npm packages not allowed and `data:`/`blob:` URLs not written literally in scanned code (a
//   computed one is code from a string). The hook runs before Deno resolves, so a refused npm package is never
//   fetched. Static imports inside a module never reach the hook (Deno's graph builder resolves them), hence
//   the graph scan.
// - when Node's layer loads: node:vm's compiling exports, `registerHooks`/`register` (a plugin's hook would run
//   before ours, and a load hook's `source` is code from a string) and `Module.prototype._compile` with text
//   that is not the file's (or with `Module.wrap`/`wrapper` changed) are refused on the CommonJS objects;
//   node_vm.ts and node_module.ts (the import map) refuse the ES named exports.
// Node's layer is never loaded for this unless the hook is needed (it costs a Worker ~3 MiB).
import { npmPackage, resolveSpecifier, scanGraph } from "./_import_graph.ts";
import { original } from "./_lazy.ts";
import { NODE_WRAPPERS } from "./_node_wrappers.ts";
import { lock } from "./_define.ts";

type Refuse = (what: string) => never;
type Fn = (this: unknown, ...args: unknown[]) => unknown;
interface Resolved {
  url: string;
}
type NextResolve = (specifier: string, context: unknown) => Resolved;
type RegisterHooks = (hooks: {
  resolve: (specifier: string, context: { parentURL?: string }, next: NextResolve) => Resolved;
}) => unknown;

const { apply } = Reflect;
const { hasOwn } = Object;
const RUNTIME_DIR = new URL("./", import.meta.url).href;
const { defineProperty, freeze, getOwnPropertyDescriptor, getPrototypeOf, setPrototypeOf } = Object;
const readText = Deno.readTextFileSync;
const NotCapable = Deno.errors.NotCapable;
const resolveMap = (specifier: string): string => import.meta.resolve(specifier);

let allowed: ReadonlySet<string> = new Set();
let wanted = false;
let entry = "";
let realRegisterHooks: RegisterHooks | undefined;
let installed = false;
const literals = new Set<string>();

function refused(what: string): never {
  throw new NotCapable(what);
}

/** What the load message says: the npm allowlist, and whether the hook is needed from the start. */
export function configureImports(npm: readonly string[], hook: boolean, entryUrl: string): void {
  allowed = new Set(npm);
  wanted = hook;
  entry = entryUrl;
}

/** Installs the hook when it is wanted: loads Node's layer (which installs it as it is hardened). */
export async function gateImports(): Promise<void> {
  if (!wanted || installed) return;
  if (realRegisterHooks) return install();
  // The runtime's scope keeps the real node:module; its named export is not the object hardening locks.
  const real = await import("node:module") as unknown as { registerHooks: RegisterHooks };
  realRegisterHooks ??= real.registerHooks;
  guardNodeCode();
  install();
}

/** Refuses `url` (a module about to load) when it, or its static graph, breaks the rules. */
function check(specifier: string, url: URL): void {
  const name = npmPackage(specifier, url);
  if (name !== undefined) {
    if (!allowed.has(name)) refused(`npm package "${name}" is not allowed to this plugin (${allowHint})`);
    return; // an allowed package's own graph is the package's
  } else if (url.protocol === "data:" || url.protocol === "blob:") {
    if (!literals.has(url.href)) {
      refused(`a computed ${url.protocol} import is code from a string, which plugins may not run`);
    }
  }
  if (url.protocol !== "file:" && url.protocol !== "data:") return;
  // Only static imports are followed (folder "\0" holds nothing): dynamic ones come back through the hook.
  const graph = scanGraph([url.href], { resolve: resolveMap, folder: "\0", writable: [] });
  for (const d of graph.literals) literals.add(d);
  const bad = graph.npm.find((n) => !allowed.has(n.name));
  if (bad) {
    refused(
      `${bad.url}:${bad.line}:${bad.col} imports npm package "${bad.name}", which is not allowed to this plugin (${allowHint})`,
    );
  }
}

const allowHint = "the manifest's permissions.npm and PluginSecurity AllowedNpmPackages decide";

function install(): void {
  if (installed || !realRegisterHooks) return;
  installed = true;
  // The entry's graph (loaded, or about to be) gives the data:/blob: URLs its code names literally.
  if (entry) {
    for (const d of scanGraph([entry], { resolve: resolveMap, folder: "\0", writable: [] }).literals) {
      literals.add(d);
    }
  }
  realRegisterHooks({
    resolve(specifier, context, next) {
      // Node's resolver answers `node:*` (and bare `vm`) with the builtin, past the import map: the wrappers
      // the map sends plugins to must stay in place.
      const spec = String(specifier);
      const builtin = spec.startsWith("node:") ? spec.slice(5) : spec;
      const parent = String(context?.parentURL ?? "");
      const required = (context as { conditions?: unknown })?.conditions;
      const byRequire = Array.isArray(required) && required.includes("require");
      if (hasOwn(NODE_WRAPPERS, builtin) && !byRequire && !parent.startsWith(RUNTIME_DIR)) {
        return { url: NODE_WRAPPERS[builtin], shortCircuit: true } as Resolved;
      }
      const target = resolveSpecifier(String(specifier), context?.parentURL ?? entry, resolveMap);
      if (target) check(String(specifier), target);
      return next(specifier, context);
    },
  });
}

const VM_COMPILERS = [
  "Script",
  "createScript",
  "runInContext",
  "runInNewContext",
  "runInThisContext",
  "compileFunction",
  "SourceTextModule",
  "SyntheticModule",
  "Module",
];

/** Whether a node:vm export compiles code (node_vm.ts refuses the same ones). */
export const vmCompilers: readonly string[] = freeze([...VM_COMPILERS]);

let nodeProcess: Record<string, unknown> | undefined;
let refuseNode: Refuse = refused;
let vmDone = false;
let moduleDone = false;

/**
 * Node's layer has loaded (_harden_node.ts): closes its routes to code from strings on the objects that
 * `require` and `process.getBuiltinModule` hand out, and installs the import hook if it is wanted. A module
 * still evaluating (node:module loads node:worker_threads, whose loading calls this) is closed a microtask
 * later, or when the plugin's import of it reaches node_module.ts, whichever comes first.
 */
export function closeNodeCode(process: Record<string, unknown>, refuse: Refuse): void {
  nodeProcess = process;
  refuseNode = refuse;
  // `process.getBuiltinModule` is itself a lazy getter that loads node:module: read it only later.
  const desc = ownDescriptor(process, "getBuiltinModule");
  if (!desc) return;
  const read = (): Fn | undefined => (desc.get ? apply(desc.get, process, []) : desc.value) as Fn | undefined;
  readBuiltin = read;
  let wrapped: Fn | undefined;
  try {
    defineProperty(process, "getBuiltinModule", {
      __proto__: null,
      configurable: false,
      enumerable: desc.enumerable,
      get(): unknown {
        const real = read();
        if (typeof real !== "function") return real;
        return wrapped ??= function (this: unknown, ...args: unknown[]): unknown {
          guardNodeCode();
          return apply(real, this, args);
        };
      },
      set(): void {},
    } as PropertyDescriptor);
  } catch { /* locked already */ }
  later(() => void guardNodeCode(), 0);
}

function ownDescriptor(target: object, key: string): PropertyDescriptor | undefined {
  for (let o: object | null = target; o; o = getPrototypeOf(o)) {
    const d = getOwnPropertyDescriptor(o, key);
    if (d) return setPrototypeOf(d, null);
  }
  return undefined;
}

let readBuiltin: (() => Fn | undefined) | undefined;
// The original, read on first use: reading setTimeout loads node:timers (~4 ms in a new Worker).
const timeout = original<(f: () => void, ms: number) => unknown>(globalThis, "setTimeout");
const later = (f: () => void, ms: number): unknown => apply(timeout()!, globalThis, [f, ms]);

/** Closes what closeNodeCode could not yet; true once all is closed (or outside a plugin). */
export function guardNodeCode(): boolean {
  const process = nodeProcess;
  if (!process || !readBuiltin || (vmDone && moduleDone)) return true;
  let builtin: Fn | undefined;
  try {
    builtin = readBuiltin();
  } catch {
    return false;
  }
  if (typeof builtin !== "function") return true;
  try {
    if (!vmDone) closeVm(apply(builtin, process, ["node:vm"]) as Record<string, unknown>);
    vmDone = true;
    if (!moduleDone) closeModule(apply(builtin, process, ["node:module"]) as ModuleObject);
    moduleDone = true;
  } catch {
    return false; // still evaluating
  }
  install(); // Node's layer is here anyway (require, CommonJS): the hook costs nothing more
  return true;
}

function closeVm(vm: Record<string, unknown>): void {
  for (const name of VM_COMPILERS) lock(vm, name, () => refuseNode(`node:vm ${name}`));
}

type ModuleObject = Record<string, unknown> & { prototype: Record<string, unknown>; wrapper: string[] };

function closeModule(Module: ModuleObject): void {
  const refuse = refuseNode;
  const compile = Module.prototype._compile as Fn;
  const wrap = Module.wrap;
  const [head, tail] = Module.wrapper;
  realRegisterHooks ??= Module.registerHooks as RegisterHooks;
  lock(Module, "registerHooks", () => refuse("node:module registerHooks"));
  lock(Module, "register", () => refuse("node:module register"));
  // Deno's CommonJS loader passes the file's text; any other text (or a changed wrapper) is code from a string.
  lock(
    Module.prototype,
    "_compile",
    function (this: unknown, content: unknown, filename: unknown, ...rest: unknown[]) {
      if (Module.wrap !== wrap || Module.wrapper[0] !== head || Module.wrapper[1] !== tail) {
        refuse("Changing Module.wrap or Module.wrapper");
      }
      let text: string | undefined;
      try {
        text = typeof filename === "string" ? readText(filename) : undefined;
      } catch { /* unreadable: not a file's text */ }
      const same = typeof content === "string" && text !== undefined &&
        (content === text || (text.charCodeAt(0) === 0xfeff && content === text.slice(1)));
      if (!same) refuse("Module.prototype._compile of text that is not the file's");
      return apply(compile, this, [content, filename, ...rest]);
    },
  );
}
