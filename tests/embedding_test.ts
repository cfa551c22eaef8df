// Embedding from outside the repository (issue 18 item 2): the README's "Embedding the host" example and its
// command, as written, in a temp folder holding a copy of this repository in dotcompute/ and nothing else (no
// deno.json, no import map). And an embedded host whose embedder never configured LogTape still reports
// failures on stderr.
import assert from "node:assert/strict";
import { join } from "node:path";

const REPO = new URL("..", import.meta.url).pathname;
const README = await Deno.readTextFile(join(REPO, "README.md"));
const section = README.slice(README.indexOf("## Embedding the host"));
const hostTs = /```ts\n([\s\S]*?)```/.exec(section)![1];
const command = /```sh\n([\s\S]*?)```/.exec(section)![1].trim();

/** A temp folder with a copy of the repository (without .git) in dotcompute/ and an empty my-host/. */
async function outside(): Promise<{ root: string; myHost: string } & AsyncDisposable> {
  const root = await Deno.makeTempDir({ prefix: "dotcompute_embed_" });
  const copy = await new Deno.Command("cp", {
    args: ["-a", REPO.replace(/\/$/, ""), join(root, "dotcompute")],
  })
    .output();
  assert.ok(copy.success, new TextDecoder().decode(copy.stderr));
  await Deno.remove(join(root, "dotcompute", ".git"), { recursive: true }).catch(() => {});
  const myHost = join(root, "my-host");
  await Deno.mkdir(myHost);
  return { root, myHost, [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }) };
}

/** Runs `line` (a command of the README: words split on spaces) in `cwd`. */
async function sh(line: string, cwd: string, env: Record<string, string> = {}): Promise<Deno.CommandOutput> {
  const [cmd, ...args] = line.split(/\s+/);
  return await new Deno.Command(cmd === "npx" && !hasNpx() ? Deno.execPath() : cmd, {
    args: cmd === "npx" && !hasNpx() ? args.slice(2) : args,
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
}

function hasNpx(): boolean {
  try {
    return new Deno.Command("npx", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

Deno.test("embedding: the README's example runs from a folder outside the repository, as written", async () => {
  assert.match(command, /^npx -y deno@2\.9\.6 run /, "the README's command");
  await using t = await outside();
  await Deno.writeTextFile(join(t.myHost, "host.ts"), hostTs);
  const out = await sh(command, t.myHost);
  const stdout = new TextDecoder().decode(out.stdout), stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `exit ${out.code}\n${stdout}\n${stderr}`);
  assert.equal(stdout.trim(), "hello Ada Running", stderr);
  assert.doesNotMatch(stderr, /not a dependency|failed/, stderr);
});

Deno.test("embedding: a host whose embedder never configured LogTape writes each failure to stderr", async () => {
  await using t = await outside();
  const plugins = join(t.myHost, "plugins");
  await Deno.mkdir(join(plugins, "broken"), { recursive: true });
  await Deno.writeTextFile(
    join(plugins, "broken", "plugin.jsonc"),
    `{ "id": "broken", "name": "b", "version": "1.0.0" }`,
  );
  await Deno.writeTextFile(join(plugins, "broken", "mod.ts"), "export default { methods: { x( } };");
  await Deno.mkdir(join(plugins, "garbled"));
  await Deno.writeTextFile(join(plugins, "garbled", "plugin.jsonc"), "{ nope");
  await Deno.writeTextFile(
    join(t.myHost, "host.ts"),
    `import { createPluginHost } from "../dotcompute/mod.ts";
await using host = await createPluginHost({ Plugins: { PluginsDirectory: "./plugins" } });
await host.start();
console.log(host.getPlugins().map((p) => p.id + " " + p.state).join(","));`,
  );
  const out = await sh(
    "npx -y deno@2.9.6 run --unstable-worker-options --no-prompt --allow-read=.. host.ts",
    t.myHost,
  );
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, stderr);
  // The code frame keeps its lines, each after the first indented (no plugin text starts a line).
  assert.match(
    stderr,
    /^dotcompute: plugin "broken" failed: its module failed to load: SyntaxError: .*\n {4}/m,
  );
  assert.match(stderr, /^ {4,}at file:.*broken\/mod\.ts:1:\d+/m);
  assert.match(stderr, /^dotcompute: .*garbled: .*plugin\.jsonc:1:3/m);
  assert.match(stderr, /LogTape is not configured/);
});
