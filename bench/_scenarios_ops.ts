// Operations at scale: discovery with signature checks of many plugins against reading their files, and a
// Prometheus scrape of a host with many plugins against the admin server's /health.
import { join } from "node:path";
import {
  createPluginHost,
  discoverPlugins,
  generateKeyPair,
  SignatureError,
  signPlugin,
  thumbprint,
  verifyPlugin,
} from "../mod.ts";
import { writeBenchPlugins } from "./_fixtures.ts";
import type { Row } from "./_row.ts";
import { alternate, pairedRatio } from "./_stats.ts";

/** Every file under `dir`, read (the I/O floor of anything that checks every file). */
async function readAll(dir: string): Promise<number> {
  let bytes = 0;
  const pending: Promise<void>[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) pending.push(readAll(path).then((n) => void (bytes += n)));
    else pending.push(Deno.readFile(path).then((b) => void (bytes += b.length)));
  }
  await Promise.all(pending);
  return bytes;
}

/** Discovery with every signature checked, against reading every file of the same folders. */
export async function discoveryRow(count: number, rounds: number): Promise<Row> {
  const plugins = await writeBenchPlugins(count);
  try {
    const keys = await generateKeyPair();
    const trusted = [await thumbprint(keys.publicKey)];
    for (const folder of plugins.folders) await signPlugin(folder, keys);
    const verify = async (p: { dir: string; manifest: { id: string } }) => {
      const r = await verifyPlugin(p.dir, { trusted });
      return r.ok ? undefined : new SignatureError(p.manifest.id, r.problems);
    };
    const m = await alternate(rounds, {
      raw: async () => {
        const t0 = performance.now();
        await readAll(plugins.dir);
        return performance.now() - t0;
      },
      host: async () => {
        const t0 = performance.now();
        const found = await discoverPlugins(plugins.dir, { verify });
        const ms = performance.now() - t0;
        if (found.length !== count || !found.every((r) => r.ok)) throw new Error("a signed plugin failed");
        return ms;
      },
    });
    return {
      scenario: `discovery of ${count} signed plugins, every signature checked`,
      unit: "ms",
      baseline: "read every file",
      baselineValue: m.raw.median,
      subject: "discoverPlugins + verify",
      subjectValue: m.host.median,
      ratio: pairedRatio(m.host, m.raw),
    };
  } finally {
    await plugins.cleanup();
  }
}

/** `GET /metrics` (Prometheus text) with `count` running plugins, against `GET /health` on the same server. */
export async function metricsScrapeRow(count: number, rounds: number): Promise<Row> {
  const plugins = await writeBenchPlugins(count);
  const host = await createPluginHost({ Plugins: { PluginsDirectory: plugins.dir } }, { watchConfig: false });
  try {
    await host.start();
    await Promise.all(host.getPlugins().map((p) => p.call("sum", [1, 2])));
    await using admin = await host.serveAdmin({ port: 0, token: null });
    let series = 0;
    const get = (path: string, scrapes: number) => async (): Promise<number> => {
      const t0 = performance.now();
      for (let i = 0; i < scrapes; i++) {
        const res = await fetch(`${admin.url}${path}`);
        if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
        const text = await res.text();
        if (path === "/metrics") series = text.split("\n").filter((l) => l && !l.startsWith("#")).length;
      }
      return (performance.now() - t0) / scrapes;
    };
    const m = await alternate(rounds, { raw: get("/health", 20), host: get("/metrics", 20) });
    return {
      scenario: `GET /metrics with ${count} running plugins`,
      unit: "ms",
      baseline: "GET /health, same server",
      baselineValue: m.raw.median,
      subject: "GET /metrics",
      subjectValue: m.host.median,
      ratio: pairedRatio(m.host, m.raw),
      note: `${series} series`,
    };
  } finally {
    await host.stop();
    await plugins.cleanup();
  }
}
