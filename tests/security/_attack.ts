// The red-team harness: one real host per test file with the attacking plugins AND an innocent one; each attack
// runs inside a plugin, reports what happened instead of throwing, and is followed by a health check of the
// host and the innocent plugin. Kept small on purpose: the attacks themselves live in the *_test.ts tables.
import assert from "node:assert/strict";
import {
  type CrashEvent,
  createPluginHost,
  type PluginHandle,
  type PluginHost,
  type PluginHostOptions,
  type ProtocolErrorEvent,
} from "../../mod.ts";
import { type PluginSource, writePlugins } from "../_helpers.ts";
import { join } from "node:path";

/** What one attack did, as the plugin saw it. */
export interface Outcome {
  readonly ok: boolean;
  readonly name?: string;
  readonly message?: string;
  readonly value?: unknown;
}

/** The innocent bystander every attack host carries. */
export const INNOCENT = "innocent";
const innocent: PluginSource = {
  manifest: { id: INNOCENT },
  code: `export default { methods: { ping: () => "pong" } };`,
};

/**
 * A plugin whose method `name(arg)` runs the attack `attacks[name]` (the source of a function taking `arg`) and
 * answers `{ ok, value }` or `{ ok: false, name, message }`. `prelude` is top-level code before the table.
 */
export function attacker(
  id: string,
  attacks: Readonly<Record<string, string>>,
  more: { manifest?: Record<string, unknown>; files?: Record<string, string>; prelude?: string } = {},
): PluginSource {
  const table = Object.entries(attacks).map(([k, f]) => `  ${JSON.stringify(k)}: ${f},`).join("\n");
  return {
    manifest: { id, ...more.manifest },
    files: more.files,
    code: `${more.prelude ?? ""}
const attacks = {
${table}
};
const methods = { ping: () => "pong" };
for (const [name, f] of Object.entries(attacks)) {
  methods[name] = async (arg) => {
    try {
      const value = await f(arg);
      return { ok: true, value: typeof value === "string" ? value.slice(0, 200) : typeof value };
    } catch (e) {
      return { ok: false, name: e?.name, message: String(e?.message ?? e) };
    }
  };
}
export default { methods };
`,
  };
}

/** A started host over the given plugins plus {@linkcode INNOCENT}, watching crashes and protocol errors. */
export interface AttackHost extends AsyncDisposable {
  readonly host: PluginHost;
  /** The temp dir holding `plugins/` (a place for files outside every plugin folder). */
  readonly root: string;
  readonly crashes: CrashEvent[];
  readonly protocolErrors: ProtocolErrorEvent[];
  plugin(id: string): PluginHandle;
  /** Runs `attack` in plugin `id`; asserts it failed with a message matching `denial`; checks health. */
  denied(id: string, attack: string, denial: RegExp, arg?: unknown): Promise<Outcome>;
  /** The innocent plugin answers, nobody but `attackers` crashed or sent garbage, and they are in `states`. */
  healthy(attackers?: Readonly<Record<string, string>>): Promise<void>;
}

/** Options of {@linkcode attackHost}. */
export interface AttackHostOptions {
  /** The host configuration, or a function of the temp root (`Plugins.PluginsDirectory` is filled in). */
  readonly config?: Record<string, unknown> | ((root: string) => Record<string, unknown>);
  /** Host options; default: no restart policy, so a failed attacker stays Failed to be looked at. */
  readonly options?: PluginHostOptions;
  /** Runs after the plugin folders are written and before the host is created (symlinks, secrets…). */
  readonly prepare?: (root: string) => Promise<void>;
}

