/**
 * Lazy AdamW over the touched rows of a row-sparse table (PKM practice,
 * like PyTorch's SparseAdam plus decoupled weight decay).
 *
 * For each touched row r at optimizer step t (1-based):
 *   skipped = t − lastStep[r] − 1            steps since r was last updated
 *   w ← w · (1 − lr·wd)^(skipped + 1)        decay catch-up, then this step's decay
 *   m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²
 *   w ← w − lr · (m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε)
 *   lastStep[r] ← t
 *
 * Moments of untouched rows are left alone (not decayed), so a row with zero
 * gradient does not drift on stale momentum, unlike dense AdamW. The catch-up
 * uses the current lr for the skipped steps: exact for a constant expert lr
 * (the PKM recommendation), an approximation under a schedule.
 */
import type { SparseStepConfig } from "../layers/layer.js";

export interface LazyAdamwState {
  readonly table: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
  readonly lastStep: Int32Array;
  readonly cols: number;
}

/**
 * Update `count` rows: row `touched[s]` takes its gradient from
 * `grad[s·cols … (s+1)·cols)`.
 */
export function lazyAdamwRows(
  state: LazyAdamwState,
  touched: Int32Array,
  count: number,
  grad: Float32Array,
  config: SparseStepConfig,
): void {
  const { table, m, v, lastStep, cols } = state;
  const { lr, beta1, beta2, eps, weightDecay, step } = config;
  const keep = 1 - lr * weightDecay;
  const c1 = 1 / (1 - Math.pow(beta1, step));
  const c2 = 1 / (1 - Math.pow(beta2, step));
  for (let s = 0; s < count; s++) {
    const row = touched[s];
    const skipped = Math.max(0, step - lastStep[row] - 1);
    const decay = weightDecay === 0 ? 1 : Math.pow(keep, skipped + 1);
    const base = row * cols;
    const gBase = s * cols;
    for (let c = 0; c < cols; c++) {
      const g = grad[gBase + c];
      const i = base + c;
      const mi = beta1 * m[i] + (1 - beta1) * g;
      const vi = beta2 * v[i] + (1 - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      table[i] = table[i] * decay - (lr * (mi * c1)) / (Math.sqrt(vi * c2) + eps);
    }
    lastStep[row] = step;
  }
}

/**
 * Apply the decay still owed by rows not updated since their last step, as if
 * each had been decayed at every step up to `step` (for export or evaluation of
 * decayed weights). Marks every row as up to date at `step`.
 */
export function settleDecay(state: LazyAdamwState, step: number, lr: number, weightDecay: number): void {
  const { table, lastStep, cols } = state;
  const keep = 1 - lr * weightDecay;
  for (let row = 0; row < lastStep.length; row++) {
    const owed = step - lastStep[row];
    if (owed > 0 && weightDecay !== 0) {
      const decay = Math.pow(keep, owed);
      const base = row * cols;
      for (let c = 0; c < cols; c++) table[base + c] *= decay;
    }
    lastStep[row] = Math.max(lastStep[row], step);
  }
}
