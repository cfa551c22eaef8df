// npm packages: Deno fetches and loads `npm:` imports whatever the plugin's permissions say. A plugin granted
// nothing is refused every route to an npm package before the registry hears of it, in both tiers; a package
// the manifest asks for and PluginSecurity allows loads. The registry is the test's own (a scoped .npmrc sends
// `@dctest/*` there; the host's own dependencies stay in its cache), and the host runs in a subprocess with a
// fresh DENO_DIR (a copy of the host's, which has never seen this registry).
import assert from "node:assert/strict";
import { join } from "node:path";
import { CONFIG, denoRun, MOD } from "./_attack.ts";

const PKG = "@dctest/tiny";

async function tarball(): Promise<Uint8Array<ArrayBuffer>> {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(join(dir, "package"));
  await Deno.writeTextFile(
    join(dir, "package", "package.json"),
    JSON.stringify({ name: PKG, version: "1.0.0", type: "module", main: "index.js" }),
  );
  await Deno.writeTextFile(join(dir, "package", "index.js"), `export default "tiny loaded";\n`);
  const out = await new Deno.Command("tar", { args: ["-czf", "-", "-C", dir, "package"], stdout: "piped" })
    .output();
  await Deno.remove(dir, { recursive: true });
  return out.stdout;
}

