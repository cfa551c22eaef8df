/**
 * The fleet's bundles on this host (`Plugins.Cluster.Bundles`): every bundle in the fleet's object store is
 * checked, written to a fresh folder, verified against this host's own `TrustedCertificateThumbprints`, and only
 * then moved to `<plugins folder>/.fleet/<id>` and loaded through the host's reload path (blue/green, the
 * approval gate). A bundle this host does not trust is refused with a `bundle` event and never written where a
 * plugin could run from.
 *
 * @module
 */

import { join } from "node:path";
import { getLogger } from "../_npm/logtape.ts";
import type { NatsConnection, ObjectInfo, ObjectStore } from "../_npm/nats.ts";
import { Objm } from "../_npm/nats.ts";
import type { BundleEvent } from "../events/events.ts";
import { normalizeThumbprint, verifyPlugin } from "../trust/trust.ts";
import { type BundleInfo, unpackBundle, writeBundle } from "./_bundle.ts";
import { buckets } from "./protocol.ts";
import type { BundleTarget, FleetSource } from "./types.ts";

const log = getLogger(["dotcompute", "cluster", "bundles"]);

/** Opens fleet `name`'s bundle store (creating it when it is not there yet). */
export async function openBundleStore(nc: NatsConnection, name: string): Promise<ObjectStore> {
  return await new Objm(nc).create(buckets(name).bundles);
}

/** What a store entry's description claims (untrusted: only a hint for refusing early). */
function described(info: ObjectInfo): Partial<BundleInfo> {
  try {
    const d = JSON.parse(info.description ?? "") as Record<string, unknown>;
    return {
      ...(typeof d.version === "string" ? { version: d.version } : {}),
      ...(typeof d.thumbprint === "string" ? { thumbprint: d.thumbprint } : {}),
    };
  } catch {
    return {};
  }
}

/** Installs the fleet's bundles on this host, one at a time, as the store changes. */
export class BundleInstaller implements AsyncDisposable {
  readonly #store: ObjectStore;
  readonly #target: BundleTarget;
  readonly #emit: FleetSource["emit"];
  /** The store digest each plugin id was last handled at: a watch that repeats an entry changes nothing. */
  readonly #handled = new Map<string, string>();
  #queue: Promise<void> = Promise.resolve();
  #stop: (() => void) | undefined;

  constructor(store: ObjectStore, target: BundleTarget, emit: FleetSource["emit"]) {
    this.#store = store;
    this.#target = target;
    this.#emit = emit;
  }

  /** Installs what the store holds, then follows it. */
  async start(): Promise<void> {
    await Deno.mkdir(this.#target.folder, { recursive: true });
    const watch = await this.#store.watch({ includeHistory: true });
    this.#stop = () => watch.stop();
    void (async () => {
      for await (const info of watch) {
        if (!info || info.deleted) continue; // null: the history ended; a deletion leaves what runs alone
        this.#queue = this.#queue.then(() => this.#handle(info)).catch((e) =>
          log.error("bundle {name}: {error}", { name: info.name, error: String(e) })
        );
      }
    })();
  }

  /** Every install started so far has ended. */
  settled(): Promise<void> {
    return this.#queue;
  }

  async #handle(info: ObjectInfo): Promise<void> {
    if (this.#handled.get(info.name) === info.digest) return;
    this.#handled.set(info.name, info.digest);
    const claim: { version?: string; thumbprint?: string } = { ...described(info) };
    const event = (outcome: BundleEvent["outcome"], extra: Partial<BundleEvent> = {}): void => {
      const e: BundleEvent = {
        id: info.name,
        version: claim.version ?? "?",
        outcome,
        ...(claim.thumbprint === undefined ? {} : { thumbprint: claim.thumbprint }),
        at: Date.now(),
        ...extra,
      };
      const level = outcome === "installed" || outcome === "held" ? "info" : "warn";
      log[level]("bundle {id} {version}: {outcome}{detail}", {
        ...e,
        detail: e.reason ? `: ${e.reason}` : "",
      });
      this.#emit("bundle", e);
    };
    const trusted = new Set(this.#target.trusted().map((t) => normalizeThumbprint(t)));
    // The claim only spares a download; the folder is verified below whatever it says.
    if (claim.thumbprint !== undefined && !trusted.has(claim.thumbprint)) {
      return event("refused", {
        reason: `signed by key ${claim.thumbprint}, which this host does not trust`,
      });
    }
    const bytes = await this.#store.getBlob(info.name);
    if (!bytes) return event("refused", { reason: "it was removed from the store before it could be read" });
    let bundle;
    try {
      bundle = unpackBundle(bytes);
    } catch (e) {
      return event("refused", { reason: e instanceof Error ? e.message : String(e) });
    }
    claim.version = bundle.version;
    if (bundle.id !== info.name) {
      return event("refused", { reason: `the entry "${info.name}" holds plugin "${bundle.id}"` });
    }
    const folder = this.#target.folder;
    const staging = await Deno.makeTempDir({ dir: folder, prefix: `.${bundle.id}.` });
    try {
      await writeBundle(bundle, staging);
      const verified = await verifyPlugin(staging, { trusted: [...trusted] });
      if (!verified.ok) return event("refused", { reason: verified.reason, thumbprint: verified.thumbprint });
      const final = join(folder, bundle.id);
      // Two renames: the old version's folder steps aside, the verified one takes its name.
      const old = `${staging}.old`;
      const had = await Deno.rename(final, old).then(() => true, () => false);
      await Deno.rename(staging, final);
      if (had) await Deno.remove(old, { recursive: true }).catch(() => {});
      const reload = await this.#target.install(final);
      if ("refused" in reload) return event("refused", { reason: reload.refused });
      if (reload.outcome === "held") return event("held");
      if (reload.error !== undefined || reload.outcome === "rolled-back") {
        return event("failed", { reason: reload.error ?? reload.outcome });
      }
      event("installed");
    } finally {
      await Deno.remove(staging, { recursive: true }).catch(() => {});
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#stop?.();
    await this.#queue;
  }
}