/** Starts a host with `plugins` and the innocent plugin. */
export async function attackHost(
  plugins: Readonly<Record<string, PluginSource>>,
  opts: AttackHostOptions = {},
): Promise<AttackHost> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_attack_" }));
  const dir = await writePlugins(root, { ...plugins, [INNOCENT]: innocent });
  await opts.prepare?.(root);
  const config = typeof opts.config === "function" ? opts.config(root) : opts.config ?? {};
  const host = await createPluginHost(
    { ...config, Plugins: { PluginsDirectory: dir, ...(config.Plugins as object | undefined) } },
    { restartPolicy: false, ...opts.options },
  );
  const crashes: CrashEvent[] = [];
  const protocolErrors: ProtocolErrorEvent[] = [];
  host.on("crash", (e) => crashes.push(e));
  host.on("protocolError", (e) => protocolErrors.push(e));
  await host.start();
  const plugin = (id: string): PluginHandle => {
    const p = host.getPlugin(id);
    assert.ok(p, `no plugin "${id}"`);
    return p;
  };
  const healthy = async (attackers: Readonly<Record<string, string>> = {}): Promise<void> => {
    const i = plugin(INNOCENT);
    assert.equal(await i.call("ping"), "pong", "the innocent plugin still answers");
    assert.equal(i.state, "Running");
    assert.equal(i.getMetrics().protocolErrors, 0, "the innocent plugin is charged nothing");
    assert.ok(crashes.every((c) => c.id !== INNOCENT), "the innocent plugin never crashed");
    assert.ok(protocolErrors.every((e) => e.id !== INNOCENT));
    for (const [id, state] of Object.entries(attackers)) assert.equal(plugin(id).state, state, id);
  };
  return {
    host,
    root,
    crashes,
    protocolErrors,
    plugin,
    healthy,
    async denied(id, attack, denial, arg) {
      const r = await plugin(id).call(attack, arg) as Outcome;
      assert.equal(r.ok, false, `${attack} should fail, got ${JSON.stringify(r)}`);
      assert.match(r.message ?? "", denial, `${attack}: ${r.name}: ${r.message}`);
      await healthy({ [id]: "Running" });
      return r;
    },
    async [Symbol.asyncDispose]() {
      await host.stop();
      await Deno.remove(root, { recursive: true });
    },
  };
}

/** A file outside every plugin folder: `<root>/outside/<name>`. */
export async function secret(root: string, name: string, text: string): Promise<string> {
  const path = `${root}/outside/${name}`;
  await Deno.mkdir(`${root}/outside`, { recursive: true });
  await Deno.writeTextFile(path, text);
  return path;
}

/** Runs a Deno subprocess with the repo's config; returns its exit status and output. */
export async function denoRun(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ code: number; signal: Deno.Signal | null; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...args],
    cwd: options.cwd,
    env: options.env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // A host that cannot finish is killed and the test fails on the signal, never hangs CI.
  const guard = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
  const out = await child.output();
  clearTimeout(guard);
  const text = new TextDecoder();
  return {
    code: out.code,
    signal: out.signal,
    stdout: text.decode(out.stdout),
    stderr: text.decode(out.stderr),
  };
}

/** The repo's deno.json, for subprocess hosts. */
export const CONFIG = new URL("../../deno.json", import.meta.url).pathname;
/** The package's entry, for subprocess hosts. */
export const MOD = new URL("../../mod.ts", import.meta.url).href;

/** One plugin (`id`, its mod.ts) and a host script run as its own `deno run` process. */
export interface HostProcessOptions {
  readonly id: string;
  /** The plugin's mod.ts. */
  readonly code: string;
  /** The host script's body after `host` is created and started (it may use `host`). */
  readonly body: string;
  /** Create the host with `await using` (default) or a plain `const` (the script then never stops it). */
  readonly dispose?: boolean;
  /** Extra `deno run` flags before the script (besides --unstable-worker-options --no-prompt -A). */
  readonly flags?: readonly string[];
  /** More keys of the host configuration's `Plugins` section (a block for the plugin, say). */
  readonly plugins?: Readonly<Record<string, unknown>>;
  /** More keys of the plugin's manifest. */
  readonly manifest?: Readonly<Record<string, unknown>>;
  /** The plugin's `PluginSecurity` entry. */
  readonly security?: Readonly<Record<string, unknown>>;
}

/**
 * Writes the plugin and a host script into a temp dir, runs the script in a subprocess with the repo's
 * config, removes the dir, and returns the subprocess' status and output.
 */
export async function hostProcess(
  options: HostProcessOptions,
): Promise<{ code: number; signal: Deno.Signal | null; stdout: string; stderr: string }> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_attack_" }));
  try {
    const dir = join(root, "plugins", options.id);
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(
      join(dir, "plugin.jsonc"),
      JSON.stringify({ id: options.id, name: options.id, version: "1.0.0", ...options.manifest }),
    );
    await Deno.writeTextFile(join(dir, "mod.ts"), options.code);
    const script = join(root, "host.ts");
    const plugins = JSON.stringify(join(root, "plugins"));
    await Deno.writeTextFile(
      script,
      `import { createPluginHost } from ${JSON.stringify(MOD)};
       ${options.dispose === false ? "const" : "await using"} host = await createPluginHost({
         Plugins: { ...${JSON.stringify(options.plugins ?? {})}, PluginsDirectory: ${plugins} },
         PluginSecurity: ${JSON.stringify(options.security ? { [options.id]: options.security } : {})},
       });
       await host.start();
       ${options.body}`,
    );
    return await denoRun([
      "run",
      ...(options.flags ?? []),
      "--unstable-worker-options",
      "--no-prompt",
      "-A",
      "--config",
      CONFIG,
      script,
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}
