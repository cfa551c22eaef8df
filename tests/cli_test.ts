// The command line as a user runs it: a subprocess, its output and its exit code.
import assert from "node:assert/strict";
import { join } from "node:path";
import { writePlugins } from "./_helpers.ts";

const repo = new URL("..", import.meta.url).pathname;
const cliArgs = ["run", "--unstable-worker-options", "--no-prompt", "-A", "src/cli.ts"];
const env = { NO_COLOR: "1" };

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), { args: [...cliArgs, ...args], cwd: repo, env })
    .output();
  const decode = (b: Uint8Array): string => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

async function tempDir(): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_cli_" }));
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("validate reports a bad manifest as file:line:col and exits 1", async () => {
  await using root = await tempDir();
  const plugins = await writePlugins(root.dir, {
    good: { manifest: { id: "good" }, code: "export default {};" },
  });
  await Deno.mkdir(join(plugins, "bad"));
  await Deno.writeTextFile(
    join(plugins, "bad", "plugin.jsonc"),
    '{\n  "id": "bad",\n  "name": "Bad",\n  "version": "one",\n}\n',
  );
  const { code, stdout } = await cli("validate", plugins);
  assert.equal(code, 1, stdout);
  const manifest = join(plugins, "bad", "plugin.jsonc");
  assert.ok(stdout.includes(`${manifest}:4:14: "version": `), stdout);
  assert.match(stdout, /1 problem in 2 plugins/);
});

Deno.test("validate passes the bundled plugins with exit code 0", async () => {
  const { code, stdout } = await cli("validate", "plugins");
  assert.equal(code, 0, stdout);
  assert.match(stdout, /ok: 2 plugins checked, no problems/);
});

Deno.test("discover --json lists every plugin and every failure with its reason", async () => {
  await using root = await tempDir();
  const plugins = await writePlugins(root.dir, {
    hello: { manifest: { id: "hello", version: "1.2.3" }, code: "export default {};" },
    broken: { manifest: { id: "broken", entry: "../escape.ts" }, code: "export default {};" },
  });
  const { code, stdout } = await cli("discover", plugins, "--json");
  assert.equal(code, 1, "a failure makes the exit code 1");
  const found = JSON.parse(stdout);
  assert.deepEqual(found.map((r: { id: string; status: string }) => [r.id, r.status]), [
    ["broken", "failed"],
    ["hello", "ok"],
  ]);
  assert.equal(found[1].version, "1.2.3");
  assert.equal(found[0].error.code, "MANIFEST_INVALID");
  assert.match(found[0].error.diagnostics[0].message, /outside the plugin folder|does not exist/);

  const table = await cli("discover", plugins);
  assert.equal(table.code, 1);
  assert.match(table.stdout, /^ID\s+VERSION\s+FOLDER\s+STATUS$/m);
  assert.match(table.stdout, /^hello\s+1\.2\.3\s+hello\s+ok$/m);
  assert.match(table.stdout, /^broken\s+-\s+broken\s+failed$/m);
});

Deno.test("usage errors and commands not implemented yet exit 2", async () => {
  for (const args of [[], ["bogus"], ["validate"], ["run"], ["run", "--config"], ["discover", "a", "b"]]) {
    const { code, stderr } = await cli(...args);
    assert.equal(code, 2, args.join(" "));
    assert.match(stderr, /Usage: deno task cli/);
  }
  for (const command of ["keygen", "sign", "verify", "new"]) {
    const { code, stderr } = await cli(command);
    assert.equal(code, 2);
    assert.equal(stderr, `"${command}" is not implemented yet\n`);
  }
  const help = await cli("--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /run --config FILE/);
});

/** Reads `reader` until `text` (all of it so far) matches `pattern`; rejects on end of stream. */
async function readUntil(
  reader: ReadableStreamDefaultReader<string>,
  seen: { text: string },
  pattern: RegExp,
): Promise<RegExpExecArray> {
  for (let m = pattern.exec(seen.text); m === null; m = pattern.exec(seen.text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the output ended without ${pattern}:\n${seen.text}`);
    seen.text += value;
  }
  return pattern.exec(seen.text)!;
}

Deno.test("run serves the admin API until SIGINT, then stops every plugin and exits 0", async () => {
  await using root = await tempDir();
  const config = join(root.dir, "host.jsonc");
  await Deno.writeTextFile(
    config,
    JSON.stringify({ Plugins: { PluginsDirectory: join(repo, "plugins"), Admin: { Port: 8080 } } }),
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [...cliArgs, "run", "--config", config, "--port", "0"],
    cwd: repo,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const errors = { text: "" };
  const out = { text: "" };
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (errors.text += chunk) }),
  );
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error(`timed out:\n${out.text}\n${errors.text}`)), 30_000)
  );
  try {
    const [, url] = await Promise.race([
      readUntil(reader, out, /^admin listening on (http:\/\/127\.0\.0\.1:\d+)$/m),
      timedOut,
    ]);
    assert.match(out.text, /^hello\.world\s+1\.2\.0\s+Running$/m);
    const plugins = await (await fetch(`${url}/plugins`)).json();
    assert.deepEqual(plugins.map((p: { id: string; state: string }) => [p.id, p.state]), [
      ["hello.world", "Running"],
      ["my.plugin", "Running"],
    ]);
    child.kill("SIGINT");
    await Promise.race([readUntil(reader, out, /^stopped$/m), timedOut]);
    const { code } = await Promise.race([child.status, timedOut]);
    assert.equal(code, 0, errors.text);
    assert.match(out.text, /received SIGINT, stopping 2 plugins/);
    assert.match(out.text, /^hello\.world\s+1\.2\.0\s+Unloaded$/m);
    assert.match(out.text, /^my\.plugin\s+1\.0\.0\s+Unloaded$/m);
    assert.match(errors.text, /INF plugin \[hello\.world\]: stopped/, "plugin logs reach stderr, tagged");
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
    await stderr.catch(() => {});
    try {
      child.kill();
    } catch { /* already gone */ }
    await child.status;
  }
});
