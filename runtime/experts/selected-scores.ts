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
import { runKernelJob, type KernelJob } from "./kernel-jobs.js";
import { isShared, runSplit, scratch, sharedCopy, sharedFloat32, splitRange, threadsFor } from "./kernel-pool.js";
import { keyScoresBackward, keyScoresForward, type ScoreLoopShape } from "./key-score-loops.js";
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
  const tokens = q.shape[0];
  const parts = threadsFor(rows * topk * keyDim, tokens);
  if (parts > 1) return selectedScoresFromKeysSplit(q, flatKeys, hits, { rows, heads, sets, topk, keyDim, half }, subKeys, parts);
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

/**
 * selectedScoresFromKeys over `parts` threads (kernel-pool.ts): the forward and dq
 * split by tokens (whole heads, so each share's rows start at head 0), the
 * sub-key gradients by sub-key index ranges. The same bits as one thread.
 */
function selectedScoresFromKeysSplit(
  q: tf.Tensor2D, flatKeys: readonly tf.Tensor[], hits: ProductKeyHits, shape: ScoreLoopShape, subKeys: number, parts: number,
): tf.Tensor2D {
  const { rows, heads, topk, keyDim, half } = shape;
  const tokens = q.shape[0];
  const ranges = splitRange(tokens, parts).map(([from, to]) => [from * heads, to * heads] as const);
  const first = isShared(hits.first) ? hits.first : sharedCopy(hits.first);
  const second = isShared(hits.second) ? hits.second : sharedCopy(hits.second);
  const rowsOf = (from: number, to: number) => ({
    first: first.subarray(from * topk, to * topk), second: second.subarray(from * topk, to * topk), shape: { ...shape, rows: to - from },
  });
  const op = customOp((qIn: tf.Tensor, ...keysIn: tf.Tensor[]) => {
    const qs = sharedCopy(readHost(qIn));
    const keyRows = keysIn.map((k) => transposeInto(readHost(k), half, subKeys, sharedFloat32(half * subKeys)));
    const out = new Float32Array(scratch("keys.out", rows * topk * 4), 0, rows * topk);
    const jobs: KernelJob[] = ranges.map(([from, to]) => ({
      kind: "keyScoresForward", qs: qs.subarray(from * keyDim, to * keyDim), keyRows, ...rowsOf(from, to), out: out.subarray(from * topk, to * topk),
    }));
    runSplit(jobs, () => runKernelJob(jobs[0]!));
    const value = writeTensor<tf.Rank.R2>([rows, topk], (o) => o.set(out));
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        const dyShared = new Float32Array(scratch("keys.dy", rows * topk * 4), 0, rows * topk);
        dyShared.set(readHost(dy));
        const dq = new Float32Array(scratch("keys.dq", rows * keyDim * 4), 0, rows * keyDim).fill(0);
        const queryJobs: KernelJob[] = ranges.map(([from, to]) => ({
          kind: "keyScoresQueryBackward", keyRows, ...rowsOf(from, to), dy: dyShared.subarray(from * topk, to * topk), dq: dq.subarray(from * keyDim, to * keyDim),
        }));
        runSplit(queryJobs, () => runKernelJob(queryJobs[0]!));
        const dKeyRows = keyRows.map((k) => sharedFloat32(k.length));
        const keyJobs: KernelJob[] = splitRange(subKeys, Math.min(parts, subKeys)).map(([lo, hi]) => ({
          kind: "keyScoresKeyBackward", qs, first, second, dy: dyShared, dKeyRows, shape, lo, hi,
        }));
        runSplit(keyJobs, () => runKernelJob(keyJobs[0]!));
        const dqTensor = writeTensor<tf.Rank.R2>(q.shape, (o) => o.set(dq));
        const dKeys = dKeyRows.map((d) => writeTensor<tf.Rank.R2>([half, subKeys], (o) => transposeInto(d, subKeys, half, o)));
        return [dqTensor, ...dKeys];
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
