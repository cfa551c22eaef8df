// The CPU kernels: plain loops over Float32Array, accumulating in float64. Also the reference the GPU path is
// checked against.

/** a[i] += b[i], in place; returns a. */
export function addInPlace(a: Float32Array, b: Float32Array): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] += b[i];
  return a;
}

/** a[i] *= factor, in place; returns a. */
export function scaleInPlace(a: Float32Array, factor: number): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] *= factor;
  return a;
}

/** Σ a[i]·b[i]. */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** The reductions, by name. */
export const REDUCTIONS = {
  sum(a: Float32Array): number {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i];
    return s;
  },
  min(a: Float32Array): number {
    let m = Infinity;
    for (let i = 0; i < a.length; i++) if (a[i] < m) m = a[i];
    return m;
  },
  max(a: Float32Array): number {
    let m = -Infinity;
    for (let i = 0; i < a.length; i++) if (a[i] > m) m = a[i];
    return m;
  },
  mean(a: Float32Array): number {
    return REDUCTIONS.sum(a) / a.length;
  },
} as const;

/** C = A·B with A m×k and B k×n, row-major; loops ordered i-p-j so both inner reads walk memory in order. */
export function matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const c = new Float32Array(m * n);
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) {
      const x = a[i * k + p];
      const off = p * n;
      for (let j = 0; j < n; j++) row[j] += x * b[off + j];
    }
    c.set(row, i * n);
  }
  return c;
}
