// The WebGPU kernels: matrix multiply and the element-wise ops in WGSL. Used only when the Worker finds an
// adapter (`navigator.gpu?.requestAdapter()`); everything else stays on the CPU.

const MATMUL = /* wgsl */ `
struct Dims { m: u32, k: u32, n: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x >= d.m || id.y >= d.n) { return; }
  var acc = 0.0;
  for (var p = 0u; p < d.k; p++) { acc += a[id.x * d.k + p] * b[p * d.n + id.y]; }
  c[id.x * d.n + id.y] = acc;
}`;

const ELEMENTWISE = /* wgsl */ `
struct Params { op: u32, len: u32, factor: f32, pad: u32 }
@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.y * 65535u * 64u + id.x;
  if (i >= p.len) { return; }
  if (p.op == 0u) { a[i] = a[i] + b[i]; } else { a[i] = a[i] * p.factor; }
}`;

/** What the GPU path needs to know about its adapter. */
export interface GpuInfo {
  /** The adapter's description (e.g. the driver's name). */
  readonly adapter: string;
  /** A software (fallback) adapter, such as llvmpipe. */
  readonly fallback: boolean;
}

/** A WebGPU device with the two pipelines compiled. */
export class GpuKernels {
  readonly info: GpuInfo;
  readonly #device: GPUDevice;
  readonly #matmul: GPUComputePipeline;
  readonly #elementwise: GPUComputePipeline;

  private constructor(device: GPUDevice, info: GpuInfo) {
    this.#device = device;
    this.info = info;
    const pipeline = (code: string): GPUComputePipeline =>
      device.createComputePipeline({
        layout: "auto",
        compute: { module: device.createShaderModule({ code }), entryPoint: "main" },
      });
    this.#matmul = pipeline(MATMUL);
    this.#elementwise = pipeline(ELEMENTWISE);
  }

  /**
   * The Worker's adapter (undefined when there is none) and, unless it is a software adapter that is not
   * wanted, the kernels on it (a device is only requested when it will be used).
   */
  static async open(allowFallback: boolean): Promise<{ info?: GpuInfo; kernels?: GpuKernels }> {
    const adapter = await navigator.gpu?.requestAdapter();
    if (!adapter) return {};
    const info = {
      adapter: adapter.info.description || adapter.info.vendor || "unknown",
      fallback: adapter.info.isFallbackAdapter,
    };
    if (info.fallback && !allowFallback) return { info };
    return { info, kernels: new GpuKernels(await adapter.requestDevice(), info) };
  }

  /** Gives the device back (at stop): its memory does not wait for the Worker to end. */
  dispose(): void {
    this.#device.destroy();
  }

  /** The largest array one binding takes, in elements. */
  get maxElements(): number {
    return Math.floor(this.#device.limits.maxStorageBufferBindingSize / 4);
  }

  /** C = A·B (m×k times k×n), computed on the GPU. */
  async matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Promise<Float32Array> {
    const d = this.#device;
    const bufA = this.#input(a), bufB = this.#input(b);
    const bufC = d.createBuffer({ size: m * n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const dims = this.#uniform(new Uint32Array([m, k, n, 0]));
    const group = d.createBindGroup({
      layout: this.#matmul.getBindGroupLayout(0),
      entries: [bufA, bufB, bufC, dims].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const out = await this.#run(this.#matmul, group, [Math.ceil(m / 8), Math.ceil(n / 8)], bufC, m * n);
    for (const b of [bufA, bufB, bufC, dims]) b.destroy();
    return out;
  }

  /** a + b (op 0) or a · factor (op 1), element-wise, computed on the GPU; the result replaces a's values. */
  async elementwise(
    op: 0 | 1,
    a: Float32Array,
    b: Float32Array | undefined,
    factor = 0,
  ): Promise<Float32Array> {
    const d = this.#device;
    const bufA = this.#input(a, GPUBufferUsage.COPY_SRC);
    const bufB = this.#input(b ?? new Float32Array(1));
    const params = this.#uniform(new Uint32Array([op, a.length, 0, 0]));
    d.queue.writeBuffer(params, 8, new Float32Array([factor]));
    const group = d.createBindGroup({
      layout: this.#elementwise.getBindGroupLayout(0),
      entries: [bufA, bufB, params].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const groups = Math.ceil(a.length / 64);
    const out = await this.#run(
      this.#elementwise,
      group,
      [Math.min(groups, 65535), Math.ceil(groups / 65535)],
      bufA,
      a.length,
    );
    for (const b of [bufA, bufB, params]) b.destroy();
    a.set(out);
    return a;
  }

  #input(data: Float32Array, extra = 0): GPUBuffer {
    const buf = this.#device.createBuffer({
      size: Math.max(4, data.byteLength),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | extra,
    });
    // A view on a SharedArrayBuffer is copied first: writeBuffer takes plain ArrayBuffers only.
    const plain = data.buffer instanceof ArrayBuffer ? data as Float32Array<ArrayBuffer> : data.slice();
    this.#device.queue.writeBuffer(buf, 0, plain);
    return buf;
  }

  #uniform(data: Uint32Array<ArrayBuffer>): GPUBuffer {
    const buf = this.#device.createBuffer({
      size: data.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.#device.queue.writeBuffer(buf, 0, data);
    return buf;
  }

  async #run(
    pipeline: GPUComputePipeline,
    group: GPUBindGroup,
    [x, y]: readonly number[],
    result: GPUBuffer,
    length: number,
  ): Promise<Float32Array> {
    const d = this.#device;
    const read = d.createBuffer({
      size: length * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = d.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y);
    pass.end();
    enc.copyBufferToBuffer(result, 0, read, 0, length * 4);
    d.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(read.getMappedRange().slice(0));
    read.unmap();
    read.destroy();
    return out;
  }
}
