/**
 * The permission-diff gate: a new version of a plugin whose manifest asks for more than the running one's is
 * held, not started, until an operator approves it; the old version keeps running meanwhile.
 *
 * "More" compares manifests, not grants (the `PluginSecurity` entry still narrows whatever is approved): a read
 * or write path not inside one asked for before (reading inside the plugin's own folder is always granted, so
 * never more), an endpoint whose host and port were not asked for (`host` covers every port of it), an
 * environment variable no earlier name or `PREFIX_*` covers.
 *
 * @module
 */

import { getLogger } from "../_npm/logtape.ts";
import { toPath, within } from "../_common/paths.ts";
import { envCovers } from "../permissions/permissions.ts";
import { PluginHostError } from "../errors.ts";
import type { Emitter, HostEventMap } from "../events/events.ts";
import type { ManifestPermissions, PluginManifest } from "../manifest/manifest.ts";
import { parseHostPort } from "../config/_values.ts";
import type { PendingApproval } from "../events/events.ts";
export type { PendingApproval } from "../events/events.ts";

const KINDS = ["read", "write", "net", "env"] as const;
const log = getLogger(["dotcompute", "host", "approvals"]);

const netCovers = (had: string, asked: string): boolean => {
  const a = parseHostPort(had), b = parseHostPort(asked);
  if (!a.ok || !b.ok) return had.trim().toLowerCase() === asked.trim().toLowerCase();
  return a.value.host === b.value.host && (a.value.port === undefined || a.value.port === b.value.port);
};

/**
 * What `after` asks for that `before` did not (entries as `after` writes them); relative paths resolve against
 * `dir`, the plugin folder, which is always readable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { permissionIncrease } from "@dotcompute/plugins";
 * const none = { read: [], write: [], net: [], env: [] };
 * const more = permissionIncrease(
 *   { ...none, read: ["/data"] },
 *   { ...none, read: ["/data/a", "/etc"], env: ["HOME"] },
 *   "/srv/plugins/hello",
 * );
 * // "/data/a" lies inside "/data": only "/etc" and HOME are new.
 * assert.deepEqual(more, { read: ["/etc"], write: [], net: [], env: ["HOME"] });
 * ```
 */
export function permissionIncrease(
  before: ManifestPermissions,
  after: ManifestPermissions,
  dir: string,
): ManifestPermissions {
  const hadRead = [dir, ...before.read.map((p) => toPath(p, dir))];
  const hadWrite = before.write.map((p) => toPath(p, dir));
  return {
    read: after.read.filter((p) => !hadRead.some((h) => within(toPath(p, dir), h))),
    write: after.write.filter((p) => !hadWrite.some((h) => within(toPath(p, dir), h))),
    net: after.net.filter((n) => !before.net.some((h) => netCovers(h, n))),
    env: after.env.filter((e) => !before.env.some((h) => envCovers(h, e))),
  };
}

/**
 * The non-empty kinds of a permission set in words.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describePermissions } from "@dotcompute/plugins";
 * assert.equal(
 *   describePermissions({ read: ["/a", "/b"], write: [], net: ["x.com:443"], env: [] }),
 *   "read: /a, /b; net: x.com:443",
 * );
 * ```
 */
export function describePermissions(p: ManifestPermissions): string {
  return KINDS.filter((k) => p[k].length > 0).map((k) => `${k}: ${p[k].join(", ")}`).join("; ");
}

/** The running plugin as the gate sees it. */
export interface GatedPlugin {
  /** Its id. */
  readonly id: string;
  /** Its folder. */
  readonly dir: string;
  /** The running version's manifest. */
  readonly manifest: PluginManifest;
}

/**
 * Holds new versions that ask for more, and remembers what an operator approved until the plugin reloads.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Emitter, type HostEventMap, parseManifest } from "@dotcompute/plugins";
 * import { ApprovalGate } from "./approvals.ts";
 * const manifest = (version: string, read: string[]) =>
 *   parseManifest(
 *     JSON.stringify({ id: "hello.world", name: "hello", version, permissions: { read } }),
 *     "plugin.jsonc",
 *   );
 * const gate = new ApprovalGate(new Emitter<HostEventMap>());
 * const plugin = { id: "hello.world", dir: "/srv/plugins/hello", manifest: manifest("1.0.0", []) };
 * const next = manifest("1.1.0", ["/etc"]);
 * const held = gate.check(plugin, next); // in the reload path: held → do not start it
 * assert.deepEqual(held?.added.read, ["/etc"]);
 * assert.equal(gate.list().length, 1);
 * gate.approve("hello.world"); // then reload: the approved permissions now pass
 * assert.equal(gate.check(plugin, next), undefined);
 * ```
 */
