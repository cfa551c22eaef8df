// Verifying signed plugins: 1,000 generated plugin folders (5 files each, one nested), each signed, then
//   a) verifyPlugin on every folder, 16 at a time (the check alone), and
//   b) discoverPlugins with the host's signature check (what start() does with ValidateSignatures on), and
//   c) the same discovery without it, for comparison.
//   deno run --allow-read --allow-write bench/trust_bench.ts [plugins=1000] [runs=7]
// Prints the median and the slowest run of each, in ms; exits 1 when the median of (a) is 1 s or more.
import { join } from "node:path";
import { cpuUsage } from "node:process";
import {
  discoverPlugins,
  generateKeyPair,
  SignatureError,
  signPlugin,
  thumbprint,
  verifyPlugin,
} from "../mod.ts";

const count = Number(Deno.args[0] ?? 1000);
const runs = Number(Deno.args[1] ?? 7);
const root = await Deno.makeTempDir({ prefix: "dotcompute_trust_bench_" });
const keys = await generateKeyPair();
const trusted = [await thumbprint(keys.publicKey)];

const dirs: string[] = [];
for (let i = 0; i < count; i++) {
  const dir = join(root, `p${String(i).padStart(4, "0")}`);
  await Deno.mkdir(join(dir, "lib"), { recursive: true });
  await Deno.writeTextFile(
    join(dir, "plugin.jsonc"),
    JSON.stringify({ id: `bench.p${i}`, name: `p${i}`, version: "1.0.0", permissions: { read: ["./lib"] } }),
  );
  await Deno.writeTextFile(
    join(dir, "mod.ts"),
    `import { V } from "./lib/util.ts";\nexport default { V };\n`,
  );
  await Deno.writeTextFile(
    join(dir, "lib", "util.ts"),
    `export const V = ${i};\n` + "// padding\n".repeat(100),
  );
  await Deno.writeTextFile(
    join(dir, "lib", "table.json"),
    JSON.stringify(Array.from({ length: 200 }, (_, k) => k)),
  );
  await Deno.writeTextFile(join(dir, "README.md"), `# plugin ${i}\n`);
  await signPlugin(dir, keys);
  dirs.push(dir);
}

async function mapLimit<T>(
  items: readonly string[],
  limit: number,
  fn: (s: string) => Promise<T>,
): Promise<T[]> {
  const out: T[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  }));
  return out;
}

/** Wall-clock ms of each run, sorted, and the median CPU ms (user + system, all threads) of a run. */
async function time(fn: () => Promise<void>): Promise<{ wall: number[]; cpuMs: number }> {
  await fn(); // warm-up: JIT, key import, file cache
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < runs; r++) {
    const c0 = cpuUsage();
    const t0 = performance.now();
    await fn();
    wall.push(performance.now() - t0);
    const c = cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  cpu.sort((a, b) => a - b);
  return { wall: wall.sort((a, b) => a - b), cpuMs: cpu[Math.floor(cpu.length / 2)] };
}

const verifyOnly = await time(async () => {
  const results = await mapLimit(dirs, 16, (d) => verifyPlugin(d, { trusted }));
  if (!results.every((r) => r.ok)) throw new Error("a plugin failed verification");
});
const discover = (check: boolean) => async (): Promise<void> => {
  const results = await discoverPlugins(root, {
    ...(check
      ? {
        verify: async (p) => {
          const r = await verifyPlugin(p.dir, { trusted });
          return r.ok ? undefined : new SignatureError(p.manifest.id, r.problems);
        },
      }
      : {}),
  });
  if (results.length !== count || !results.every((r) => r.ok)) throw new Error("discovery failed a plugin");
};
const discovery = await time(discover(true));
const discoveryUnsigned = await time(discover(false));
await Deno.remove(root, { recursive: true });

const summary = ({ wall, cpuMs }: { wall: number[]; cpuMs: number }) => ({
  medianMs: +wall[Math.floor(wall.length / 2)].toFixed(1),
  maxMs: +wall.at(-1)!.toFixed(1),
  cpuMs: +cpuMs.toFixed(1),
});
console.log(
  JSON.stringify({
    plugins: count,
    filesEach: 5,
    runs,
    verify: summary(verifyOnly),
    discovery: summary(discovery),
    discoveryWithoutSignatures: summary(discoveryUnsigned),
  }),
);
if (summary(verifyOnly).medianMs >= 1000) Deno.exit(1);
