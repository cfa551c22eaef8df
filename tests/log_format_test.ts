// `run --log-format text|json` and Plugins.Logging.Format (issue 18 item 6): JSON is one object a line with
// every structured property; text keeps the properties its message does not name. A real `run` in a
// subprocess, stopped by SIGTERM once it listens.
import assert from "node:assert/strict";
import { join } from "node:path";
import { DENO_RUN, writePlugins } from "./_helpers.ts";

const CLI = new URL("../src/cli/cli.ts", import.meta.url).pathname;
const chatty = {
  manifest: { id: "chatty" },
  code: `export default {
    start(ctx) { ctx.log.info("ready with {count} items", { count: 3, region: "eu\\nFORGED", nested: { a: [1] } }); },
    methods: {},
  };`,
};

const broken = { manifest: { id: "broken" }, code: "export default { methods: { x( } };" };

/** Runs `run` on a config holding `logging` until it listens; its stderr lines. */
async function runWith(logging: Record<string, unknown> | undefined, args: string[] = []): Promise<string[]> {
  const root = await Deno.makeTempDir({ prefix: "dotcompute_logfmt_" });
  try {
    const plugins = await writePlugins(root, { chatty, broken });
    const config = join(root, "host.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        Plugins: { PluginsDirectory: plugins, Admin: { Port: 0 }, ...(logging ? { Logging: logging } : {}) },
      }),
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: [...DENO_RUN, CLI, "run", "--config", config, ...args],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("admin listening on")) {
      const r = await reader.read();
      if (r.done) break;
      out += r.value;
    }
    child.kill("SIGTERM");
    for (;;) if ((await reader.read()).done) break;
    const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
    assert.equal((await child.status).code, 0, stderr);
    return stderr.split("\n").filter((l) => l !== "");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function checkJson(lines: string[]): void {
  assert.ok(lines.length > 0);
  const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const r of records) {
    assert.match(String(r.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(["trace", "debug", "info", "warning", "error", "fatal"].includes(String(r.level)));
    assert.equal(typeof r.category, "string");
    assert.equal(typeof r.message, "string");
  }
  const mine = records.find((r) => r.pluginId === "chatty");
  assert.ok(mine, lines.join("\n"));
  assert.equal(mine.message, "ready with 3 items");
  assert.deepEqual(mine.properties, {
    count: 3,
    region: "eu\nFORGED",
    nested: { a: [1] },
    pluginId: "chatty",
  });
}

Deno.test("log format: --log-format json writes one JSON object a line with every property", async () => {
  checkJson(await runWith(undefined, ["--log-format", "json"]));
});

Deno.test("log format: Plugins.Logging.Format json does the same; --log-format text overrides it", async () => {
  checkJson(await runWith({ Format: "json" }));
  const text = await runWith({ Format: "json" }, ["--log-format", "text"]);
  const line = text.find((l) => l.includes("[chatty]"));
  assert.ok(line, text.join("\n"));
  // The properties the message does not name follow it, on the same line (the newline escaped).
  assert.match(line, /ready with 3 items (count=3 )?region=eu\\nFORGED nested=\{ a: \[ 1 \] \}$/);
  assert.ok(!text.some((l) => l.startsWith("FORGED")));
});

Deno.test("log format: a bad --log-format or Format is refused, naming it", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "run", "--config", "examples/host.jsonc", "--log-format", "xml"],
    cwd: new URL("..", import.meta.url),
  }).output();
  assert.equal(out.code, 2);
  assert.match(new TextDecoder().decode(out.stderr), /--log-format must be text or json, not "xml"/);
});

Deno.test("log format: text prints a code frame over several lines, indented; json keeps it in one object", async () => {
  const text = await runWith(undefined);
  const at = text.findIndex((l) => /ERR .*broken.*its module failed to load: SyntaxError/.test(l));
  assert.ok(at >= 0, text.join("\n"));
  assert.doesNotMatch(text[at], /\\n/, "no escaped newline in the line");
  assert.match(
    text.slice(at + 1, at + 6).join("\n"),
    /^ {4,}\| *\n {4,}1 \| export default \{ methods: \{ x\( \} \};/m,
  );
  const json = (await runWith({ Format: "json" })).map((l) => JSON.parse(l) as { message: string });
  const frame = json.find((r) => /broken.*its module failed to load/.test(r.message));
  assert.ok(frame, JSON.stringify(json));
  assert.match(frame.message, /\n1 \| export default/);
});
