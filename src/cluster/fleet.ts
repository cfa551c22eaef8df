/**
 * The fleet: this host's part of it on NATS. It beats (what it runs, once a second and on each change),
 * listens to the others' beats ({@linkcode Peers}), serves the fleet's calls to its Clusterable plugins and
 * makes calls to theirs ({@linkcode RemoteCalls}). Loaded by the host only when `Plugins.Cluster` is set.
 *
 * @module
 */

import { hostname } from "node:os";
import { getLogger } from "../_npm/logtape.ts";
import type { NatsConnection } from "../_npm/nats.ts";
import { connectNats } from "./_connect.ts";
import type { ClusterConfig } from "../config/types.ts";
import { PluginHostError } from "../errors.ts";
import { decodeFrame, encodeFrame } from "./_codec.ts";
import { RemoteCalls } from "./_calls.ts";
import { BEAT_MS, Peers } from "./_peers.ts";
import { isOffered, serveCall } from "./_serve.ts";
import { Spill } from "./_spill.ts";
import { FleetDecisions, openStateStore } from "./_decisions.ts";
import { BundleInstaller, openBundleStore } from "./bundles.ts";
import { type Beat, buckets, FLEET_PROTOCOL, type FleetPlugin, parseBeat, subjects } from "./protocol.ts";
import type { FleetHost, FleetSource, HostCluster, RemoteOffer } from "./types.ts";
import type { RemotePlugins } from "../deps/remote.ts";

const log = getLogger(["dotcompute", "cluster"]);

/** This host's id when `HostId` is not set: the hostname (as a subject token) and the pid. */
export function defaultHostId(): string {
  const host = hostname().replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 48) || "host";
  return `${host}-${Deno.pid}`;
}

/** This host in its fleet. */
export class Fleet implements HostCluster, RemotePlugins {
  readonly hostId: string;
  readonly name: string;
  readonly #nc: NatsConnection;
  readonly #source: FleetSource;
  readonly #subjects: ReturnType<typeof subjects>;
  readonly #peers: Peers;
  readonly #calls: RemoteCalls;
  readonly #unlisten: () => void;
  #decisions: FleetDecisions | undefined;
  #installer: BundleInstaller | undefined;
  #seq = 0;
  #beatTimer: ReturnType<typeof setInterval> | undefined;
  #beatSoon = false;
  #closed = false;

  /** Connects to the fleet's servers and joins it. */
  static async join(config: ClusterConfig, source: FleetSource): Promise<Fleet> {
    const hostId = config.hostId ?? defaultHostId();
    let nc: NatsConnection;
    try {
      nc = await connectNats(config.servers, `dotcompute ${config.name} ${hostId}`, config, true);
    } catch (e) {
      throw new PluginHostError("CONFIG_INVALID", `Plugins.Cluster: ${(e as Error).message}`, { cause: e });
    }
    const fleet = new Fleet(config.name, hostId, nc, source);
    await fleet.#askWho();
    return fleet;
  }

