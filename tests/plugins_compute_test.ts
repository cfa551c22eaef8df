// The compute backend (plugins/compute) in a real host through the test kit, with no permissions at all: CPU
// results against a float64 reference, zero-copy transfers both ways, shape errors with codes, and the WebGPU
// path on whatever adapter the Worker finds (the results must match the same reference).
import assert from "node:assert/strict";
import type { PluginHandle } from "../mod.ts";
import { testPlugin } from "../src/testing/testing.ts";
import type compute from "../plugins/compute/mod.ts";

const dir = new URL("../plugins/compute", import.meta.url);

/** Deterministic pseudo-random floats in [-1, 1) (a 32-bit LCG), so failures reproduce. */
function randoms(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** The textbook triple loop in float64: the reference every backend is held to. */
function referenceMatmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): number[] {
  const c: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
      c.push(s);
    }
  }
  return c;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (err > tolerance) assert.fail(`element ${i}: ${actual[i]} vs ${expected[i]} (off by ${err})`);
  }
}

Deno.test("compute (cpu): vector ops, reductions and matmul match a float64 reference", async () => {
  await using p = await testPlugin<typeof compute>(dir, { settings: { backend: "cpu" } });
  const info = await p.call("info");
  assert.equal(info.backend, "cpu");
  assert.match(info.reason, /"cpu"/);

  const a = randoms(1000, 1), b = randoms(1000, 2);
  const [ra, rb] = [[...a], [...b]];
  const sum = await p.call("add", a.slice(), b.slice());
  assertClose(sum, ra.map((x, i) => Math.fround(x + rb[i])), 0);
  const scaled = await p.call("scale", a.slice(), 3);
  assertClose(scaled, ra.map((x) => Math.fround(x * 3)), 0);
  assertClose([await p.call("dot", a.slice(), b.slice())], [ra.reduce((s, x, i) => s + x * rb[i], 0)], 1e-9);
  assertClose([await p.call("sum", a.slice())], [ra.reduce((s, x) => s + x, 0)], 1e-9);
  assert.equal(await p.call("min", a.slice()), Math.min(...ra));
  assert.equal(await p.call("max", a.slice()), Math.max(...ra));
  assertClose([await p.call("mean", a.slice())], [ra.reduce((s, x) => s + x, 0) / ra.length], 1e-12);
  assert.equal(await p.call("reduce", new Float32Array([2, 4]), "mean"), 3);

  for (const [m, k, n] of [[1, 1, 1], [3, 5, 2], [17, 33, 9], [64, 64, 64]]) {
    const x = randoms(m * k, m), y = randoms(k * n, n);
    const c = await p.call("matmul", x.slice(), y.slice(), { m, k, n });
    assert.ok(c instanceof Float32Array);
    assertClose(c, referenceMatmul(x, y, m, k, n).map(Math.fround), 1e-6 * k);
  }
  assert.ok(p.metrics().calls >= 13);
});

Deno.test("compute: arrays travel without a copy both ways; results come back in the same buffer", async () => {
  await using p = await testPlugin<typeof compute>(dir, { settings: { backend: "cpu" } });
  const a = new Float32Array([1, 2, 3]);
  const buffer = a.buffer;
  const out = await p.call("scale", a, 2);
  assert.equal(buffer.detached, true, "the caller's buffer moved to the plugin");
  assert.deepEqual([...out], [2, 4, 6]);
  assert.equal(out.byteLength, 12);
});

Deno.test("compute: bad shapes and types are refused with INVALID_ARGUMENT and a clear message", async () => {
  await using p = await testPlugin<typeof compute>(dir, { settings: { backend: "cpu" } });
  const f = (n: number): Float32Array => new Float32Array(n);
  await assert.rejects(p.call("add", f(3), f(4)), {
    name: "RangeError",
    code: "INVALID_ARGUMENT",
    message: "a and b differ in length: 3 and 4",
  });
  await assert.rejects(p.call("matmul", f(6), f(6), { m: 2, k: 3, n: 3 }), {
    code: "INVALID_ARGUMENT",
    message: "b has 6 elements; a 3×3 matrix has 9",
  });
  await assert.rejects(
    p.call("matmul", f(6), f(6), { m: 2, k: 0, n: 3 }),
    /dims\.k must be a whole number ≥ 1/,
  );
  // A caller that ignores the types (an untyped handle, the admin API) is still refused at run time.
  const untyped: PluginHandle = p.handle;
  await assert.rejects(untyped.call("dot", [1, 2], [3, 4]), {
    name: "TypeError",
    code: "INVALID_ARGUMENT",
    message: "a must be a Float32Array, got Array",
  });
  await assert.rejects(p.call("min", f(0)), /min of an empty array/);
  await assert.rejects(untyped.call("reduce", f(1), "median"), /op must be one of sum, min, max, mean/);
  assert.equal(p.state, "Running", "a refused call leaves the plugin serving");
});

