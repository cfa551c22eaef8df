// The benchmark suite: every figure a ratio against a baseline measured in the same run, baseline and subject
// alternating round by round, medians of the rounds.
//
//   deno task bench                 # the full run (several minutes on 2 cores)
//   deno task bench --quick         # fewer rounds and smaller scales, for CI
//   deno task bench --json out.json # also writes the rows as JSON
//   deno task bench --only calls,start,memory,reload,discovery,metrics,replicas,lazy,rolling,fleet
//   BENCH_V8_FLAGS=--disallow-code-generation-from-strings deno task bench --only memory  # V8's default young gen
//
// Run it with the host's flags: --unstable-worker-options --no-prompt and -A (it spawns workers, child
// processes, an admin server on 127.0.0.1 and temp folders).
import { parseArgs } from "node:util";
import { callScenarios } from "./_scenarios_calls.ts";
import {
  CHILD_V8_FLAGS,
  coldStartRow,
  idleChild,
  idleRows,
  reloadRow,
  startChild,
} from "./_scenarios_start.ts";
import { discoveryRow, metricsScrapeRow } from "./_scenarios_ops.ts";
import { replicasRow, rollingRows } from "./_scenarios_elastic.ts";
import { lazyChild, lazyRows } from "./_scenarios_lazy.ts";
import { fleetRows } from "./_scenarios_fleet.ts";
import { passes, type Row, table } from "./_row.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    json: { type: "string" },
    only: { type: "string" },
    child: { type: "string" },
  },
  allowPositionals: true,
  strict: true,
});

// `--child idle|start raw|host N`: one measurement in this fresh process (see _scenarios_start.ts);
// `--child lazy PAIRS N`: see _scenarios_lazy.ts.
if (values.child) {
  const [kind, count] = [Deno.args.at(-2) as "raw" | "host", Number(Deno.args.at(-1))];
  if (values.child === "lazy") await lazyChild(count, Number(kind));
  else await (values.child === "idle" ? idleChild(kind, count) : startChild(kind, count));
  Deno.exit(0);
}

const quick = values.quick;
const only = new Set(
  (values.only ?? "calls,start,memory,reload,discovery,metrics,replicas,lazy,rolling,fleet").split(","),
);
const sizes = quick
  ? { rounds: 7, sequential: 300, pipelined: 4000, depth: 64, transfers: 5, plugins: 20, signed: 200 }
  : { rounds: 21, sequential: 500, pipelined: 20_000, depth: 64, transfers: 10, plugins: 100, signed: 1000 };
const rows: Row[] = [];
const step = async (name: string, run: () => Promise<Row | Row[]>): Promise<void> => {
  if (!only.has(name)) return;
  const t0 = performance.now();
  const out = await run();
  rows.push(...(Array.isArray(out) ? out : [out]));
  console.error(`${name}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
};

const load = () => Deno.loadavg().map((n) => n.toFixed(2)).join(" ");
const startLoad = load();
await step("calls", () => callScenarios(sizes));
const self = new URL(import.meta.url);
await step("start", async () => [
  await coldStartRow(1, quick ? 5 : 11, self),
  await coldStartRow(10, quick ? 3 : 7, self),
  await coldStartRow(sizes.plugins, quick ? 3 : 7, self, 1.3),
]);
await step("memory", () => idleRows(sizes.plugins, quick ? 1 : 3, self)); // 100 plugins (--quick: 20)
await step("reload", () => reloadRow(quick ? 5 : 11));
await step("discovery", () => discoveryRow(sizes.signed, quick ? 3 : 5));
await step("metrics", () => metricsScrapeRow(sizes.plugins, quick ? 3 : 7));
// Elastic plugins (--quick: 200 lazy plugins instead of 1,000, fewer rounds; a replicas sample of 300 calls,
// since answers come back 24 at a time and a shorter sample is mostly its ragged end).
await step("replicas", () => replicasRow(quick ? 3 : 11, quick ? 300 : 400));
await step("lazy", () => lazyRows(quick ? 200 : 1000, quick ? 3 : 7, quick ? 3 : 5, self));
await step("rolling", () => rollingRows(quick ? 1 : 3));
// The fleet on a nats-server of its own: round trip and pipelined calls against raw NATS, publish → Running.
await step("fleet", () => fleetRows(sizes, quick ? 3 : 7));

console.log(
  `Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), ${Deno.build.target}, ${navigator.hardwareConcurrency} cores; ` +
    `load average ${startLoad} at start, ${load()} at the end${quick ? "; --quick" : ""}; ` +
    `fresh processes with --v8-flags=${CHILD_V8_FLAGS}\n`,
);
console.log(table(rows));
if (values.json) {
  await Deno.writeTextFile(
    values.json,
    JSON.stringify(
      { deno: Deno.version.deno, quick, rows: rows.map((r) => ({ ...r, pass: passes(r) })) },
      null,
      2,
    ),
  );
}
