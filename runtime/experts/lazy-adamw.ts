/**
 * Lazy AdamW over the touched rows of a row-sparse table (PKM practice,
 * like PyTorch's SparseAdam plus decoupled weight decay).
 *
 * For each touched row r at optimizer step t (1-based), with g = gradScale · grad:
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
 *
 * Arithmetic is float32 throughout (each operation rounded to float32, as
 * PyTorch's float32 AdamW and the f32x4 wasm kernel in adamw-wasm.ts do), so the
 * JS loop, the kernel and any split over threads give the same bits.
 *
 * Speed: one pass per row over w, m, v and the row gradient (the row is the
 * cache block: cols contiguous floats in each array), the decay factor computed
 * once per row (and reused while consecutive rows owe the same number of steps),
 * the bias corrections and the clipping scale folded into per-step constants,
 * and no allocation. Rows are visited in the order given; visiting them in
 * ascending row order (ExpertTable arranges that) turns the table, m and v
 * reads into forward streams, about twice as fast as random order at 1024²
 * experts. With `clearGrad` the gradient row is zeroed while it is in cache,
 * so the caller needs no separate pass to reset its gradient scratch.
 */
import type { SparseStepConfig } from "../layers/layer.js";

export interface LazyAdamwState {
  readonly table: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
  readonly lastStep: Int32Array;
  readonly cols: number;
}

export interface LazyAdamwOptions {
  /** Factor applied to every gradient value (clipping, micro-batch averaging); default 1. */
  readonly gradScale?: number;
  /** Zero each gradient row after its update; default false. */
  readonly clearGrad?: boolean;
  /** Visit order: slot indices (0 … count−1) instead of 0, 1, …; e.g. slots sorted by row. */
  readonly order?: Int32Array | null;
  /** First visit index (default 0): the call handles visits from … count−1 (a thread's share). */
  readonly from?: number;
}

/**
 * One step's AdamW constants in float32, as the wasm kernel (adamw-wasm.ts)
 * holds them in its f32x4 lanes: m ← β1·m + a1·g, v ← β2·v + (a2·g)·g with the
 * gradient scale folded in, and lr·(m·c1)/(√(v·c2) + ε) = stepSize·m/(√v·rootC2 + ε).
 */
export interface AdamwConstants {
  readonly b1: number;
  readonly b2: number;
  readonly a1: number;
  readonly a2: number;
  readonly stepSize: number;
  readonly rootC2: number;
  readonly eps: number;
}

export function adamwConstants(config: SparseStepConfig, gradScale: number): AdamwConstants {
  const { lr, beta1, beta2, eps, step } = config;
  const f = Math.fround;
  return {
    b1: f(beta1),
    b2: f(beta2),
    a1: f((1 - beta1) * gradScale),
    a2: f((1 - beta2) * gradScale * gradScale),
    stepSize: f(lr / (1 - Math.pow(beta1, step))),
    rootC2: f(1 / Math.sqrt(1 - Math.pow(beta2, step))),
    eps: f(eps),
  };
}

/**
 * AdamW on `count` consecutive elements from table index `at`, their gradient
 * from `grad[from…]`, weights first scaled by `decay`. Float32 arithmetic: every
 * product, sum, quotient and root rounded to float32 (each such double operation
 * on float32 operands, rounded, is the float32 operation's exact result), so it
 * gives the wasm kernel's bits. The JS update runs whole rows through it, the
 * wasm update the last cols mod 4 floats of each row.
 */
export function adamwElements(
  c: AdamwConstants,
  table: Float32Array,
  m: Float32Array,
  v: Float32Array,
  grad: Float32Array,
  at: number,
  from: number,
  count: number,
  decay: number,
): void {
  const f = Math.fround;
  const { b1, b2, a1, a2, stepSize, rootC2, eps } = c;
  const decayF = f(decay);
  for (let i = at, j = from, end = at + count; i < end; i++, j++) {
    const g = grad[j];
    const mi = f(f(b1 * m[i]) + f(a1 * g));
    const vi = f(f(b2 * v[i]) + f(f(a2 * g) * g));
    m[i] = mi;
    v[i] = vi;
    table[i] = f(table[i] * decayF) - f(f(stepSize * mi) / f(f(f(Math.sqrt(vi)) * rootC2) + eps));
  }
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
  options: LazyAdamwOptions = {},
): void {
  const { table, m, v, lastStep, cols } = state;
  const { lr, weightDecay, step } = config;
  const clearGrad = options.clearGrad ?? false;
  const order = options.order ?? null;
  const keep = 1 - lr * weightDecay;
  const c = adamwConstants(config, options.gradScale ?? 1);
  let owedCached = -1;
  let decayCached = 1;
  for (let k = options.from ?? 0; k < count; k++) {
    const s = order === null ? k : order[k];
    const row = touched[s];
    const owed = Math.max(1, step - lastStep[row]);
    let decay = 1;
    if (weightDecay !== 0) {
      if (owed !== owedCached) {
        owedCached = owed;
        decayCached = Math.fround(Math.pow(keep, owed));
      }
      decay = decayCached;
    }
    adamwElements(c, table, m, v, grad, row * cols, s * cols, cols, decay);
    if (clearGrad) grad.fill(0, s * cols, (s + 1) * cols);
    lastStep[row] = step;
  }
}

