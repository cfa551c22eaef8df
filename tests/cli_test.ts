// The command line as a user runs it: a subprocess, its output and its exit code.
import assert from "node:assert/strict";
import { join } from "node:path";
import { writePlugins } from "./_helpers.ts";
import { schemaRef } from "../src/cli/_new.ts";

const repo = new URL("..", import.meta.url).pathname;
const cliArgs = ["run", "--unstable-worker-options", "--no-prompt", "-A", "src/cli/cli.ts"];
const env = { NO_COLOR: "1" };
// The bundled storage plugin needs its data folder (gitignored); without it, it would fail and be retried.
const storageGrant = {
  PluginSecurity: {
    "dotcompute.storage": { AllowFileSystemAccess: true, AllowedPaths: [join(repo, "plugins/storage/data")] },
  },
};

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

Deno.test("validate loads each entry as the host would: a syntax error, no default export and two missing dependencies", async () => {
  await using root = await tempDir();
  const plugins = await writePlugins(root.dir, {
    syntax: { manifest: { id: "v.syntax" }, code: "export default { methods: { x( } };" },
    noexport: { manifest: { id: "v.noexport" }, code: "export const helper = 1;" },
    // It would read a file outside its folder at load: the Worker granted nothing refuses it, as in the host.
    reader: {
      manifest: { id: "v.reader" },
      code: 'Deno.readTextFileSync("/etc/hostname");\nexport default {};',
    },
    needy: {
      manifest: { id: "v.needy", dependencies: { "v.gone": "^1.0.0", "v.old": "^2.0.0" } },
      code: "export default {};",
    },
    old: { manifest: { id: "v.old", version: "1.4.0" }, code: "export default {};" },
  });
  const { code, stdout } = await cli("validate", plugins);
  assert.equal(code, 1, stdout);
  const at = (folder: string, file: string): string => join(plugins, folder, file);
  assert.ok(
    stdout.includes(`${at("syntax", "mod.ts")}:1:32: "entry": its module failed to load: SyntaxError: `),
    stdout,
  );
  assert.doesNotMatch(stdout, /TypeError: SyntaxError/);
  // The code frame keeps its lines.
  assert.match(stdout, /\n1 \| export default \{ methods: \{ x\( \} \};\n/);
  assert.ok(stdout.includes(`${at("noexport", "mod.ts")}: "entry": `), stdout);
  assert.match(stdout, /default export must be an object or a class, got undefined/);
  assert.match(stdout, /reader[\/]mod\.ts(:\d+:\d+)?: "entry": .*Requires read access to "\/etc\/hostname"/);
  assert.ok(
    stdout.includes(
      `"dependencies.v.gone": v.needy needs v.gone ^1.0.0, which no plugin in ${plugins} provides`,
    ),
    stdout,
  );
  assert.ok(stdout.includes(`"dependencies.v.old": v.needy needs v.old ^2.0.0, found 1.4.0`), stdout);
  assert.match(stdout, /5 problems in 5 plugins/);
});

Deno.test("validate passes the bundled plugins with exit code 0", async () => {
  const { code, stdout } = await cli("validate", "plugins");
  assert.equal(code, 0, stdout);
  assert.match(stdout, /ok: 5 plugins checked, no problems/);
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

Deno.test("usage errors exit 2", async () => {
  const mistakes = [[], ["bogus"], ["validate"], ["run"], ["run", "--config"], ["discover", "a", "b"], [
    "new",
  ]];
  for (const args of [...mistakes, ["new", "Not_An_Id"]]) {
    const { code, stderr } = await cli(...args);
    assert.equal(code, 2, args.join(" "));
    assert.match(stderr, /Usage: deno task cli/);
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
    JSON.stringify({
      Plugins: { PluginsDirectory: join(repo, "plugins"), Admin: { Port: 8080 } },
      ...storageGrant,
    }),
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
    assert.deepEqual(plugins.map((p: { id: string; state: string }) => [p.id, p.state]).sort(), [
      ["dotcompute.compute", "Running"],
      ["dotcompute.monitoring", "Running"],
      ["dotcompute.storage", "Running"],
      ["hello.world", "Running"],
      ["my.plugin", "Running"],
    ]);
    child.kill("SIGINT");
    await Promise.race([readUntil(reader, out, /^stopped$/m), timedOut]);
    const { code } = await Promise.race([child.status, timedOut]);
    assert.equal(code, 0, errors.text);
    assert.match(out.text, /received SIGINT, stopping 5 plugins/);
    assert.match(out.text, /^hello\.world\s+1\.2\.0\s+Unloaded$/m);
    assert.match(out.text, /^my\.plugin\s+1\.0\.0\s+Unloaded$/m);
    assert.match(errors.text, /INF plugin \[hello\.world\]: stopped/, "plugin logs reach stderr, tagged");
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
    // Kill before draining stderr: a failed assertion leaves the child running, and its stderr open.
    try {
      child.kill();
    } catch { /* already gone */ }
    await stderr.catch(() => {});
    await child.status;
  }
});

Deno.test("new scaffolds a plugin whose own test passes at once, and refuses a folder in use", async () => {
  await using root = await tempDir();
  const dir = join(root.dir, "greeter");
  const created = await cli("new", "acme.greeter", "--dir", dir, "--json");
  assert.equal(created.code, 0, created.stderr);
  assert.deepEqual(JSON.parse(created.stdout), {
    id: "acme.greeter",
    dir,
    files: ["plugin.jsonc", "mod.ts", "mod_test.ts"],
  });
  const manifest = await Deno.readTextFile(join(dir, "plugin.jsonc"));
  assert.match(
    manifest,
    /"\$schema": "https:\/\/jsr\.io\/@dotcompute\/plugins\/[\d.]+\/schemas\/plugin\.schema\.json"/,
  );
  assert.match(
    await Deno.readTextFile(join(dir, "mod.ts")),
    /import \{ definePlugin \} from "@dotcompute\/plugins\/plugin";/,
  );

  const valid = await cli("validate", dir);
  assert.equal(valid.code, 0, valid.stdout);
  // The generated test, run as its README line says, with this repository's config so the package resolves.
  const test = await new Deno.Command(Deno.execPath(), {
    args: [
      "test",
      "--config",
      join(repo, "deno.json"),
      "--unstable-worker-options",
      "--no-prompt",
      "-A",
      "mod_test.ts",
    ],
    cwd: dir,
    env,
  }).output();
  const testOut = new TextDecoder().decode(test.stdout) + new TextDecoder().decode(test.stderr);
  assert.equal(test.code, 0, testOut);
  assert.match(testOut, /acme\.greeter starts in a host and answers greet \.\.\. ok/);
  assert.match(testOut, /ok \| 1 passed \| 0 failed/);
  const style = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--check", "--config", join(repo, "deno.json"), dir],
  }).output();
  assert.equal(style.code, 0, "the scaffold is formatted as this repository formats");

  const again = await cli("new", "acme.greeter", "--dir", dir);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists and is not empty/);
  const plain = await cli("new", "acme.other", "--dir", join(root.dir, "other"));
  assert.equal(plain.code, 0);
  assert.match(plain.stdout, /^created plugin acme\.other in /);
  assert.match(
    plain.stdout,
    /next: npx -y deno@2\.9\.6 test --unstable-worker-options --no-prompt -A .*mod_test\.ts/,
  );
});

