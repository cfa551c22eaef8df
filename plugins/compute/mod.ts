// The compute backend. Arrays arrive transferred (the caller's buffer moves here, no copy) and results go back
// the same way: add and scale write into their first argument and return it. Bad shapes are refused with a
// RangeError or TypeError whose `code` is "INVALID_ARGUMENT"; the host's caller receives both.
import { definePlugin, type PluginContext } from "@dotcompute/plugins/plugin";
import * as cpu from "./cpu.ts";
import { type GpuInfo, GpuKernels } from "./gpu.ts";

/** Which backend serves the calls, and why. */
export interface BackendInfo {
  readonly backend: "webgpu" | "cpu";
  readonly reason: string;
  /** The adapter found, if any (also when it is not used). */
  readonly adapter?: string;
  /** The operations that run on the GPU when `backend` is "webgpu" (the others run on the CPU). */
  readonly gpuOps: readonly string[];
  /** Calls served on the GPU so far (also the `gpu_dispatches` counter of the plugin's metrics). */
  readonly gpuDispatches: number;
}

/** Shape of a matrix product: A is m×k, B is k×n, row-major. */
export interface MatmulDims {
  readonly m: number;
  readonly k: number;
  readonly n: number;
}

type Reduction = keyof typeof cpu.REDUCTIONS;
const BACKENDS = ["auto", "cpu", "webgpu"];

let gpu: GpuKernels | undefined;
let info: Omit<BackendInfo, "gpuDispatches"> = { backend: "cpu", reason: "not initialized", gpuOps: [] };
/** "auto" looks for an adapter at the first call big enough for the GPU, not at start: see chooseBackend. */
let lazy = false;
let probe: Promise<void> | undefined;
let gpuDispatches = 0;
let gpuMinElements = 4096;
let ctx: PluginContext;

function invalid(message: string, Kind: ErrorConstructor = RangeError): Error {
  return Object.assign(new Kind(message), { code: "INVALID_ARGUMENT" });
}

function vector(x: unknown, name: string): Float32Array {
  if (!(x instanceof Float32Array)) {
    throw invalid(`${name} must be a Float32Array, got ${x?.constructor?.name ?? typeof x}`, TypeError);
  }
  return x;
}

function sameLength(a: Float32Array, b: Float32Array): void {
  if (a.length !== b.length) throw invalid(`a and b differ in length: ${a.length} and ${b.length}`);
}

async function onGpu(elements: number): Promise<GpuKernels | undefined> {
  if (elements < gpuMinElements) return undefined;
  if (lazy) await (probe ??= chooseBackend("detect"));
  if (!gpu || elements > gpu.maxElements) return undefined;
  gpuDispatches++;
  ctx.metrics.counter("gpu_dispatches").add();
  return gpu;
}

async function chooseBackend(backend: string): Promise<void> {
  if (backend === "cpu") {
    info = { backend: "cpu", reason: 'settings.backend is "cpu"', gpuOps: [] };
    return;
  }
  if (backend === "auto") {
    // Asking for an adapter loads the GPU driver into the host process, and Mesa's (the software one here)
    // made the process crash now and then as it exited (measured: 4 of 40 `run` + SIGTERM cycles, 0 of 40 with
    // "cpu"). So "auto" asks only when a call could use it: a host that never computes never loads a driver.
    info = { backend: "cpu", reason: "no call has needed the GPU yet", gpuOps: [] };
    lazy = true;
    return;
  }
  // The host shows navigator.gpu only to a plugin granted it (PluginSecurity AllowGpu).
  if ((navigator as { gpu?: unknown }).gpu === undefined) {
    if (backend === "webgpu") {
      throw new Error(
        'settings.backend is "webgpu" but WebGPU is not granted: PluginSecurity AllowGpu is false',
      );
    }
    info = { backend: "cpu", reason: "WebGPU not granted (PluginSecurity AllowGpu)", gpuOps: [] };
    return;
  }
  const found: { info?: GpuInfo; kernels?: GpuKernels } = await GpuKernels.open(backend === "webgpu").catch(
    (e) => {
      ctx.log.warn("WebGPU failed to open: {message}", { message: String(e?.message ?? e) });
      return {};
    },
  );
  const adapter = found.info?.adapter;
  if (found.kernels) {
    gpu = found.kernels;
    info = { backend: "webgpu", reason: `adapter ${adapter}`, adapter, gpuOps: ["add", "scale", "matmul"] };
  } else if (adapter) {
    info = { backend: "cpu", reason: `only a software adapter (${adapter})`, adapter, gpuOps: [] };
  } else if (backend === "webgpu") {
    throw new Error('settings.backend is "webgpu" but this Worker has no WebGPU adapter');
  } else {
    info = { backend: "cpu", reason: "no WebGPU adapter", gpuOps: [] };
  }
}