/**
 * Apply the decay still owed by rows not updated since their last step, as if
 * each had been decayed at every step up to `step` (for export or evaluation of
 * decayed weights). Marks every row as up to date at `step`.
 */
export function settleDecay(state: Pick<LazyAdamwState, "table" | "lastStep" | "cols">, step: number, lr: number, weightDecay: number): void {
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

/** How a bf16 moment is rounded from the float update: to nearest even, or stochastically (unbiased). */
export type MomentRounding = "nearest" | "stochastic";

/** The table state with Adam's moments held as bfloat16 bit patterns (the top 16 bits of a float32). */
export interface LazyAdamwBf16State {
  readonly table: Float32Array;
  readonly m: Uint16Array;
  readonly v: Uint16Array;
  readonly lastStep: Int32Array;
  readonly cols: number;
}

// Row scratch for the bf16 update: new moments as float32 and their bits (grown on demand, reused).
let rowScratch = new Float32Array(0);
let rowBits = new Uint32Array(0);

// Scratch for float32 ↔ bit-pattern punning (one element, stays in L1).
const punF = new Float32Array(1);
const punU = new Uint32Array(punF.buffer);

/** bf16 bits → float32 value for all 65536 patterns (256 KiB, built on first use; fits L2). */
let decodeTable: Float32Array | null = null;
function bf16Table(): Float32Array {
  if (decodeTable === null) {
    const bits = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) bits[h] = h << 16;
    decodeTable = new Float32Array(bits.buffer);
  }
  return decodeTable;
}

/** float32 → bfloat16 bits, round to nearest even. */
export function toBf16(x: number): number {
  punF[0] = x;
  const bits = punU[0]!;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bfloat16 bits → float32 value. */
export function fromBf16(h: number): number {
  punU[0] = h << 16;
  return punF[0]!;
}

/**
 * lazyAdamwRows with bf16 moments: the same update, computed in float64 from
 * the decoded moments, the new moments rounded to bf16 (`rounding`), the
 * weights kept in float32. `rng` is a xorshift32 state (non-zero) for
 * stochastic rounding; the new state is returned. Streams 12 bytes per element
 * of table state instead of 20.
 */
export function lazyAdamwRowsBf16(
  state: LazyAdamwBf16State,
  touched: Int32Array,
  count: number,
  grad: Float32Array,
  config: SparseStepConfig,
  rounding: MomentRounding,
  rng: number,
  options: LazyAdamwOptions = {},
): number {
  const { table, m, v, lastStep, cols } = state;
  const { lr, beta1, beta2, eps, weightDecay, step } = config;
  const scale = options.gradScale ?? 1;
  const clearGrad = options.clearGrad ?? false;
  const order = options.order ?? null;
  const keep = 1 - lr * weightDecay;
  const a1 = (1 - beta1) * scale;
  const a2 = (1 - beta2) * scale * scale;
  const stepSize = lr / (1 - Math.pow(beta1, step));
  const rootC2 = 1 / Math.sqrt(1 - Math.pow(beta2, step));
  const stochastic = rounding === "stochastic";
  const decode = bf16Table();
  // New moments of one row as float32, encoded to bf16 in a second, branch-free loop over the bits.
  if (rowScratch.length < 2 * cols) {
    rowScratch = new Float32Array(2 * cols);
    rowBits = new Uint32Array(rowScratch.buffer);
  }
  const newF = rowScratch;
  const newBits = rowBits;
  let r = rng | 0 || 0x9e3779b9;
  for (let k = 0; k < count; k++) {
    const s = order === null ? k : order[k];
    const row = touched[s];
    const decay = weightDecay === 0 ? 1 : Math.pow(keep, Math.max(1, step - lastStep[row]));
    const base = row * cols;
    for (let c = 0, i = base, j = s * cols; c < cols; c++, i++, j++) {
      const g = grad[j];
      const mi = beta1 * decode[m[i]] + a1 * g;
      const vi = beta2 * decode[v[i]] + a2 * g * g;
      newF[c] = mi;
      newF[cols + c] = vi;
      table[i] = table[i] * decay - (stepSize * mi) / (Math.sqrt(vi) * rootC2 + eps);
    }
    if (stochastic) {
      for (let c = 0; c < cols; c++) {
        r ^= r << 13;
        r ^= r >>> 17;
        r ^= r << 5;
        m[base + c] = (newBits[c] + (r & 0xffff)) >>> 16;
        v[base + c] = (newBits[cols + c] + (r >>> 16)) >>> 16;
      }
    } else {
      for (let c = 0; c < cols; c++) {
        const bm = newBits[c];
        const bv = newBits[cols + c];
        m[base + c] = (bm + 0x7fff + ((bm >>> 16) & 1)) >>> 16;
        v[base + c] = (bv + 0x7fff + ((bv >>> 16) & 1)) >>> 16;
      }
    }
    if (clearGrad) grad.fill(0, s * cols, (s + 1) * cols);
    lastStep[row] = step;
  }
  return r;
}
