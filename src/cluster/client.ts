/**
 * The fleet from outside it, for the CLI's `--cluster` commands: publish a signed plugin folder to the bundle
 * store, list the hosts and their plugins, decide on a held version for every host at once.
 *
 * @module
 */

import type { NatsConnection } from "../_npm/nats.ts";
import { PluginHostError } from "../errors.ts";
import { type BundleInfo, packBundle } from "./_bundle.ts";
import { decodeFrame } from "./_codec.ts";
import { connectNats, type NatsAuth } from "./_connect.ts";
import { decide, openStateStore } from "./_decisions.ts";
import { openBundleStore } from "./bundles.ts";
import { type Decision, parseBeat, subjects } from "./protocol.ts";
import type { FleetHost } from "./types.ts";

/** A connection to one fleet, closed on dispose. */
export interface FleetClient extends AsyncDisposable {
  /** The fleet's name. */
  readonly name: string;
  /** Puts the signed plugin folder `dir` into the bundle store (refused unless its signature verifies). */
  publish(dir: string): Promise<BundleInfo & { readonly bytes: number }>;
  /** Every host that answers within `waitMs` (and as long as answers keep coming), sorted by id. */
  hosts(waitMs?: number): Promise<FleetHost[]>;
  /**
   * Approves or rejects `id` at `version` (default: the version published to the bundle store) for every host
   * of the fleet, now and for those that hold it later.
   */
  decide(id: string, action: Decision["action"], version?: string): Promise<Decision>;
}

/** Connects to fleet `name` on `servers`. */
export async function connectFleet(
  servers: readonly string[],
  name: string,
  auth: NatsAuth = {},
): Promise<FleetClient> {
  const nc = await connectNats(servers, `dotcompute cli ${name}`, auth, false);
  return new Client(nc, name);
}

class Client implements FleetClient {
  readonly name: string;
  readonly #nc: NatsConnection;

  constructor(nc: NatsConnection, name: string) {
    this.#nc = nc;
    this.name = name;
  }

  async publish(dir: string): Promise<BundleInfo & { readonly bytes: number }> {
    const { info, bytes } = await packBundle(dir);
    const store = await this.#jetstream(() => openBundleStore(this.#nc, this.name));
    await store.putBlob({ name: info.id, description: JSON.stringify(info) }, bytes);
    return { ...info, bytes: bytes.byteLength };
  }

  async hosts(waitMs = 1000): Promise<FleetHost[]> {
    const replies = await this.#nc.requestMany(subjects(this.name).hosts, undefined, {
      strategy: "stall",
      stall: Math.min(300, waitMs),
      maxWait: waitMs,
    });
    const hosts = new Map<string, FleetHost>();
    for await (const msg of replies) {
      try {
        const beat = parseBeat(decodeFrame(msg.data));
        const plugins = beat.plugins.map(({ id, version, state }) => ({ id, version, state }));
        hosts.set(beat.hostId, { hostId: beat.hostId, self: false, plugins });
      } catch { /* not a host's answer: skipped */ }
    }
    return [...hosts.values()].sort((a, b) => a.hostId < b.hostId ? -1 : 1);
  }

  async decide(id: string, action: Decision["action"], version?: string): Promise<Decision> {
    if (version === undefined) {
      const store = await this.#jetstream(() => openBundleStore(this.#nc, this.name));
      const info = await store.info(id);
      const published = info && !info.deleted ? JSON.parse(info.description ?? "{}").version : undefined;
      if (typeof published !== "string") {
        throw new PluginHostError(
          "APPROVAL_NOT_FOUND",
          `no bundle of "${id}" is published to fleet ${this.name}: name the held version with --version`,
          { pluginId: id },
        );
      }
      version = published;
    }
    const kv = await this.#jetstream(() => openStateStore(this.#nc, this.name));
    return await decide(kv, id, version, action);
  }

  async #jetstream<T>(open: () => Promise<T>): Promise<T> {
    try {
      return await open();
    } catch (e) {
      throw new PluginHostError(
        "CONFIG_INVALID",
        `fleet ${this.name}: the NATS server has no JetStream (start it with -js): ${(e as Error).message}`,
        { cause: e },
      );
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#nc.drain().catch(() => this.#nc.close());
  }
}
