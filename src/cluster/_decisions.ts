// The fleet's decisions on held versions (`approve ID --cluster URL`): one key per id@version in the fleet's
// key-value store, watched by every host. A host applies a decision to the version its gate holds, whether the
// decision came before the version was held here (it is applied when the reload holds it) or after.
import { getLogger } from "../_npm/logtape.ts";
import { type KV, Kvm, type NatsConnection } from "../_npm/nats.ts";
import { buckets, type Decision, decisionKey, FLEET_PROTOCOL, parseDecision } from "./protocol.ts";
import type { FleetApprovals } from "./types.ts";

const log = getLogger(["dotcompute", "cluster", "approvals"]);

/** Opens fleet `name`'s key-value store (creating it when it is not there yet). */
export async function openStateStore(nc: NatsConnection, name: string): Promise<KV> {
  return await new Kvm(nc).create(buckets(name).state);
}

/** Records `action` on `id`@`version` for every host of the fleet. */
export async function decide(
  kv: KV,
  id: string,
  version: string,
  action: Decision["action"],
): Promise<Decision> {
  const decision: Decision = { v: FLEET_PROTOCOL, id, version, action, at: Date.now() };
  await kv.put(decisionKey(id, version), JSON.stringify(decision));
  return decision;
}

/** Applies the fleet's decisions to this host's gate, now and as they come. */
export class FleetDecisions implements AsyncDisposable {
  readonly #decisions = new Map<string, Decision>();
  readonly #gate: FleetApprovals;
  readonly #unlisten: () => void;
  #stop: (() => void) | undefined;

  constructor(gate: FleetApprovals) {
    this.#gate = gate;
    this.#unlisten = gate.onHeld((id, version) => this.#apply(id, version));
  }

  /** Reads the decisions there are and follows new ones. */
  async start(kv: KV): Promise<void> {
    const watch = await kv.watch({ key: "approval.>" });
    this.#stop = () => watch.stop();
    void (async () => {
      for await (const entry of watch) {
        if (entry.operation !== "PUT") continue;
        let d: Decision;
        try {
          d = parseDecision(JSON.parse(entry.string()));
        } catch (e) {
          log.warn("a malformed decision in the fleet's store was ignored ({key}): {error}", {
            key: entry.key,
            error: e instanceof Error ? e.message : String(e),
          });
          continue;
        }
        if (entry.key !== decisionKey(d.id, d.version)) continue; // filed under another version's key
        this.#decisions.set(`${d.id}@${d.version}`, d);
        this.#apply(d.id, d.version);
      }
    })();
  }

  #apply(id: string, version: string): void {
    const d = this.#decisions.get(`${id}@${version}`);
    if (!d || this.#gate.pending(id)?.toVersion !== version) return;
    log.info("the fleet {action} {id} {version}", { ...d });
    const done = d.action === "approved"
      ? this.#gate.approve(id)
      : Promise.resolve().then(() => this.#gate.reject(id));
    done.catch((e) => log.error("the fleet's decision on {id}: {error}", { id, error: String(e) }));
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.#unlisten();
    this.#stop?.();
    return Promise.resolve();
  }
}