Deno.test("compute: bad settings fail the plugin alone, naming the setting", async () => {
  await using p = await testPlugin(dir, { settings: { backend: "tpu" }, expectRunning: false });
  assert.equal(p.state, "Failed");
  assert.match(p.handle.lastError?.message ?? "", /"backend" must be one of auto, cpu, webgpu, got "tpu"/);
});

Deno.test("compute (webgpu): on the Worker's adapter matmul, add and scale match the reference", async () => {
  // "webgpu" takes any adapter, a software one too; with none, the plugin must refuse to start and say why.
  await using p = await testPlugin<typeof compute>(dir, {
    settings: { backend: "webgpu", gpuMinElements: 0 },
    permissions: { gpu: true },
    expectRunning: false,
  });
  if (p.state !== "Running") {
    assert.match(p.handle.lastError?.message ?? "", /"webgpu" but this Worker has no WebGPU adapter/);
    console.warn("no WebGPU adapter in the Worker: checked that the plugin refuses to start");
    await using auto = await testPlugin<typeof compute>(dir, { permissions: { gpu: true } });
    assert.equal((await auto.call("info")).reason, "no call has needed the GPU yet");
    await auto.call("add", new Float32Array(8192), new Float32Array(8192)); // big enough: probes
    assert.deepEqual(await auto.call("info"), {
      backend: "cpu",
      reason: "no WebGPU adapter",
      gpuOps: [],
      gpuDispatches: 0,
    });
    return;
  }
  const info = await p.call("info");
  assert.equal(info.backend, "webgpu");
  assert.deepEqual(info.gpuOps, ["add", "scale", "matmul"]);
  for (const [m, k, n] of [[1, 1, 1], [9, 13, 7], [64, 32, 48]]) {
    const x = randoms(m * k, k), y = randoms(k * n, m);
    assertClose(
      await p.call("matmul", x.slice(), y.slice(), { m, k, n }),
      referenceMatmul(x, y, m, k, n),
      1e-5 * k,
    );
  }
  const a = randoms(70_000, 5), b = randoms(70_000, 6);
  assertClose(await p.call("add", a.slice(), b.slice()), [...a].map((x, i) => Math.fround(x + b[i])), 0);
  assertClose(await p.call("scale", a.slice(), -2), [...a].map((x) => Math.fround(x * -2)), 0);
  assert.equal((await p.call("info")).gpuDispatches, 5, "the work went to the GPU");

  // "auto" looks for an adapter only when a call is big enough for it (asking loads the driver into the host
  // process); then it uses a hardware adapter and passes over a software one (slower than the CPU path here).
  await using auto = await testPlugin<typeof compute>(dir, { permissions: { gpu: true } });
  assert.deepEqual(await auto.call("info"), {
    backend: "cpu",
    reason: "no call has needed the GPU yet",
    gpuOps: [],
    gpuDispatches: 0,
  });
  await auto.call("add", new Float32Array(8192), new Float32Array(8192));
  const chosen = await auto.call("info");
  assert.equal(chosen.adapter, info.adapter);
  assert.equal(chosen.backend, /software/.test(chosen.reason) ? "cpu" : "webgpu");
});

Deno.test("compute: without AllowGpu it never sees WebGPU; webgpu refuses to start and says which key", async () => {
  await using refused = await testPlugin<typeof compute>(dir, {
    settings: { backend: "webgpu" },
    expectRunning: false,
  });
  assert.equal(refused.state, "Failed");
  assert.match(
    refused.handle.lastError?.message ?? "",
    /WebGPU is not granted: PluginSecurity AllowGpu is false/,
  );
  await using auto = await testPlugin<typeof compute>(dir);
  await auto.call("add", new Float32Array(8192), new Float32Array(8192)); // big enough to look for a GPU
  assert.deepEqual(await auto.call("info"), {
    backend: "cpu",
    reason: "WebGPU not granted (PluginSecurity AllowGpu)",
    gpuOps: [],
    gpuDispatches: 0,
  });
});
