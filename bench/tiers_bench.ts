// Call round trip per isolation tier: the worker tier (plain and guarded by a heap cap) and the process tier.
//   deno task bench            (spawn time and idle RSS: bench/tiers_compare.ts)
import { tierHost, TIERS } from "./_tiers_setup.ts";
import { encodeFrame, FrameDecoder } from "../src/rpc/framing.ts";

const setups = await Promise.all(TIERS.map((tier) => tierHost(tier, 1)));
for (const s of setups) await s.host.start();

// The physical floor of the process tier: one frame to a child that writes it straight back (no host, no RPC).
const echo = new Deno.Command(Deno.execPath(), {
  args: ["eval", "for await (const c of Deno.stdin.readable) Deno.stdout.writeSync(c);"],
  stdin: "piped",
  stdout: "piped",
}).spawn();
const toEcho = echo.stdin.getWriter();
const fromEcho = echo.stdout.getReader();
async function pipeEcho(): Promise<void> {
  const decoder = new FrameDecoder();
  await toEcho.write(
    encodeFrame({ v: 1, t: "call", id: 1, kind: "method", method: "echo", args: [[1, 2, 3]] }),
  );
  while (decoder.push((await fromEcho.read()).value!).length === 0);
}
Deno.bench("raw pipe echo of one frame (floor of the process tier)", { group: "tier round trip" }, pipeEcho);

for (const [i, tier] of TIERS.entries()) {
  const plugin = setups[i].host.getPlugin(setups[i].ids[0])!;
  Deno.bench(`${tier}: call round trip`, { group: "tier round trip", baseline: i === 0 }, async () => {
    await plugin.call("echo", [1, 2, 3]);
  });
}

const floats = new Float32Array(256 * 1024); // 1 MiB
for (const [i, tier] of TIERS.entries()) {
  const plugin = setups[i].host.getPlugin(setups[i].ids[0])!;
  Deno.bench(
    `${tier}: 1 MiB Float32Array round trip`,
    { group: "tier 1 MiB", baseline: i === 0 },
    async () => {
      // The worker tiers transfer (and detach) the buffer; the process tier copies it: send a fresh copy each time.
      await plugin.request("echo", [floats.slice()]);
    },
  );
}

globalThis.addEventListener("unload", () => {
  for (const s of setups) void s.cleanup();
  echo.kill();
});
