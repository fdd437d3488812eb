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
    const value = writeTensor<tf.Rank.R2>([rows, topk], (out) => {
      for (let r = 0; r < rows; r++) {
        const set = sets === 1 ? 0 : r % heads;
        const k1 = keyRows[2 * set];
        const k2 = keyRows[2 * set + 1];
        const qBase = r * keyDim;
        for (let c = 0; c < topk; c++) {
          const n = r * topk + c;
          let s = 0;
          const i = first[n] * half;
          const j = second[n] * half;
          for (let e = 0; e < half; e++) s += qs[qBase + e] * k1[i + e] + qs[qBase + half + e] * k2[j + e];
          out[n] = s;
        }
      }
    });
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        const dKeyRows = keyRows.map((k) => new Float32Array(k.length));
        const dq = writeTensor<tf.Rank.R2>(q.shape, (dqOut) => {
          const g = readHost(dy);
          for (let r = 0; r < rows; r++) {
            const set = sets === 1 ? 0 : r % heads;
            const k1 = keyRows[2 * set];
            const k2 = keyRows[2 * set + 1];
            const d1 = dKeyRows[2 * set];
            const d2 = dKeyRows[2 * set + 1];
            const qBase = r * keyDim;
            for (let c = 0; c < topk; c++) {
              const n = r * topk + c;
              const gn = g[n];
              if (gn === 0) continue;
              const i = first[n] * half;
              const j = second[n] * half;
              for (let e = 0; e < half; e++) {
                dqOut[qBase + e] += gn * k1[i + e];
                dqOut[qBase + half + e] += gn * k2[j + e];
                d1[i + e] += gn * qs[qBase + e];
                d2[j + e] += gn * qs[qBase + half + e];
              }
            }
          }
        });
        const dKeys = dKeyRows.map((d) => writeTensor<tf.Rank.R2>([half, subKeys], (out) => out.set(transpose(d, subKeys, half))));
        return [dq, ...dKeys];
      },
    };
  });
  return op(q, ...flatKeys);
}

/** [rows, cols] row-major → [cols, rows]. */
function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}
