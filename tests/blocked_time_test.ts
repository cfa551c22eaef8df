import assert from "node:assert/strict";
import { BlockedTime } from "../src/runtime/_blocked.ts";

Deno.test("BlockedTime: a tick handled late adds its lateness", () => {
  const b = new BlockedTime();
  b.tick(1000, 1000.2);
  b.tick(2000, 2300);
  assert.ok(Math.abs(b.take() - 300.2) < 1e-9);
  assert.equal(b.take(), 0);
});

Deno.test("BlockedTime: ticks queued behind one block count the block once", () => {
  const b = new BlockedTime();
  // Sent at 1000, 2000 and 3000; the loop was blocked from 1000 to 3500, so all three are handled at 3500.
  for (const sent of [1000, 2000, 3000]) b.tick(sent, 3500);
  assert.equal(b.take(), 2500); // not 2500 + 1500 + 500
});

Deno.test("BlockedTime: nonsense from a scribbled tick adds nothing", () => {
  const b = new BlockedTime();
  b.tick(Number.NaN, 5000);
  b.tick(9000, 8000); // handled before it was sent: a clock step, not a block
  assert.equal(b.take(), 0);
});
