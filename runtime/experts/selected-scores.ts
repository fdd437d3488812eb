/**
 * The differentiable scores of the selected experts: sel[r, c] = s1[r, i] + s2[r, j]
 * for the (i, j) pairs the product-key search picked. The search itself ran on
 * gradient-free copies (never differentiate top-k in tfjs: there is no TopK
 * gradient); this op recomputes the k scores from the per-half score tensors
 * with flat axis-0 gathers (the XLM `pq_default` pattern), and its gradient is
 * a scatter-add back into the [rows, √N] score tensors, done in JS because wasm
 * has no UnsortedSegmentSum kernel.
 */
import * as tf from "@tensorflow/tfjs";
import { customOp, readHost, writeTensor } from "./host-tensor.js";
import type { ProductKeyHits } from "./product-keys.js";

export function selectedScores(scores1: tf.Tensor2D, scores2: tf.Tensor2D, hits: ProductKeyHits): tf.Tensor2D {
  const [rows, subKeys] = scores1.shape;
  const { topk, first, second } = hits;
  const op = customOp((s1: tf.Tensor, s2: tf.Tensor) => {
    const value = writeTensor<tf.Rank.R2>([rows, topk], (out) => {
      const a = readHost(s1);
      const b = readHost(s2);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < topk; c++) {
          const n = r * topk + c;
          out[n] = a[r * subKeys + first[n]] + b[r * subKeys + second[n]];
        }
      }
    });
    return {
      value,
      gradFunc: (dy: tf.Tensor) => [scatterScores(dy, rows, subKeys, topk, first), scatterScores(dy, rows, subKeys, topk, second)],
    };
  });
  return op(scores1, scores2) as tf.Tensor2D;
}

function scatterScores(dy: tf.Tensor, rows: number, subKeys: number, topk: number, index: Int32Array): tf.Tensor2D {
  return writeTensor<tf.Rank.R2>([rows, subKeys], (out) => {
    const g = readHost(dy);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < topk; c++) {
        const n = r * topk + c;
        out[r * subKeys + index[n]] += g[n];
      }
    }
  });
}

export interface KeyGeometry {
  readonly heads: number;
  readonly keyDim: number;
  readonly subKeys: number;
}

/**
 * The same selected scores recomputed from the queries and only the selected
 * sub-keys: sel[r, c] = q_{r,1}·K1[:, i] + q_{r,2}·K2[:, j] (XLM `pq_default`).
 * The full score matmul then runs on a detached copy of q, outside the tape,
 * and the backward costs O(T·h·k·dk) instead of the O(T·h·√N·dk) of
 * differentiating that matmul: gradient reaches only the selected sub-keys.
 *
 * q: [T, h·dk]; keySets[set][half]: [dk/2, √N], set = head (per-head keys) or 0.
 */
export function selectedScoresFromKeys(
  q: tf.Tensor2D,
  keySets: readonly (readonly tf.Tensor[])[],
  hits: ProductKeyHits,
  geometry: KeyGeometry,
): tf.Tensor2D {
  const { heads, keyDim, subKeys } = geometry;
  const half = keyDim / 2;
  const rows = q.shape[0] * heads;
  const { topk, first, second } = hits;
  const sets = keySets.length;
  const flatKeys = keySets.flatMap((set) => [...set]);
  const op = customOp((qIn: tf.Tensor, ...keysIn: tf.Tensor[]) => {
    const qs = readHost(qIn).slice();
    // Sub-keys as rows [√N, dk/2] so each selected key is contiguous.
    const keyRows = keysIn.map((k) => transpose(readHost(k), half, subKeys));
    const shape: ScoreLoopShape = { rows, heads, sets, topk, keyDim, half };
    const value = writeTensor<tf.Rank.R2>([rows, topk], (out) => keyScoresForward(qs, keyRows, first, second, out, shape));
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        const dKeyRows = keyRows.map((k) => new Float32Array(k.length));
        const dq = writeTensor<tf.Rank.R2>(q.shape, (dqOut) => keyScoresBackward(qs, keyRows, first, second, readHost(dy), dqOut, dKeyRows, shape));
        const dKeys = dKeyRows.map((d) => writeTensor<tf.Rank.R2>([half, subKeys], (out) => transposeInto(d, subKeys, half, out)));
        return [dq, ...dKeys];
      },
    };
  });
  return op(q, ...flatKeys);
}

/** [rows, cols] row-major → [cols, rows]. */
function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  return transposeInto(values, rows, cols, new Float32Array(rows * cols));
}

function transposeInto(values: Float32Array, rows: number, cols: number, out: Float32Array): Float32Array {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}

interface ScoreLoopShape {
  /** T·h query rows (row t·h + head), each keyDim wide in q. */
  readonly rows: number;
  readonly heads: number;
  /** Key sets: 1 (shared) or heads. */
  readonly sets: number;
  readonly topk: number;
  readonly keyDim: number;
  readonly half: number;
}

