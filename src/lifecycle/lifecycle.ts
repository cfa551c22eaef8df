/**
 * The plugin lifecycle: the seed's states plus `Failed`, and the one table of legal transitions.
 *
 * @module
 */

import { PluginHostError } from "../errors.ts";

/**
 * The states a plugin moves through (the seed's, plus `Failed`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PluginState } from "@dotcompute/plugins";
 * const running: PluginState = PluginState.Running;
 * assert.equal(running, "Running"); // each state is its own name
 * ```
 */
export const PluginState = {
  Unknown: "Unknown",
  Loading: "Loading",
  Loaded: "Loaded",
  Initializing: "Initializing",
  Initialized: "Initialized",
  Starting: "Starting",
  Running: "Running",
  Stopping: "Stopping",
  Stopped: "Stopped",
  Unloading: "Unloading",
  Unloaded: "Unloaded",
  Failed: "Failed",
} as const;

/** One of the values of {@linkcode PluginState}. */
export type PluginState = typeof PluginState[keyof typeof PluginState];

/**
 * Every legal move. `Failed` is reachable from every state but `Unloaded` (from `Unknown`: a plugin whose
 * dependencies cannot be met fails without loading); a failed, stopped or unloaded plugin can be loaded again
 * (an operator's start, or a reload).
 */
const TRANSITIONS: Readonly<Record<PluginState, readonly PluginState[]>> = {
  Unknown: ["Loading", "Failed"],
  Loading: ["Loaded", "Failed"],
  Loaded: ["Initializing", "Unloading", "Failed"],
  Initializing: ["Initialized", "Failed"],
  Initialized: ["Starting", "Stopping", "Unloading", "Failed"],
  Starting: ["Running", "Failed"],
  Running: ["Stopping", "Failed"],
  Stopping: ["Stopped", "Failed"],
  Stopped: ["Starting", "Unloading", "Failed"],
  Unloading: ["Unloaded", "Failed"],
  Unloaded: ["Loading"],
  Failed: ["Loading", "Unloading", "Unloaded"],
};

/**
 * Whether `from → to` is a legal move.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canTransition } from "@dotcompute/plugins";
 * assert.equal(canTransition("Running", "Stopping"), true);
 * assert.equal(canTransition("Unknown", "Running"), false);
 * ```
 */
export function canTransition(from: PluginState, to: PluginState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** One move of one plugin, as emitted on the host. */
export interface StateChange {
  /** The plugin that moved. */
  readonly id: string;
  /** The state it left. */
  readonly from: PluginState;
  /** The state it entered. */
  readonly to: PluginState;
  /** When, in ms since the epoch. */
  readonly at: number;
  /** Why, when there is more to say than the move itself (a failure's message, "reload", ...). */
  readonly reason?: string;
}

/**
 * Holds one plugin's state and refuses illegal moves; every move is reported to `onChange`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Lifecycle } from "@dotcompute/plugins";
 * const changes: string[] = [];
 * const life = new Lifecycle("hello.world", (c) => changes.push(`${c.from} → ${c.to}`));
 * life.moveTo("Loading");
 * life.moveTo("Loaded");
 * assert.deepEqual(changes, ["Unknown → Loading", "Loading → Loaded"]);
 * assert.throws(() => life.moveTo("Stopped"), /cannot go from Loaded to Stopped/);
 * ```
 */
export class Lifecycle {
  #state: PluginState = PluginState.Unknown;
  readonly #id: string;
  readonly #onChange: (change: StateChange) => void;
  readonly #history: StateChange[] = [];

  /** Creates a lifecycle in `Unknown` for plugin `id`. */
  constructor(id: string, onChange: (change: StateChange) => void) {
    this.#id = id;
    this.#onChange = onChange;
  }

  /** The current state. */
  get state(): PluginState {
    return this.#state;
  }

  /** The last moves (at most 50), oldest first. */
  get history(): readonly StateChange[] {
    return this.#history;
  }

  /** Moves to `to`, or throws `ILLEGAL_TRANSITION`. */
  moveTo(to: PluginState, reason?: string): StateChange {
    const from = this.#state;
    if (!canTransition(from, to)) {
      throw new PluginHostError(
        "ILLEGAL_TRANSITION",
        `Plugin "${this.#id}" cannot go from ${from} to ${to}`,
        { pluginId: this.#id },
      );
    }
    this.#state = to;
    const change: StateChange = reason === undefined
      ? { id: this.#id, from, to, at: Date.now() }
      : { id: this.#id, from, to, at: Date.now(), reason };
    this.#history.push(change);
    if (this.#history.length > 50) this.#history.shift();
    this.#onChange(change);
    return change;
  }
}
