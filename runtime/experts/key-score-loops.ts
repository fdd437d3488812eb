/**
 * The loops of the selected-score recomputation (selected-scores.ts) over plain
 * arrays, with no tfjs, so the kernel pool's workers can load them
 * (kernel-jobs.ts). Besides the one-thread backward, the backward in two passes
 * for threads, as in split-backward.ts: dq per query row (rows are
 * independent), then the sub-key gradients per range of sub-key indices, each
 * thread scanning every selection in order and adding only into its own key
 * rows. The sums are the same as the one-thread loop's, term for term.
 */

export interface ScoreLoopShape {
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
export function keyScoresForward(
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
export function keyScoresBackward(
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

/** Pass 1 of the split backward: dq (zeroed) of `shape.rows` rows, exactly as keyScoresBackward computes it. */
export function keyScoresQueryBackward(
  keyRows: readonly Float32Array[], first: Int32Array, second: Int32Array, dy: Float32Array, dq: Float32Array, shape: ScoreLoopShape,
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
      const g0 = dy[n], g1 = dy[n + 1], g2 = dy[n + 2], g3 = dy[n + 3];
      const i0 = first[n] * half, i1 = first[n + 1] * half, i2 = first[n + 2] * half, i3 = first[n + 3] * half;
      const j0 = second[n] * half, j1 = second[n + 1] * half, j2 = second[n + 2] * half, j3 = second[n + 3] * half;
      for (let e = 0; e < half; e++) {
        dq[q1 + e] += g0 * k1[i0 + e] + g1 * k1[i1 + e] + g2 * k1[i2 + e] + g3 * k1[i3 + e];
        dq[q2 + e] += g0 * k2[j0 + e] + g1 * k2[j1 + e] + g2 * k2[j2 + e] + g3 * k2[j3 + e];
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
      }
    }
  }
}

/**
 * Pass 2: the sub-key gradients dKeyRows (layout as keyRows) of the selections whose
 * sub-key index lies in [lo, hi), every query row in order.
 */
export function keyScoresKeyBackward(
  qs: Float32Array, first: Int32Array, second: Int32Array, dy: Float32Array, dKeyRows: readonly Float32Array[], shape: ScoreLoopShape, lo: number, hi: number,
): void {
  const { rows, heads, sets, topk, keyDim, half } = shape;
  for (let r = 0; r < rows; r++) {
    const set = sets === 1 ? 0 : r % heads;
    const d1 = dKeyRows[2 * set];
    const d2 = dKeyRows[2 * set + 1];
    const q1 = r * keyDim;
    const q2 = q1 + half;
    for (let c = 0; c < topk; c++) {
      const n = r * topk + c;
      const g = dy[n];
      const a = first[n];
      if (a >= lo && a < hi) {
        const i = a * half;
        for (let e = 0; e < half; e++) d1[i + e] += g * qs[q1 + e];
      }
      const b = second[n];
      if (b >= lo && b < hi) {
        const j = b * half;
        for (let e = 0; e < half; e++) d2[j + e] += g * qs[q2 + e];
      }
    }
  }
}