// The loops below are module-level functions (not closures) so V8 keeps the arrays in
// registers, and take four selections of a row at a time so each query value is loaded
// once per four sub-key rows.

/** out[r, c] = q_{r,1}·K1[first[r,c]] + q_{r,2}·K2[second[r,c]] (keyRows[2·set + half] are [√N, dk/2]). */
function keyScoresForward(
  qs: Float32Array, keyRows: readonly Float32Array[], first: Int32Array, second: Int32Array, out: Float32Array, shape: ScoreLoopShape,
): void {
  const { rows, heads, sets, topk, keyDim, half } = shape;
  for (let r = 0; r < rows; r++) {
    const set = sets === 1 ? 0 : r % heads;
    const k1 = keyRows[2 * set];
    const k2 = keyRows[2 * set + 1];
    const q1 = r * keyDim;
    const q2 = q1 + half;
    let c = 0;
    for (; c + 3 < topk; c += 4) {
      const n = r * topk + c;
      const i0 = first[n] * half, i1 = first[n + 1] * half, i2 = first[n + 2] * half, i3 = first[n + 3] * half;
      const j0 = second[n] * half, j1 = second[n + 1] * half, j2 = second[n + 2] * half, j3 = second[n + 3] * half;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let e = 0; e < half; e++) {
        const a = qs[q1 + e];
        const b = qs[q2 + e];
        s0 += a * k1[i0 + e] + b * k2[j0 + e];
        s1 += a * k1[i1 + e] + b * k2[j1 + e];
        s2 += a * k1[i2 + e] + b * k2[j2 + e];
        s3 += a * k1[i3 + e] + b * k2[j3 + e];
      }
      out[n] = s0;
      out[n + 1] = s1;
      out[n + 2] = s2;
      out[n + 3] = s3;
    }
    for (; c < topk; c++) {
      const n = r * topk + c;
      const i = first[n] * half;
      const j = second[n] * half;
      let s = 0;
      for (let e = 0; e < half; e++) s += qs[q1 + e] * k1[i + e] + qs[q2 + e] * k2[j + e];
      out[n] = s;
    }
  }
}

/** Backward of keyScoresForward: dq (zeroed) and dKeyRows (zeroed, same layout as keyRows) from dy [rows, topk]. */
function keyScoresBackward(
  qs: Float32Array, keyRows: readonly Float32Array[], first: Int32Array, second: Int32Array, dy: Float32Array,
  dq: Float32Array, dKeyRows: readonly Float32Array[], shape: ScoreLoopShape,
): void {
  const { rows, heads, sets, topk, keyDim, half } = shape;
  for (let r = 0; r < rows; r++) {
    const set = sets === 1 ? 0 : r % heads;
    const k1 = keyRows[2 * set];
    const k2 = keyRows[2 * set + 1];
    const d1 = dKeyRows[2 * set];
    const d2 = dKeyRows[2 * set + 1];
    const q1 = r * keyDim;
    const q2 = q1 + half;
    let c = 0;
    for (; c + 3 < topk; c += 4) {
      const n = r * topk + c;
      const g0 = dy[n], g1 = dy[n + 1], g2 = dy[n + 2], g3 = dy[n + 3];
      const i0 = first[n] * half, i1 = first[n + 1] * half, i2 = first[n + 2] * half, i3 = first[n + 3] * half;
      const j0 = second[n] * half, j1 = second[n + 1] * half, j2 = second[n + 2] * half, j3 = second[n + 3] * half;
      for (let e = 0; e < half; e++) {
        const a = qs[q1 + e];
        const b = qs[q2 + e];
        dq[q1 + e] += g0 * k1[i0 + e] + g1 * k1[i1 + e] + g2 * k1[i2 + e] + g3 * k1[i3 + e];
        dq[q2 + e] += g0 * k2[j0 + e] + g1 * k2[j1 + e] + g2 * k2[j2 + e] + g3 * k2[j3 + e];
        d1[i0 + e] += g0 * a;
        d1[i1 + e] += g1 * a;
        d1[i2 + e] += g2 * a;
        d1[i3 + e] += g3 * a;
        d2[j0 + e] += g0 * b;
        d2[j1 + e] += g1 * b;
        d2[j2 + e] += g2 * b;
        d2[j3 + e] += g3 * b;
      }
    }
    for (; c < topk; c++) {
      const n = r * topk + c;
      const gn = dy[n];
      const i = first[n] * half;
      const j = second[n] * half;
      for (let e = 0; e < half; e++) {
        dq[q1 + e] += gn * k1[i + e];
        dq[q2 + e] += gn * k2[j + e];
        d1[i + e] += gn * qs[q1 + e];
        d2[j + e] += gn * qs[q2 + e];
      }
    }
  }
}