export class ApprovalGate {
  readonly #pending = new Map<string, PendingApproval>();
  /** Permissions approved per plugin, until a reload of it goes through. */
  readonly #approved = new Map<string, ManifestPermissions>();
  readonly #events: Emitter<HostEventMap>;

  /** Emits `approval` events on `events` and follows its `reload` events. */
  constructor(events: Emitter<HostEventMap>) {
    this.#events = events;
    events.on("reload", (e) => {
      if (e.outcome === "swapped" || e.outcome === "restarted" || e.outcome === "removed") {
        this.#approved.delete(e.id);
      }
      if (e.outcome === "removed") this.#pending.delete(e.id);
    });
  }

  /**
   * Whether `next` may replace `running`: undefined when it asks for nothing more (or only for what was
   * approved), else the pending approval it is now held under (replacing an older one of the same plugin).
   */
  check(running: GatedPlugin, next: PluginManifest): PendingApproval | undefined {
    const added = permissionIncrease(running.manifest.permissions, next.permissions, running.dir);
    const approved = this.#approved.get(running.id);
    const beyond = approved ? permissionIncrease(approved, added, running.dir) : added;
    if (KINDS.every((k) => beyond[k].length === 0)) {
      this.#pending.delete(running.id);
      return undefined;
    }
    const pending: PendingApproval = {
      id: running.id,
      fromVersion: running.manifest.version,
      toVersion: next.version,
      dir: running.dir,
      added,
      requested: next.permissions,
      at: Date.now(),
    };
    this.#pending.set(running.id, pending);
    log.warn("plugin {id} {toVersion} asks for more permissions ({added}); held for approval", {
      ...pending,
      added: describePermissions(added),
    });
    this.#events.emit("approval", { ...pending, action: "requested" });
    return pending;
  }

  /** Every held version, oldest first. */
  list(): PendingApproval[] {
    return [...this.#pending.values()].sort((a, b) => a.at - b.at);
  }

  /** The version of `id` that is held, if any. */
  get(id: string): PendingApproval | undefined {
    return this.#pending.get(id);
  }

  /** Approves the held version of `id`: its permissions pass the gate until the plugin reloads. */
  approve(id: string): PendingApproval {
    const pending = this.#take(id);
    this.#approved.set(id, pending.requested);
    log.info("plugin {id} {toVersion}: more permissions approved", { ...pending });
    this.#events.emit("approval", { ...pending, at: Date.now(), action: "approved" });
    return pending;
  }

  /** Drops the held version of `id`; the running one stays. */
  reject(id: string): PendingApproval {
    const pending = this.#take(id);
    log.info("plugin {id} {toVersion}: more permissions rejected", { ...pending });
    this.#events.emit("approval", { ...pending, at: Date.now(), action: "rejected" });
    return pending;
  }

  /** The error a reload of the held version of `id` answers (code `APPROVAL_REQUIRED`). */
  heldError(id: string): PluginHostError {
    const pending = this.#pending.get(id);
    const what = pending
      ? `${pending.toVersion} asks for more permissions than ${pending.fromVersion} ` +
        `(${describePermissions(pending.added)})`
      : "asks for more permissions than the running version";
    return new PluginHostError(
      "APPROVAL_REQUIRED",
      `Plugin "${id}" ${what}; it is held until approved (POST /plugins/${id}/approve, or the CLI's approve)`,
      { pluginId: id },
    );
  }

  #take(id: string): PendingApproval {
    const pending = this.#pending.get(id);
    if (!pending) {
      throw new PluginHostError(
        "APPROVAL_NOT_FOUND",
        `No version of plugin "${id}" is waiting for approval`,
        {
          pluginId: id,
        },
      );
    }
    this.#pending.delete(id);
    return pending;
  }
}