const plugin = definePlugin({
  validateSettings(settings: Readonly<Record<string, unknown>>): string[] {
    const problems: string[] = [];
    if (!BACKENDS.includes(String(settings.backend))) {
      problems.push(
        `"backend" must be one of ${BACKENDS.join(", ")}, got ${JSON.stringify(settings.backend)}`,
      );
    }
    const min = settings.gpuMinElements;
    if (!Number.isSafeInteger(min) || (min as number) < 0) {
      problems.push(`"gpuMinElements" must be a whole number ≥ 0, got ${JSON.stringify(min)}`);
    }
    return problems;
  },
  async initialize(c: PluginContext): Promise<void> {
    ctx = c;
    gpuMinElements = Number(c.settings.gpuMinElements ?? gpuMinElements);
    await chooseBackend(String(c.settings.backend ?? "auto"));
    c.log.info("compute backend: {backend} ({reason})", { ...info });
  },
  configure(settings: Readonly<Record<string, unknown>>): void {
    gpuMinElements = Number(settings.gpuMinElements ?? gpuMinElements);
  },
  stop(): void {
    gpu?.dispose();
    gpu = undefined;
    info = { ...info, backend: "cpu", reason: "stopped", gpuOps: [] };
  },
  health() {
    return { status: "healthy" as const, details: { backend: info.backend } };
  },
  methods: {
    /** Which backend serves the calls, and why. */
    info(): BackendInfo {
      return { ...info, gpuDispatches };
    },
    /** a + b element-wise, written into a (returned, transferred back). */
    async add(a: Float32Array, b: Float32Array): Promise<Float32Array> {
      sameLength(vector(a, "a"), vector(b, "b"));
      return await (await onGpu(a.length))?.elementwise(0, a, b) ?? cpu.addInPlace(a, b);
    },
    /** a · factor element-wise, written into a (returned, transferred back). */
    async scale(a: Float32Array, factor: number): Promise<Float32Array> {
      vector(a, "a");
      if (typeof factor !== "number" || !Number.isFinite(factor)) {
        throw invalid("factor must be a finite number");
      }
      return await (await onGpu(a.length))?.elementwise(1, a, undefined, factor) ??
        cpu.scaleInPlace(a, factor);
    },
    /** Σ a[i]·b[i]. */
    dot(a: Float32Array, b: Float32Array): number {
      sameLength(vector(a, "a"), vector(b, "b"));
      return cpu.dot(a, b);
    },
    /** One reduction: "sum", "min", "max" or "mean" (min, max and mean of an empty array are refused). */
    reduce(a: Float32Array, op: Reduction): number {
      vector(a, "a");
      if (!Object.hasOwn(cpu.REDUCTIONS, op)) {
        throw invalid(
          `op must be one of ${Object.keys(cpu.REDUCTIONS).join(", ")}, got ${JSON.stringify(op)}`,
        );
      }
      if (a.length === 0 && op !== "sum") throw invalid(`${op} of an empty array`);
      return cpu.REDUCTIONS[op](a);
    },
    sum(a: Float32Array): number {
      return plugin.methods.reduce(a, "sum");
    },
    min(a: Float32Array): number {
      return plugin.methods.reduce(a, "min");
    },
    max(a: Float32Array): number {
      return plugin.methods.reduce(a, "max");
    },
    mean(a: Float32Array): number {
      return plugin.methods.reduce(a, "mean");
    },
    /** C = A·B, A m×k and B k×n row-major; C is a new m×n Float32Array (transferred). */
    async matmul(a: Float32Array, b: Float32Array, dims: MatmulDims): Promise<Float32Array> {
      vector(a, "a");
      vector(b, "b");
      const { m, k, n } = dims ?? {};
      for (const [name, v] of [["m", m], ["k", k], ["n", n]] as const) {
        if (!Number.isSafeInteger(v) || v < 1) {
          throw invalid(`dims.${name} must be a whole number ≥ 1, got ${v}`);
        }
      }
      if (a.length !== m * k) throw invalid(`a has ${a.length} elements; an ${m}×${k} matrix has ${m * k}`);
      if (b.length !== k * n) throw invalid(`b has ${b.length} elements; a ${k}×${n} matrix has ${k * n}`);
      const big = Math.max(a.length, b.length, m * n);
      return await (await onGpu(big))?.matmul(a, b, m, k, n) ?? cpu.matmul(a, b, m, k, n);
    },
  },
});

export default plugin;
