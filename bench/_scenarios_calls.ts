// Calls: round trip, pipelined throughput and buffer transfers, the host against a raw postMessage echo and
// Comlink on the same kind of worker. Every round measures all subjects, in rotating order.
import { createPluginHost, type PluginHandle } from "../mod.ts";
import { comlinkPeer, RawEcho } from "./_peers.ts";
import { writeBenchPlugins } from "./_fixtures.ts";
import type { Row } from "./_row.ts";
import { alternate, callsPerSecond, type Measure, median, pairedRatio, perCallUs } from "./_stats.ts";

/** How much to measure. */
export interface CallSizes {
  readonly rounds: number;
  /** Sequential calls per round trip sample. */
  readonly sequential: number;
  /** Calls per throughput sample, and how many are in flight. */
  readonly pipelined: number;
  readonly depth: number;
  /** Transfers per transfer sample. */
  readonly transfers: number;
}

export async function callScenarios(sizes: CallSizes): Promise<Row[]> {
  const plugins = await writeBenchPlugins(1);
  const host = await createPluginHost({ Plugins: { PluginsDirectory: plugins.dir } }, { watchConfig: false });
  using raw = new RawEcho();
  using comlink = comlinkPeer();
  try {
    await host.start();
    const p = host.getPlugin(plugins.ids[0])!;
    const args = [1, 2, 3];
    const viaHost = (): Promise<unknown> => p.call("sum", args);
    const viaRaw = (): Promise<unknown> => raw.call(args);
    const viaComlink = (): Promise<unknown> => comlink.api.sum(args);
    if (await viaHost() !== 6 || await viaComlink() !== 6) throw new Error("a peer answered wrong");
    // Warm-up: JIT on both sides of every channel.
    for (const f of [viaRaw, viaComlink, viaHost]) await callsPerSecond(2000, 16, f);

    const { sequential: n } = sizes;
    const slot0 = p.getMetrics().wire!.sharedCalls;
    const rtt = await alternate(sizes.rounds, {
      raw: () => perCallUs(n, viaRaw),
      comlink: () => perCallUs(n, viaComlink),
      host: () => perCallUs(n, viaHost),
    });
    const slotted = p.getMetrics().wire!.sharedCalls - slot0;
    const before = p.getMetrics().wire!;
    const { pipelined: c, depth } = sizes;
    const tput = await alternate(sizes.rounds, {
      raw: () => callsPerSecond(c, depth, viaRaw),
      comlink: () => callsPerSecond(c, depth, viaComlink),
      host: () => callsPerSecond(c, depth, viaHost),
    });
    const after = p.getMetrics().wire!;
    const perMessage = (sizes.rounds * c) / (after.messagesSent - before.messagesSent);
    const rows: Row[] = [
      row("call round trip", "µs", "raw postMessage", rtt.raw, "Comlink", rtt.comlink),
      {
        ...row("call round trip", "µs", "raw postMessage", rtt.raw, "host call", rtt.host),
        target: { op: "<=", value: 1.1 },
        note: `${slotted} of ${sizes.rounds * n} calls through the shared-memory slot`,
      },
      row(`pipelined, ${depth} in flight`, "calls/s", "raw postMessage", tput.raw, "Comlink", tput.comlink),
      {
        ...row(
          `pipelined, ${depth} in flight`,
          "calls/s",
          "raw postMessage",
          tput.raw,
          "host call",
          tput.host,
        ),
        target: { op: ">=", value: 1.5 },
        note: `${perMessage.toFixed(1)} calls per message`,
      },
    ];
    rows.push(...await transferRows(p, raw, sizes));
    return rows;
  } finally {
    await host.stop();
    await plugins.cleanup();
  }
}

function row(
  scenario: string,
  unit: string,
  baseline: string,
  b: Measure,
  subject: string,
  s: Measure,
): Row {
  return {
    scenario,
    unit,
    baseline,
    baselineValue: b.median,
    subject,
    subjectValue: s.median,
    ratio: pairedRatio(s, b),
  };
}

/**
 * 1 MiB and 16 MiB there and back: raw transfer echo against a host call echoing a Uint8Array. "Never copies"
 * is checked, not inferred from timings: the host's buffer must be detached after each call, and the plugin's
 * after it answered (the plugin looks, and reports what it saw).
 */
async function transferRows(p: PluginHandle, raw: RawEcho, sizes: CallSizes): Promise<Row[]> {
  const MiB = 2 ** 20;
  let detachedHost = 0, detachedRaw = 0, intact = true, sent = 0;
  const hostBounce = (size: number) => async (): Promise<number> => {
    let total = 0;
    for (let i = 0; i < sizes.transfers; i++) {
      const data = new Uint8Array(size);
      data[size - 1] = 7;
      const t0 = performance.now();
      const back = await p.call("echoChecked", data) as Uint8Array;
      total += performance.now() - t0;
      sent++;
      if (data.byteLength === 0) detachedHost++;
      intact &&= back.byteLength === size && back[size - 1] === 7;
    }
    return total * 1000 / sizes.transfers;
  };
  const rawBounce = (size: number) => async (): Promise<number> => {
    let total = 0;
    for (let i = 0; i < sizes.transfers; i++) {
      const view = new Uint8Array(size);
      view[size - 1] = 7;
      const t0 = performance.now();
      const back = await raw.bounce(view.buffer);
      total += performance.now() - t0;
      if (view.byteLength === 0 && back.byteLength === size) detachedRaw++;
    }
    return total * 1000 / sizes.transfers;
  };
  const m = await alternate(sizes.rounds, {
    raw1: rawBounce(MiB),
    host1: hostBounce(MiB),
    raw16: rawBounce(16 * MiB),
    host16: hostBounce(16 * MiB),
  });
  const stats = await p.call("transferStats") as { seen: number; detached: number };
  const ok = intact && detachedHost === sent && stats.detached === sent && detachedRaw === sent;
  const note =
    `detached: host ${detachedHost}/${sent}, plugin ${stats.detached}/${stats.seen}, raw ${detachedRaw}`;
  return [
    row("transfer 1 MiB there and back", "µs", "raw transfer", m.raw1, "host call", m.host1),
    row("transfer 16 MiB there and back", "µs", "raw transfer", m.raw16, "host call", m.host16),
    {
      ...row(
        "transfers never copy: 16 MiB time / 1 MiB time",
        "×",
        "raw transfer",
        ratioOf(m.raw16, m.raw1),
        "host call",
        ratioOf(m.host16, m.host1),
      ),
      ok,
      note,
    },
  ];
}

/** Per-round ratios a/b as a measure of their own. */
function ratioOf(a: Measure, b: Measure): Measure {
  const samples = a.samples.map((x, i) => x / b.samples[i]);
  return { samples, median: median(samples) };
}
