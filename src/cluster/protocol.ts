/**
 * Every message hosts of a fleet send each other over NATS, declared once (as src/rpc/protocol.ts is for a
 * host and its plugins), with the checks the receiving side runs on it: whatever arrives from NATS is
 * untrusted input. Subjects are under `dc.<Name>.`: `beat` (every host's offers, once a second and on each
 * change) and `call.<hostId>` (requests to one host, answered on the request's inbox).
 *
 * @module
 */

import { PluginHostError } from "../errors.ts";
import type { SerializedError } from "../rpc/protocol.ts";

/** The version of these shapes; a message of another version is refused. */
export const FLEET_PROTOCOL = 1;

/** What a host offers of one plugin, in its beat. */
export interface FleetPlugin {
  readonly id: string;
  readonly version: string;
  /** Its state on that host (`Running`, `Loaded`, `Failed`...). */
  readonly state: string;
  /** Whether the fleet may call it: it declares `Clusterable` and is Running (or starts on need). */
  readonly offered: boolean;
  /** Its `provides` (capability → version), when offered. */
  readonly provides: Readonly<Record<string, string>>;
  /** Its manifest's `idempotent` methods, when offered: retried once on another host when theirs is lost. */
  readonly idempotent: readonly string[];
}

/** A host's beat: who it is and what it runs. `gone` says it is leaving (its last beat). */
export interface Beat {
  readonly v: typeof FLEET_PROTOCOL;
  readonly hostId: string;
  /** Counts up with each beat of one run of the host. */
  readonly seq: number;
  readonly plugins: readonly FleetPlugin[];
  readonly gone?: true;
}

/** A call from one host to a plugin on another. */
export interface CallRequest {
  readonly v: typeof FLEET_PROTOCOL;
  /** The calling host. */
  readonly caller: string;
  /** The plugin on the host called. */
  readonly plugin: string;
  readonly method: string;
  readonly args: readonly unknown[];
  /** How long the caller waits; the host called stops the call after that long. */
  readonly timeoutMs: number;
}

/** The answer to a {@linkcode CallRequest}. */
export type CallReply =
  | { readonly v: typeof FLEET_PROTOCOL; readonly ok: true; readonly value: unknown }
  | { readonly v: typeof FLEET_PROTOCOL; readonly ok: false; readonly error: SerializedError };

/** The most plugins one beat may list, and the longest id, version or method name accepted. */
export const LIMITS = { plugins: 10_000, name: 256, provides: 256, args: 10_000 } as const;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const bad = (what: string, field: string, why: string): never => {
  throw new PluginHostError("PROTOCOL_ERROR", `a fleet ${what}: "${field}" ${why}`);
};
const name = (what: string, field: string, v: unknown): string =>
  typeof v === "string" && v.length > 0 && v.length <= LIMITS.name
    ? v
    : bad(what, field, `must be a string of 1 to ${LIMITS.name} characters`);
const version = (what: string, v: unknown): void => {
  if (v !== FLEET_PROTOCOL) {
    bad(what, "v", `must be ${FLEET_PROTOCOL} (this host speaks version ${FLEET_PROTOCOL})`);
  }
};

/** Checks a decoded beat, field by field. */
export function parseBeat(v: unknown): Beat {
  if (!isObject(v)) return bad("beat", "(root)", "must be an object");
  version("beat", v.v);
  name("beat", "hostId", v.hostId);
  if (!Number.isSafeInteger(v.seq)) bad("beat", "seq", "must be an integer");
  if (v.gone !== undefined && v.gone !== true) bad("beat", "gone", "must be true when present");
  if (!Array.isArray(v.plugins) || v.plugins.length > LIMITS.plugins) {
    bad("beat", "plugins", `must be an array of at most ${LIMITS.plugins}`);
  }
  (v.plugins as unknown[]).forEach((p, i) => {
    const at = `plugins.${i}`;
    if (!isObject(p)) return bad("beat", at, "must be an object");
    for (const key of ["id", "version", "state"]) name("beat", `${at}.${key}`, p[key]);
    if (typeof p.offered !== "boolean") bad("beat", `${at}.offered`, "must be true or false");
    const provides = p.provides;
    if (!isObject(provides) || Object.keys(provides).length > LIMITS.provides) {
      bad("beat", `${at}.provides`, `must be an object of at most ${LIMITS.provides} names`);
    }
    for (const [k, x] of Object.entries(provides as Record<string, unknown>)) {
      name("beat", `${at}.provides`, k);
      name("beat", `${at}.provides.${k}`, x);
    }
    if (!Array.isArray(p.idempotent) || p.idempotent.length > LIMITS.provides) {
      bad("beat", `${at}.idempotent`, `must be an array of at most ${LIMITS.provides}`);
    }
    (p.idempotent as unknown[]).forEach((m, j) => name("beat", `${at}.idempotent.${j}`, m));
  });
  return v as unknown as Beat;
}

