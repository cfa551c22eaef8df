// A direct worker starts the runtime's one-file bundle only while it was made from the sources as they are
// (src/isolation/_runtime_entry.ts); otherwise it loads the sources. These keep the committed bundle fresh and
// prove that a changed source is noticed.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  bundleIsFresh,
  RUNTIME_BUNDLE_URL,
  RUNTIME_SOURCE_URL,
  runtimeEntry,
} from "../src/isolation/_runtime_entry.ts";

const SRC = new URL("../src/", import.meta.url);
const stale = "src/runtime/plugin_main.bundle.js is stale: run " +
  "`deno run --allow-read --allow-write --allow-run --allow-env scripts/bundle_runtime.ts`";

Deno.test("the committed runtime bundle was made from the sources as they are, and workers start it", () => {
  assert.ok(bundleIsFresh(), stale);
  assert.equal(runtimeEntry(), RUNTIME_BUNDLE_URL);
});

Deno.test("the bundle is what scripts/bundle_runtime.ts makes of the sources (same Deno)", async () => {
  const head = (await Deno.readTextFile(new URL(RUNTIME_BUNDLE_URL))).slice(0, 4096);
  const made = head.match(/\(Deno ([\d.]+)\)/)?.[1];
  // Another Deno's bundler may lay the same code out otherwise: then freshness (above) is what holds.
  if (made !== Deno.version.deno) return;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      "--allow-env",
      "scripts/bundle_runtime.ts",
      "--check",
    ],
    cwd: new URL("..", import.meta.url),
  }).output();
  assert.ok(out.success, `${stale}\n${new TextDecoder().decode(out.stderr)}`);
});

Deno.test("a source changed since the bundle was made sends workers to the sources", async () => {
  const copy = await Deno.makeTempDir({ prefix: "dotcompute_bundle_" });
  try {
    const bundle = fileURLToPath(RUNTIME_BUNDLE_URL);
    const paths = (await Deno.readTextFile(bundle)).match(/^\/\/ sources sha256=\S+ (.+)$/m)![1].split(" ");
    assert.ok(paths.includes("runtime/_harden.ts") && paths.includes("runtime/plugin_main.ts"), paths.join());
    for (const path of [...paths, "runtime/plugin_main.bundle.js"]) {
      await Deno.mkdir(dirname(join(copy, path)), { recursive: true });
      await Deno.copyFile(new URL(path, SRC), join(copy, path));
    }
    const src = new URL(`file://${copy}/`);
    const copied = new URL("runtime/plugin_main.bundle.js", src);
    assert.ok(bundleIsFresh(copied, src), "an exact copy is fresh");
    const harden = join(copy, "runtime/_harden.ts");
    await Deno.writeTextFile(harden, (await Deno.readTextFile(harden)).replace("blockCodeGeneration();", ""));
    assert.equal(
      bundleIsFresh(copied, src),
      false,
      "a mutated _harden.ts must not be run from the old bundle",
    );
    await Deno.remove(join(copy, "runtime/_harden.ts"));
    assert.equal(bundleIsFresh(copied, src), false, "a missing source");
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
  assert.ok(RUNTIME_SOURCE_URL.endsWith("/src/runtime/plugin_main.ts"));
});