Deno.test("a plugin scaffolded inside the repository points at the schema by a relative path", () => {
  assert.equal(schemaRef(join(repo, "plugins", "greeter")), "../../schemas/plugin.schema.json");
  assert.match(schemaRef("/somewhere/else"), /^https:\/\/jsr\.io\/@dotcompute\/plugins\//);
});

Deno.test("validate --json gives every problem with its position, for scripts", async () => {
  await using root = await tempDir();
  const plugins = await writePlugins(root.dir, {
    good: { manifest: { id: "good" }, code: "export default {};" },
  });
  await Deno.mkdir(join(plugins, "bad"));
  await Deno.writeTextFile(
    join(plugins, "bad", "plugin.jsonc"),
    '{\n  "id": "bad",\n  "name": "Bad",\n  "version": "one"\n}\n',
  );
  const { code, stdout } = await cli("validate", plugins, "--json");
  assert.equal(code, 1);
  const report = JSON.parse(stdout);
  assert.deepEqual([report.ok, report.plugins, report.problems.length], [false, 2, 1]);
  const [problem] = report.problems;
  assert.deepEqual([problem.file, problem.line, problem.column], [
    join(plugins, "bad", "plugin.jsonc"),
    4,
    14,
  ]);
  assert.equal(problem.field, "version");
  assert.equal(problem.text, `${problem.file}:4:14: "version": ${problem.message}`);
  const ok = await cli("validate", "plugins", "--json");
  assert.deepEqual([ok.code, JSON.parse(ok.stdout)], [0, { ok: true, plugins: 5, problems: [] }]);
});

Deno.test("on a terminal: colour and a progress count; piped: neither", async () => {
  const piped = await new Deno.Command(Deno.execPath(), {
    args: [...cliArgs, "validate", "plugins"],
    cwd: repo,
  })
    .output();
  const pipedText = new TextDecoder().decode(piped.stdout);
  assert.equal(pipedText, "ok: 5 plugins checked, no problems\n", "no colour, no progress when piped");
  const script = await new Deno.Command("script", { args: ["--version"] }).output().catch(() => undefined);
  if (!script?.success) {
    console.warn("!!! skipping the terminal half: no `script` (util-linux) to give the CLI a terminal");
    return;
  }
  const command = [Deno.execPath(), ...cliArgs, "validate", "plugins"].map((a) => `'${a}'`).join(" ");
  // script(1) runs the CLI on a pseudo-terminal; NO_COLOR must be unset for colour.
  const tty = await new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    cwd: repo,
    stdin: "null",
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      TERM: "xterm",
    },
  }).output();
  const text = new TextDecoder().decode(tty.stdout);
  assert.equal(tty.code, 0, text);
  const erase = "\r\x1b[2K";
  assert.ok(
    text.includes(`${erase}checking plugins: 4/5${erase}checking plugins: 5/5${erase}`),
    JSON.stringify(text),
  );
  assert.ok(text.includes("\x1b[32mok\x1b[39m: 5 plugins checked, no problems"), JSON.stringify(text));
});

