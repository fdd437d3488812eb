/**
 * Global-norm gradient clipping across dense gradients and sparse tables.
 *
 * On wasm both passes run on the host over the gradients' heap buffers: the
 * norm is one read pass (no kernel calls), the scaling multiplies in place
 * every gradient that owns its buffer (a shared one gets a tf.mul, so that no
 * other tensor changes). Elsewhere they are tf ops.
 */
import * as tf from "@tensorflow/tfjs";
import type { SparseTable } from "../layers/layer.js";
import { heapView, ownsBuffer, wasmHeap } from "./host-buffers.js";

/** √(Σ‖g‖² over dense grads + Σ table.gradSquaredNorm()). At most one host sync. */
export function globalGradNorm(grads: Iterable<tf.Tensor>, tables: readonly SparseTable[]): number {
  const list = [...grads];
  let dense = 0;
  const backend = wasmHeap();
  if (backend !== null && list.every((g) => g.dtype === "float32")) {
    for (const g of list) dense += squaredSum(heapView(backend, g));
  } else if (list.length > 0) {
    dense = tf.tidy(() => tf.addN(list.map((g) => tf.sum(tf.square(g)))).dataSync()[0]!);
  }
  let sparse = 0;
  for (const t of tables) sparse += t.gradSquaredNorm();
  return Math.sqrt(dense + sparse);
}

/** Σ x² in double precision, four partial sums (breaks the add dependency chain). */
function squaredSum(x: Float32Array): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n4 = x.length & ~3;
  for (let i = 0; i < n4; i += 4) {
    s0 += x[i] * x[i];
    s1 += x[i + 1] * x[i + 1];
    s2 += x[i + 2] * x[i + 2];
    s3 += x[i + 3] * x[i + 3];
  }
  for (let i = n4; i < x.length; i++) s0 += x[i] * x[i];
  return s0 + s1 + s2 + s3;
}

/**
 * Σ‖g‖² of dense gradients as one device scalar (null when there are none): read it however the backend allows.
 * On wasm the sum is a host pass over the heap buffers (no kernel calls), wrapped in a new scalar.
 */
export function gradSquaredSum(grads: Iterable<tf.Tensor>): tf.Scalar | null {
  const list = [...grads];
  if (list.length === 0) return null;
  const backend = wasmHeap();
  if (backend !== null && list.every((g) => g.dtype === "float32")) {
    let sum = 0;
    for (const g of list) sum += squaredSum(heapView(backend, g));
    return tf.scalar(sum);
  }
  return tf.tidy(() => tf.addN(list.map((g) => tf.sum(tf.square(g)))) as tf.Scalar);
}

/** Σ of the sparse tables' squared gradient norms (host-side tables). */
export function tableGradSquaredSum(tables: readonly SparseTable[]): number {
  let sparse = 0;
  for (const t of tables) sparse += t.gradSquaredNorm();
  return sparse;
}

/** The factor that brings `norm` down to `maxNorm` (1 when already within, or when clipping is off). */
export function clipFactor(norm: number, maxNorm: number | null): number {
  if (maxNorm === null || !(norm > maxNorm)) return 1;
  return maxNorm / norm;
}

/**
 * Multiplies every gradient and table gradient by `factor`. On wasm a gradient
 * that owns its buffer is scaled in place (same tensor); any other is replaced
 * in the map by a scaled copy and disposed.
 */
export function scaleGradients(grads: Map<string, tf.Tensor>, tables: readonly SparseTable[], factor: number): void {
  if (factor === 1) return;
  const backend = wasmHeap();
  for (const [name, g] of grads) {
    if (backend !== null && ownsBuffer(backend, g)) {
      const view = heapView(backend, g);
      for (let i = 0; i < view.length; i++) view[i] *= factor;
      continue;
    }
    grads.set(name, tf.mul(g, factor));
    g.dispose();
  }
  for (const t of tables) t.scaleGrads(factor);
}
