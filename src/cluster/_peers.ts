// The other hosts of the fleet, as their beats describe them: one owner of that state, changed by beats and
// by the sweep that forgets a host silent for LOST_AFTER_MS.
import { byVersionDesc, satisfiesRange } from "../_common/semver.ts";
import type { FleetEvent } from "../events/events.ts";
import type { Beat, FleetPlugin } from "./protocol.ts";
import type { RemoteOffer } from "./types.ts";

/** A beat a second; a host unheard for 3 s is lost (its calls in flight fail with HOST_LOST). */
export const BEAT_MS = 1000;
export const LOST_AFTER_MS = 3 * BEAT_MS;

interface Peer {
  readonly beat: Beat;
  readonly seenAt: number;
}

export class Peers {
  readonly #peers = new Map<string, Peer>();
  // id@version → its idempotent methods, kept after its host is lost: the retry is decided then.
  readonly #idempotent = new Map<string, readonly string[]>();
  readonly #onLost: (hostId: string) => void;
  readonly #onChange: (hostId: string, change: FleetEvent["change"], offers: readonly string[]) => void;
  #generation = 0;

  constructor(
    onLost: (hostId: string) => void,
    onChange: (hostId: string, change: FleetEvent["change"], offers: readonly string[]) => void,
  ) {
    this.#onLost = onLost;
    this.#onChange = (hostId, change, offers) => {
      this.#generation++;
      onChange(hostId, change, offers);
    };
  }

  /** Moves each time a host joins, leaves, is lost or changes what it offers. */
  get generation(): number {
    return this.#generation;
  }

  /** Every plugin offered, the highest version of each id (for the dependency resolver). */
  manifests(): { id: string; version: string; provides: Readonly<Record<string, string>> }[] {
    const best = new Map<string, FleetPlugin>();
    for (const { beat } of this.#peers.values()) {
      for (const p of beat.plugins) {
        const had = best.get(p.id);
        if (p.offered && (!had || byVersionDesc(p.version, had.version) < 0)) best.set(p.id, p);
      }
    }
    return [...best.values()].map(({ id, version, provides }) => ({ id, version, provides }));
  }

  /** Takes a beat in; a `gone` one forgets the host at once. */
  apply(beat: Beat, now: number): void {
    if (beat.gone) return this.#lose(beat.hostId, "left");
    const before = this.#peers.get(beat.hostId);
    this.#peers.set(beat.hostId, { beat, seenAt: now });
    const offers = offerList(beat);
    if (!before) this.#onChange(beat.hostId, "joined", offers);
    else if (offerList(before.beat).join() !== offers.join()) this.#onChange(beat.hostId, "offers", offers);
    for (const p of beat.plugins) {
      if (p.offered && this.#idempotent.size < 10_000) {
        this.#idempotent.set(`${p.id}@${p.version}`, p.idempotent);
      }
    }
  }

  /** Forgets the hosts unheard for LOST_AFTER_MS. */
  sweep(now: number): void {
    for (const [id, p] of this.#peers) if (now - p.seenAt > LOST_AFTER_MS) this.#lose(id, "lost");
  }

  #lose(hostId: string, change: "left" | "lost"): void {
    if (!this.#peers.delete(hostId)) return;
    this.#onLost(hostId);
    this.#onChange(hostId, change, []);
  }

  /** The live hosts' beats. */
  beats(): Beat[] {
    return [...this.#peers.values()].map((p) => p.beat);
  }

  /**
   * The offer of `name` in the highest version every range accepts; among hosts offering that plugin in that
   * version, the one `load` ranks lowest (fewest calls in flight from here). `except` skips a host.
   */
  find(
    name: string,
    ranges: readonly string[],
    load: (hostId: string) => number,
    except?: string,
  ): RemoteOffer | undefined {
    let best: { offer: RemoteOffer; load: number } | undefined;
    for (const [hostId, { beat }] of this.#peers) {
      if (hostId === except) continue;
      for (const p of beat.plugins) {
        const version = offered(p, name);
        if (version === undefined || !ranges.every((r) => satisfiesRange(version, r))) continue;
        const order = best ? byVersionDesc(version, best.offer.version) : -1;
        const l = load(hostId);
        if (
          order < 0 || (order === 0 && (l < best!.load || (l === best!.load && hostId < best!.offer.hostId)))
        ) {
          best = { offer: { hostId, id: p.id, version, provides: p.provides }, load: l };
        }
      }
    }
    return best?.offer;
  }

  /** Whether `method` of plugin `id` in `version` is listed as idempotent (by the last beat offering it). */
  idempotent(id: string, version: string, method: string): boolean {
    return this.#idempotent.get(`${id}@${version}`)?.includes(method) ?? false;
  }
}

const offerList = (beat: Beat): string[] =>
  beat.plugins.filter((p) => p.offered).map((p) => `${p.id}@${p.version}`).sort();

function offered(p: FleetPlugin, name: string): string | undefined {
  if (!p.offered) return undefined;
  if (p.id === name) return p.version;
  return Object.hasOwn(p.provides, name) ? p.provides[name] : undefined;
}
