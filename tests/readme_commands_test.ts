// Every command the README shows in a ```sh block, run word for word (issue 18 item 9): through bash, in a
// copy of this repository, on a PATH where `deno` is only what `npx -y deno@2.9.6` fetches. A command the
// README gains later fails this test until it is run here or named where another test runs it.
import assert from "node:assert/strict";
import { join } from "node:path";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const README = await Deno.readTextFile(join(REPO, "README.md"));

/** The commands of the README's sh blocks (continuation lines joined), then those in its inline code. */
function commands(text: string): string[] {
  const out: string[] = [];
  for (const [, block] of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    out.push(...block.replace(/\\\n\s*/g, "").split("\n").filter((l) => l.trim() !== ""));
  }
  const prose = text.replace(/```[\s\S]*?```/g, "");
  for (const [, span] of prose.matchAll(/`((?:[A-Z_]+=\S+ )*npx -y deno@[^`]+)`/g)) out.push(span);
  return out;
}

/** A command with a placeholder (`URL`, `ID`, `<command>`): its task and subcommand must exist. */
const TEMPLATE = /\b(URL|ID)\b|<command>/;

/** Commands another test runs word for word, and where. */
const ELSEWHERE: readonly [RegExp, string][] = [
  [/^npx -y deno@2\.9\.6 task start\b/, "tests/service_signals_test.ts"],
  [/^npx -y deno@2\.9\.6 task test\b/, ".ci/run (it is this suite)"],
  [/^npx -y deno@2\.9\.6 task test:shared$/, ".ci/run (task test runs it)"],
  [/^UPDATE_SCREENSHOTS=1 npx -y deno@2\.9\.6 task test$/, "tests/dashboard_browser_test.ts"],
  [/--config \.\.\/dotcompute\/deno\.json/, "tests/embedding_test.ts"],
];

const decoder = new TextDecoder();

/** Commands that serve until Ctrl-C, and the line they print once they serve. */
const SERVES: readonly [RegExp, string][] = [[/examples\/otel\.ts$/, "until Ctrl-C"]];

/**
 * Runs `line` with bash in `cwd` in a session of its own; one that serves gets a Ctrl-C (SIGINT to the whole
 * group, as a terminal sends it) once it prints `until`. Fails, showing both streams, unless it exits 0 (or
 * 130 after the Ctrl-C, which npx reports whatever the host's own exit).
 */
async function run(line: string, cwd: string, until?: string): Promise<string> {
  const child = new Deno.Command("setsid", {
    args: ["bash", "-c", `set -o pipefail; ${line}`],
    cwd,
    env: {
      NO_COLOR: "1",
      PATH: (Deno.env.get("PATH") ?? "").split(":").filter((d) => !hasDeno(d)).join(":"),
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let stdout = "", interrupted = false;
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    stdout += chunk;
    if (until === undefined || interrupted || !stdout.includes(until)) continue;
    interrupted = true;
    Deno.kill(-child.pid, "SIGINT");
  }
  const { code } = await child.status;
  const ok = code === 0 || (until !== undefined && code === 130);
  assert.ok(ok, `${line}\nexit ${code}\n${stdout}\n${await stderr}`);
  if (until !== undefined) assert.ok(stdout.includes(until), `${line} never printed "${until}"`);
  await stderr;
  return stdout;
}

function hasDeno(dir: string): boolean {
  try {
    return Deno.statSync(join(dir, "deno")).isFile;
  } catch {
    return false;
  }
}

Deno.test("README: every command it shows runs as written, or is run by the test named for it", async () => {
  const all = commands(README);
  assert.ok(all.length >= 12, `${all.length} commands`);
  const root = await Deno.makeTempDir({ prefix: "dotcompute_readme_" });
  const copy = join(root, "dotcompute");
  try {
    const cp = await new Deno.Command("cp", { args: ["-a", REPO, copy] }).output();
    assert.ok(cp.success, decoder.decode(cp.stderr));
    let thumbprint = "";
    const ran = new Set<string>();
    for (const shown of all) {
      const line = shown.replace(/\s+#.*$/, ""); // bash would drop the comment too
      // The README shows some commands twice (quick start, then their own section): once proves both.
      if (ran.has(line)) continue;
      ran.add(line);
      const other = ELSEWHERE.find(([re]) => re.test(line));
      if (other) {
        assert.ok(await Deno.stat(join(REPO, other[1].split(" ")[0])).catch(() => null), other[1]);
        continue;
      }
      if (TEMPLATE.test(line)) {
        const [, sub] = /task cli (\S+)/.exec(line) ?? [];
        assert.ok(sub, line);
        const help = `npx -y deno@2.9.6 task cli ${sub === "<command>" ? "" : `${sub} `}--help`;
        if (!ran.has(help)) await run(help, copy);
        ran.add(help);
        continue;
      }
      // The one placeholder left: the thumbprint that keygen printed a line earlier.
      const stdout = await run(
        line.replace("3f0c…", thumbprint),
        copy,
        SERVES.find(([re]) => re.test(line))?.[1],
      );
      if (/ keygen /.test(line)) thumbprint = /thumbprint:\s+(\S+)/.exec(stdout)?.[1] ?? "";
      if (/mod_test\.ts/.test(line)) assert.match(stdout, /ok \| \d+ passed \| 0 failed/, line);
      if (/validate plugins --json \| jq/.test(line)) assert.equal(stdout.trim(), "", "no problems to print");
      if (/examples\/host\.ts/.test(line)) assert.match(stdout, /runs: \d+/, line);
      if (/examples\/otel\.ts/.test(line)) assert.match(stdout, /instruments registered/, line);
      if (/task fleet$/.test(line)) {
        for (const h of ["a", "b", "c"]) {
          assert.match(stdout, new RegExp(`host-${h}\\s+hello\\.world\\s+1\\.2\\.0\\s+Running`));
        }
        assert.match(stdout, /host-c: POST \/plugins\/demo\.where\/call\/where → 200 .*on host-a/);
      }
    }
    assert.ok(thumbprint !== "", "keygen printed a thumbprint");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
