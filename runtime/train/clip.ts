/** Global-norm gradient clipping across dense gradients and sparse tables. */
import * as tf from "@tensorflow/tfjs";
import type { SparseTable } from "../layers/layer.js";

/** √(Σ‖g‖² over dense grads + Σ table.gradSquaredNorm()). One host sync. */
export function globalGradNorm(grads: Iterable<tf.Tensor>, tables: readonly SparseTable[]): number {
  const list = [...grads];
  let dense = 0;
  if (list.length > 0) dense = tf.tidy(() => tf.addN(list.map((g) => tf.sum(tf.square(g)))).dataSync()[0]!);
  let sparse = 0;
  for (const t of tables) sparse += t.gradSquaredNorm();
  return Math.sqrt(dense + sparse);
}

/** The factor that brings `norm` down to `maxNorm` (1 when already within, or when clipping is off). */
export function clipFactor(norm: number, maxNorm: number | null): number {
  if (maxNorm === null || !(norm > maxNorm)) return 1;
  return maxNorm / norm;
}

/** Multiplies every gradient (in place in the map, old tensors disposed) and table gradient by `factor`. */
export function scaleGradients(grads: Map<string, tf.Tensor>, tables: readonly SparseTable[], factor: number): void {
  if (factor === 1) return;
  for (const [name, g] of grads) {
    grads.set(name, tf.mul(g, factor));
    g.dispose();
  }
  for (const t of tables) t.scaleGrads(factor);
}