/** Checks a decoded call request, field by field. */
export function parseCallRequest(v: unknown): CallRequest {
  if (!isObject(v)) return bad("call", "(root)", "must be an object");
  version("call", v.v);
  name("call", "caller", v.caller);
  name("call", "plugin", v.plugin);
  name("call", "method", v.method);
  if (!Array.isArray(v.args) || v.args.length > LIMITS.args) {
    bad("call", "args", `must be an array of at most ${LIMITS.args}`);
  }
  const t = v.timeoutMs;
  if (typeof t !== "number" || !(t > 0) || t > 86_400_000) {
    bad("call", "timeoutMs", "must be in (0, 86400000]");
  }
  return v as unknown as CallRequest;
}

/** Checks a decoded call reply. */
export function parseCallReply(v: unknown): CallReply {
  if (!isObject(v)) return bad("reply", "(root)", "must be an object");
  version("reply", v.v);
  if (v.ok === true) return v as unknown as CallReply;
  if (v.ok !== false) return bad("reply", "ok", "must be true or false");
  const e = v.error;
  if (!isObject(e)) return bad("reply", "error", "must be an object");
  name("reply", "error.name", e.name);
  if (typeof e.message !== "string") bad("reply", "error.message", "must be a string");
  if (e.code !== undefined) name("reply", "error.code", e.code);
  if (e.stack !== undefined && typeof e.stack !== "string") bad("reply", "error.stack", "must be a string");
  return v as unknown as CallReply;
}

/** The subjects of fleet `name`: beats, calls to one host, and "who is there" (every host answers its beat). */
export function subjects(
  name: string,
): { readonly beat: string; readonly hosts: string; call(hostId: string): string } {
  return {
    beat: `dc.${name}.beat`,
    hosts: `dc.${name}.hosts`,
    call: (hostId) => `dc.${name}.call.${hostId}`,
  };
}

/**
 * The JetStream buckets of fleet `name`: its bundle store and the messages over max_payload (objects), its
 * shared decisions (key-value).
 */
export function buckets(
  name: string,
): { readonly bundles: string; readonly spill: string; readonly state: string } {
  return { bundles: `dc_${name}_bundles`, spill: `dc_${name}_spill`, state: `dc_${name}_state` };
}

/** An operator's decision on a held version, for every host of the fleet (`approve ID --cluster URL`). */
export interface Decision {
  readonly v: typeof FLEET_PROTOCOL;
  readonly id: string;
  readonly version: string;
  readonly action: "approved" | "rejected";
  readonly at: number;
}

/** The key-value key of the decision on `id`@`version` (base64url: a version's "+" is no key character). */
export function decisionKey(id: string, version: string): string {
  return `approval.${
    new TextEncoder().encode(`${id}@${version}`).toBase64({ alphabet: "base64url", omitPadding: true })
  }`;
}

/** Checks a decision read from the key-value store. */
export function parseDecision(v: unknown): Decision {
  if (!isObject(v)) return bad("decision", "(root)", "must be an object");
  version("decision", v.v);
  name("decision", "id", v.id);
  if (typeof v.version !== "string" || v.version === "" || v.version.length > 256) {
    bad("decision", "version", "must be a version");
  }
  if (v.action !== "approved" && v.action !== "rejected") {
    bad("decision", "action", 'must be "approved" or "rejected"');
  }
  if (typeof v.at !== "number") bad("decision", "at", "must be a number");
  return v as unknown as Decision;
}