/** The test's registry: serves PKG, answers 404 to anything else, and counts every request by package. */
async function registry(): Promise<{ requests: string[]; url: string } & AsyncDisposable> {
  const tgz = await tarball();
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-512", tgz));
  const integrity = `sha512-${btoa(String.fromCharCode(...digest))}`;
  const requests: string[] = [];
  let base = "";
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req): Response => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      requests.push(path);
      if (path === `/${PKG}`) {
        return Response.json({
          name: PKG,
          "dist-tags": { latest: "1.0.0" },
          versions: {
            "1.0.0": { name: PKG, version: "1.0.0", dist: { tarball: `${base}/tiny.tgz`, integrity } },
          },
        });
      }
      if (path === "/tiny.tgz") return new Response(tgz.slice());
      return new Response("not found", { status: 404 });
    },
  );
  base = `http://127.0.0.1:${server.addr.port}`;
  return {
    requests,
    url: `http://127.0.0.1:${server.addr.port}/`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

function denoDir(): string {
  return Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache", "deno");
}

interface Plugin {
  readonly id: string;
  /** File name → text; `mod.ts` is the entry. */
  readonly files: Readonly<Record<string, string>>;
  readonly npm?: readonly string[];
}

/** Runs a host in a subprocess with `plugins`; answers each plugin's state, error and `probe()` result. */
async function run(
  reg: { url: string },
  plugins: readonly Plugin[],
  options: { isolation?: string; allow?: Record<string, string[]> } = {},
): Promise<Record<string, { state: string; error?: string; result?: unknown }>> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "dotcompute_npm_" }));
  try {
    const home = join(root, "home");
    await Deno.mkdir(home);
    await Deno.writeTextFile(join(home, ".npmrc"), `@dctest:registry=${reg.url}\n`);
    const cache = join(root, "deno_dir");
    // Only the npm packages: the rest of the host's cache (gen/ and the code caches: hundreds of MiB after a
    // test run) the subprocess rebuilds in a second or two, and copying it took most of this test's time.
    await Deno.mkdir(cache);
    const npm = join(denoDir(), "npm");
    await new Deno.Command("cp", { args: ["-a", npm, join(cache, "npm")] }).output();
    const blocks: Record<string, unknown> = {};
    for (const p of plugins) {
      const dir = join(root, "plugins", p.id);
      await Deno.mkdir(dir, { recursive: true });
      const manifest = { id: p.id, name: p.id, version: "1.0.0", permissions: { npm: p.npm ?? [] } };
      await Deno.writeTextFile(join(dir, "plugin.jsonc"), JSON.stringify(manifest));
      for (const [name, text] of Object.entries(p.files)) await Deno.writeTextFile(join(dir, name), text);
      if (options.isolation) blocks[p.id] = { Isolation: options.isolation };
    }
    const security = Object.fromEntries(
      Object.entries(options.allow ?? {}).map(([id, names]) => [id, { AllowedNpmPackages: names }]),
    );
    const script = join(root, "host.ts");
    await Deno.writeTextFile(
      script,
      `import { createPluginHost } from ${JSON.stringify(MOD)};
       await using host = await createPluginHost({
         Plugins: { ...${JSON.stringify(blocks)}, PluginsDirectory: ${
        JSON.stringify(join(root, "plugins"))
      } },
         PluginSecurity: ${JSON.stringify(security)},
       });
       await host.start();
       const out = {};
       for (const p of host.getPlugins()) {
         let result;
         if (p.state === "Running") result = await p.call("probe").catch((e) => "threw " + e.message);
         out[p.id] = { state: p.state, error: p.lastError?.message, result };
       }
       console.log("RESULT " + JSON.stringify(out));`,
    );
    const out = await denoRun(
      ["run", "--unstable-worker-options", "--no-prompt", "--no-lock", "-A", "--config", CONFIG, script],
      { env: { HOME: home, DENO_DIR: cache, NO_COLOR: "1" }, timeoutMs: 120_000 },
    );
    const line = out.stdout.split("\n").find((l) => l.startsWith("RESULT "));
    assert.ok(line, `no result (code ${out.code}): ${out.stderr.slice(-2000)}`);
    return JSON.parse(line.slice(7));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const probe = (body: string): string => `export default { methods: { async probe() { ${body} } } };\n`;

/** Every route to an npm package that a plugin granted nothing might take. */
const ROUTES: readonly Plugin[] = [
  { id: "static", files: { "mod.ts": `import x from "npm:${PKG}";\n${probe("return x;")}` } },
  { id: "literal", files: { "mod.ts": probe(`return (await import("npm:${PKG}")).default;`) } },
  {
    id: "computed",
    files: { "mod.ts": probe(`return (await import(["npm:", "${PKG}"].join(""))).default;`) },
  },
  {
    id: "data",
    files: {
      "mod.ts": probe(
        `return (await import("data:text/javascript,export { default } from 'npm:${PKG}'")).default;`,
      ),
    },
  },
  {
    id: "computed-data",
    files: {
      "mod.ts": probe(
        `return (await import("data:text/javascript," + "export { default } from 'npm:${PKG}'")).default;`,
      ),
    },
  },
  { id: "escaped", files: { "mod.ts": probe(`return (await import("\\x6epm:${PKG}")).default;`) } },
  {
    id: "nested",
    files: {
      "mod.ts": probe(`return (await import("./b.ts")).default;`),
      "b.ts": `export * from "npm:${PKG}";`,
    },
  },
  { id: "mapped", files: { "mod.ts": `import { z } from "zod";\n${probe("return typeof z;")}` } },
  {
    id: "require",
    files: {
      "mod.ts": `import { createRequire } from "node:module";\n` +
        probe(`return createRequire(import.meta.url)("./c.cjs");`),
      "c.cjs": `module.exports = import("npm:${PKG}");`,
    },
  },
];

for (const isolation of ["worker", "process"]) {
  Deno.test(`npm: a plugin granted nothing reaches no npm package by any route (${isolation})`, async () => {
    await using reg = await registry();
    const out = await run(reg, ROUTES, { isolation });
    for (const { id } of ROUTES) {
      const r = out[id];
      // A refused start is Failed, or Loading again when the restart policy retries it (its error kept).
      const failed = r.state !== "Running" && r.error !== undefined;
      const refused = failed || (typeof r.result === "string" && r.result.startsWith("threw"));
      assert.ok(refused, `${id}: ${JSON.stringify(r)}`);
      if (failed && !/computed|data:/.test(r.error ?? "")) {
        assert.match(r.error ?? "", /mod\.ts:\d+:\d+|b\.ts:\d+:\d+|not allowed/, id);
      }
    }
    assert.match(
      out.static.error ?? "",
      /mod\.ts:1:1: imports npm package "@dctest\/tiny".*permissions\.npm.*PluginSecurity\.static\.AllowedNpmPackages/,
    );
    assert.match(out.mapped.error ?? "", /npm package "zod"/);
    assert.deepEqual(reg.requests, [], "the registry was asked");
  });

  Deno.test(`npm: a package the manifest asks for and PluginSecurity allows loads (${isolation})`, async () => {
    await using reg = await registry();
    const plugins: Plugin[] = [
      {
        id: "allowed",
        npm: [PKG],
        files: { "mod.ts": `import x from "npm:${PKG}";\n${probe("return x;")}` },
      },
      {
        id: "allowed-computed",
        npm: [PKG],
        files: { "mod.ts": probe(`return (await import(["npm:", "${PKG}"].join(""))).default;`) },
      },
      // Asked for in the manifest, not allowed by the host: refused.
      { id: "asked", npm: [PKG], files: { "mod.ts": `import x from "npm:${PKG}";\n${probe("return x;")}` } },
    ];
    const out = await run(reg, plugins, {
      isolation,
      allow: { allowed: [PKG], "allowed-computed": [PKG], asked: ["other"] },
    });
    assert.equal(out.allowed.result, "tiny loaded", JSON.stringify(out.allowed));
    assert.equal(out["allowed-computed"].result, "tiny loaded", JSON.stringify(out["allowed-computed"]));
    assert.equal(out.asked.state, "Failed");
    assert.ok(reg.requests.includes(`/${PKG}`));
  });
}