  private constructor(name: string, hostId: string, nc: NatsConnection, source: FleetSource) {
    this.name = name;
    this.hostId = hostId;
    this.#nc = nc;
    this.#source = source;
    this.#subjects = subjects(name);
    const spill = new Spill(nc, buckets(name).spill);
    this.#calls = new RemoteCalls(nc, this.#subjects.call, hostId, spill);
    this.#peers = new Peers(
      (id) => this.#calls.lost(id, `no beat for ${3 * BEAT_MS} ms, or it left`),
      (hostId, change, offers) => source.emit("fleet", { hostId, change, offers, at: Date.now() }),
    );
    // Both subscriptions end with the connection's drain (close()).
    nc.subscribe(this.#subjects.beat, {
      callback: (err, msg) => {
        if (!err) this.#onBeat(msg.data);
      },
    });
    nc.subscribe(this.#subjects.call(hostId), {
      callback: (err, msg) => {
        if (err) return;
        void serveCall(
          msg,
          (id) => source.plugin(id),
          source.callTimeoutMs(),
          spill,
          (e) => log.warn("a malformed call from the fleet was refused: {error}", { error: e.message }),
        );
      },
    });
    // "Who is there" (the CLI's fleet): each host answers with its beat.
    nc.subscribe(this.#subjects.hosts, {
      callback: (err, msg) => {
        if (!err && msg.reply) msg.respond(encodeFrame(this.#beatOf(false)));
      },
    });
    this.#unlisten = source.onChange(() => this.#beatNow());
    const timer = setInterval(() => this.#tick(), BEAT_MS);
    Deno.unrefTimer(timer as unknown as number);
    this.#beatTimer = timer;
    void this.#watchStatus();
    this.#beat();
  }

  /**
   * Asks every host for its beat at once, so a host that just joined knows the fleet before its plugins start
   * (their dependencies may be there) instead of at the next beats, up to a second later.
   */
  async #askWho(): Promise<void> {
    try {
      const replies = await this.#nc.requestMany(this.#subjects.hosts, undefined, {
        strategy: "stall",
        stall: 50,
        maxWait: 500,
      });
      for await (const msg of replies) this.#onBeat(msg.data);
    } catch { /* nobody else yet (no responders): the fleet is this host */ }
  }

  #onBeat(data: Uint8Array): void {
    let beat: Beat;
    try {
      beat = parseBeat(decodeFrame(data));
    } catch (e) {
      log.warn("a malformed beat from the fleet was ignored: {error}", { error: String(e) });
      return;
    }
    if (beat.hostId === this.hostId) return;
    this.#peers.apply(beat, performance.now());
  }

  /** Beats again after a reconnect: the others may have lost this host while the server was away. */
  async #watchStatus(): Promise<void> {
    for await (const s of this.#nc.status()) {
      if (s.type === "reconnect") {
        log.info("reconnected to {server}", { server: String((s as { server?: unknown }).server ?? "") });
        this.#beat();
      }
    }
  }

  #tick(): void {
    this.#peers.sweep(performance.now());
    this.#beat();
  }

  /** A change: beat in this task's end, once for all the changes of the task. */
  #beatNow(): void {
    if (this.#beatSoon) return;
    this.#beatSoon = true;
    queueMicrotask(() => {
      this.#beatSoon = false;
      this.#beat();
    });
  }

  #offers(): FleetPlugin[] {
    return [...this.#source.plugins()].map((p) => {
      const offered = isOffered(p);
      return {
        id: p.id,
        version: p.version,
        state: p.state,
        offered,
        provides: offered ? p.manifest.provides : {},
        idempotent: offered ? p.manifest.idempotent : [],
      };
    });
  }

  #beatOf(gone: boolean): Beat {
    return {
      v: FLEET_PROTOCOL,
      hostId: this.hostId,
      seq: this.#seq++,
      plugins: gone ? [] : this.#offers(),
      ...(gone ? { gone: true as const } : {}),
    };
  }

  #beat(gone = false): void {
    if (this.#closed || this.#nc.isClosed()) return;
    try {
      this.#nc.publish(this.#subjects.beat, encodeFrame(this.#beatOf(gone)));
    } catch (e) {
      log.warn("a beat could not be sent: {error}", { error: String(e) });
    }
  }

  // A promise, though answered from the last beats: a fleet view that asks the hosts stays compatible.
  hosts(): Promise<FleetHost[]> {
    const list = (plugins: readonly FleetPlugin[]) =>
      plugins.map(({ id, version, state }) => ({ id, version, state }));
    return Promise.resolve([
      { hostId: this.hostId, self: true, plugins: list(this.#offers()) },
      ...this.#peers.beats().sort((a, b) => a.hostId < b.hostId ? -1 : 1).map((b) => ({
        hostId: b.hostId,
        self: false,
        plugins: list(b.plugins),
      })),
    ]);
  }

  /** Moves each time what the other hosts offer changes. */
  get generation(): number {
    return this.#peers.generation;
  }

  /** Every plugin the other hosts offer, the highest version of each id. */
  manifests(): ReturnType<RemotePlugins["manifests"]> {
    return this.#peers.manifests();
  }

  /** The fleet's best offer of `name` among the other hosts (see {@linkcode Peers.find}). */
  find(name: string, ranges: readonly string[]): RemoteOffer | undefined {
    return this.#peers.find(name, ranges, (h) => this.#calls.load(h));
  }

  /**
   * Calls `method` of the plugin `to` names; when its host is lost and the method is idempotent there, once
   * more on another host offering the same plugin.
   */
  async request(
    to: RemoteOffer,
    method: string,
    args: readonly unknown[],
    options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {},
  ): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? this.#source.callTimeoutMs();
    try {
      return await this.#calls.request(to, method, args, timeoutMs, options.signal);
    } catch (e) {
      if (!(e instanceof PluginHostError) || e.code !== "HOST_LOST") throw e;
      if (!this.#peers.idempotent(to.id, to.version, method)) throw e;
      const other = this.#peers.find(to.id, [to.version], (h) => this.#calls.load(h), to.hostId);
      if (!other) throw e;
      log.info("retrying idempotent {id}.{method} on host {host}: {why}", {
        id: to.id,
        method,
        host: other.hostId,
        why: e.message,
      });
      return await this.#calls.request(other, method, args, timeoutMs, options.signal);
    }
  }

  /**
   * Once the host has started its own plugins: the fleet's decisions on held versions and, with `bundles`, the
   * fleet's bundles. Both live in JetStream; a server without it is an error in the log, and calls still work.
   */
  async openStores(bundles: boolean): Promise<void> {
    try {
      this.#decisions = new FleetDecisions(this.#source.approvals);
      await this.#decisions.start(await openStateStore(this.#nc, this.name));
      if (!bundles) return;
      const store = await openBundleStore(this.#nc, this.name);
      this.#installer = new BundleInstaller(store, this.#source.bundles, (t, e) => this.#source.emit(t, e));
      await this.#installer.start();
    } catch (e) {
      log.error("fleet {name}: no shared approvals{bundles} (does the server run JetStream?): {error}", {
        name: this.name,
        bundles: bundles ? " and no bundles" : "",
        error: String(e),
      });
    }
  }

  /** Leaves the fleet: a last beat saying so, then the connection drained. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#beat(true);
    this.#closed = true;
    clearInterval(this.#beatTimer);
    this.#unlisten();
    await this.#installer?.[Symbol.asyncDispose]();
    await this.#decisions?.[Symbol.asyncDispose]();
    try {
      await this.#nc.drain();
    } catch {
      await this.#nc.close().catch(() => {});
    }
  }
}