Deno.test("run stops as gracefully on SIGTERM, and serves the dashboard meanwhile", async () => {
  await using root = await tempDir();
  const config = join(root.dir, "host.jsonc");
  await Deno.writeTextFile(
    config,
    JSON.stringify({ Plugins: { PluginsDirectory: join(repo, "plugins") }, ...storageGrant }),
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [...cliArgs, "run", "--config", config, "--port", "0"],
    cwd: repo,
    env,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const out = { text: "" };
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const deadline = AbortSignal.timeout(30_000);
  const guard = (): void => {
    if (deadline.aborted) throw new Error(`timed out:\n${out.text}`);
  };
  deadline.addEventListener("abort", () => reader.cancel().catch(() => {}));
  try {
    const [, url] = await readUntil(reader, out, /^admin listening on (http:\/\/127\.0\.0\.1:\d+)$/m);
    guard();
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>DotCompute plugins<\/title>/);
    child.kill("SIGTERM");
    await readUntil(reader, out, /^stopped$/m);
    guard();
    assert.equal((await child.status).code, 0);
    assert.match(out.text, /received SIGTERM, stopping 5 plugins/);
    assert.match(out.text, /^my\.plugin\s+1\.0\.0\s+Unloaded$/m);
  } finally {
    await reader.cancel().catch(() => {});
    try {
      child.kill();
    } catch { /* already gone */ }
    await child.status;
  }
});
