// The lifecycle state machine: the legal path, every illegal move refused, events, bounded history.
import assert from "node:assert/strict";
import { canTransition, Lifecycle, PluginHostError, PluginState, type StateChange } from "../mod.ts";

const ALL: readonly PluginState[] = [
  "Unknown",
  "Loading",
  "Loaded",
  "Initializing",
  "Initialized",
  "Starting",
  "Running",
  "Stopping",
  "Stopped",
  "Unloading",
  "Unloaded",
  "Failed",
];

// The expected table, written out independently of src/lifecycle/lifecycle.ts: every legal `from → to`, nothing else.
const LEGAL: Readonly<Record<PluginState, readonly PluginState[]>> = {
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

// A legal walk from Unknown to each state, used to put a fresh lifecycle into that state.
const PATH_TO: Readonly<Record<PluginState, readonly PluginState[]>> = {
  Unknown: [],
  Loading: ["Loading"],
  Loaded: ["Loading", "Loaded"],
  Initializing: ["Loading", "Loaded", "Initializing"],
  Initialized: ["Loading", "Loaded", "Initializing", "Initialized"],
  Starting: ["Loading", "Loaded", "Initializing", "Initialized", "Starting"],
  Running: ["Loading", "Loaded", "Initializing", "Initialized", "Starting", "Running"],
  Stopping: ["Loading", "Loaded", "Initializing", "Initialized", "Starting", "Running", "Stopping"],
  Stopped: ["Loading", "Loaded", "Initializing", "Initialized", "Starting", "Running", "Stopping", "Stopped"],
  Unloading: [
    "Loading",
    "Loaded",
    "Initializing",
    "Initialized",
    "Starting",
    "Running",
    "Stopping",
    "Stopped",
    "Unloading",
  ],
  Unloaded: [
    "Loading",
    "Loaded",
    "Initializing",
    "Initialized",
    "Starting",
    "Running",
    "Stopping",
    "Stopped",
    "Unloading",
    "Unloaded",
  ],
  Failed: ["Loading", "Failed"],
};

function lifecycleIn(state: PluginState): { life: Lifecycle; changes: StateChange[] } {
  const changes: StateChange[] = [];
  const life = new Lifecycle("p.test", (c) => changes.push(c));
  for (const s of PATH_TO[state]) life.moveTo(s);
  assert.equal(life.state, state);
  return { life, changes };
}

Deno.test("PluginState has exactly the seed's states plus Failed", () => {
  assert.deepEqual(Object.keys(PluginState).sort(), [...ALL].sort());
  for (const s of ALL) assert.equal(PluginState[s], s);
});

Deno.test("the full legal path Unknown → … → Running → … → Unloaded emits one event per move", () => {
  const changes: StateChange[] = [];
  const life = new Lifecycle("hello.world", (c) => changes.push(c));
  assert.equal(life.state, "Unknown");
  assert.deepEqual(life.history, []);
  const path = PATH_TO.Unloaded;
  let previous: PluginState = "Unknown";
  for (const to of path) {
    const change = life.moveTo(to);
    assert.equal(life.state, to);
    assert.equal(change.id, "hello.world");
    assert.equal(change.from, previous);
    assert.equal(change.to, to);
    assert.equal(changes.at(-1), change, "the returned change is the one emitted");
    previous = to;
  }
  assert.ok(path.includes("Running"));
  assert.equal(life.state, "Unloaded");
  assert.deepEqual(changes.map((c) => `${c.from}>${c.to}`), [
    "Unknown>Loading",
    "Loading>Loaded",
    "Loaded>Initializing",
    "Initializing>Initialized",
    "Initialized>Starting",
    "Starting>Running",
    "Running>Stopping",
    "Stopping>Stopped",
    "Stopped>Unloading",
    "Unloading>Unloaded",
  ]);
  assert.deepEqual([...life.history], changes);
  // And an unloaded plugin can be loaded again.
  life.moveTo("Loading");
  assert.equal(life.state, "Loading");
});

Deno.test("canTransition matches the expected table on all 12×12 pairs", () => {
  let legal = 0;
  for (const from of ALL) {
    for (const to of ALL) {
      const expected = LEGAL[from].includes(to);
      if (expected) legal++;
      assert.equal(canTransition(from, to), expected, `${from} → ${to}`);
    }
  }
  assert.equal(legal, 28);
});

Deno.test("moveTo performs every legal move and refuses every illegal one with ILLEGAL_TRANSITION", () => {
  let refused = 0;
  for (const from of ALL) {
    for (const to of ALL) {
      const { life, changes } = lifecycleIn(from);
      const before = changes.length;
      const historyBefore = life.history.length;
      if (LEGAL[from].includes(to)) {
        const change = life.moveTo(to, "why");
        assert.equal(life.state, to, `${from} → ${to}`);
        assert.equal(changes.length, before + 1);
        assert.deepEqual({ ...change, at: 0 }, { id: "p.test", from, to, at: 0, reason: "why" });
      } else {
        refused++;
        assert.throws(
          () => life.moveTo(to),
          (e: unknown) => {
            assert.ok(e instanceof PluginHostError, `${from} → ${to}: ${e}`);
            assert.equal(e.code, "ILLEGAL_TRANSITION");
            assert.equal(e.pluginId, "p.test");
            assert.ok(e.message.includes(from) && e.message.includes(to), e.message);
            return true;
          },
          `${from} → ${to} must be refused`,
        );
        assert.equal(life.state, from, "a refused move leaves the state alone");
        assert.equal(changes.length, before, "a refused move emits nothing");
        assert.equal(life.history.length, historyBefore, "a refused move is not in the history");
      }
    }
  }
  assert.equal(refused, 144 - 28);
});

Deno.test("Failed is reachable from every state but Unloaded and Failed itself", () => {
  for (const from of ALL) {
    assert.equal(canTransition(from, "Failed"), !["Unloaded", "Failed"].includes(from), from);
  }
  assert.equal(canTransition("Failed", "Failed"), false);
});

Deno.test("events carry from, to, at and the reason only when one is given", () => {
  const changes: StateChange[] = [];
  const life = new Lifecycle("x", (c) => changes.push(c));
  const t0 = Date.now();
  life.moveTo("Loading");
  life.moveTo("Failed", "its module failed to load: boom");
  life.moveTo("Loading", "reload");
  const t1 = Date.now();
  assert.equal(changes.length, 3);
  assert.equal("reason" in changes[0], false, "no reason key when none was given");
  assert.equal(changes[1].reason, "its module failed to load: boom");
  assert.equal(changes[1].from, "Loading");
  assert.equal(changes[1].to, "Failed");
  assert.equal(changes[2].reason, "reload");
  for (const c of changes) {
    assert.equal(c.id, "x");
    assert.equal(typeof c.at, "number");
    assert.ok(c.at >= t0 && c.at <= t1, `${c.at} within [${t0}, ${t1}]`);
  }
});

Deno.test("a listener sees the new state already in place", () => {
  const seen: PluginState[] = [];
  const life: Lifecycle = new Lifecycle("x", () => seen.push(life.state));
  life.moveTo("Loading");
  life.moveTo("Loaded");
  assert.deepEqual(seen, ["Loading", "Loaded"]);
});

Deno.test("the history keeps the last 50 moves, oldest first", () => {
  const life = new Lifecycle("loop", () => {});
  life.moveTo("Loading");
  // 1 + 2 × 60 = 121 moves in all: Loading ⇄ Failed.
  for (let i = 0; i < 60; i++) {
    life.moveTo("Failed", `fail ${i}`);
    life.moveTo("Loading", `retry ${i}`);
  }
  const h = life.history;
  assert.equal(h.length, 50);
  // The last move (the 121st) is "retry 59"; the 50 kept are moves 72..121, starting at "fail 35".
  assert.equal(h.at(-1)!.reason, "retry 59");
  assert.equal(h[0].reason, "fail 35");
  assert.equal(h[1].reason, "retry 35");
  for (let i = 1; i < h.length; i++) {
    assert.equal(h[i].from, h[i - 1].to, "consecutive moves chain");
    assert.ok(h[i].at >= h[i - 1].at);
  }
});
