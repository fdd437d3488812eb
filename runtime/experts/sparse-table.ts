/**
 * ExpertTable: a row-sparse parameter table (PEER u/v, PKM values) kept in
 * plain Float32Arrays outside tfjs and outside the wasm heap, so a table can
 * pass the 4 GiB wasm32 limit and no dense rows × cols gradient ever exists.
 *
 * Memory layout (row-major, 4 bytes per float):
 *   table, m, v   rows × cols each (the weights and Adam's two moments)
 *   lastStep      rows int32: optimizer step of the row's last update (lazy decay)
 *   rowSlot       rows int32: row → slot in the gradient scratch, −1 if untouched
 *   touched       slot → row, and `grad` slots × cols: the pending row gradients
 * The scratch grows on demand (to about the distinct rows of one step) and is
 * reused across steps: touching fresh memory is expensive (tfjs-runtime.md §6).
 * With the wasm update kernel (the default for fp32 tables on one thread),
 * table, m, v and the scratch are views of one WebAssembly.Memory sized for
 * the scratch's largest size (adamw-wasm.ts), so the scratch grows by taking a
 * longer view and nothing is copied.
 * Invariants that keep the step to one pass over each touched row:
 *   - every `grad` slot at or past touchedCount is zero (the update zeroes each
 *     row it consumes), so reserving a slot writes nothing;
 *   - `reserveGradRows` hands out the fresh slots of one call in ascending row
 *     order, so the update streams table, m and v forwards (when several calls
 *     left the slots unordered, `step` visits them through a sorted order);
 *   - `scaleGrads` only records a factor, which the update (and the norm,
 *     `rowGradient`) applies; it is folded into the gradients before any
 *     further gradient is added (`reserveGradRows`, `gradients`).
 *
 * Gradients reach the table in two ways: the fused expert kernels
 * (expert-kernels.ts) add into `reserveGradRows` slots directly, and the row
 * gathers (`gather`, `gatherThrough`) are tf.customGrads whose gradient adds dy's
 * rows into the slots. `gather` (the SparseTable contract) takes as its only
 * input a zero-size trainable "anchor" variable. The anchor's value is never read; it exists so the
 * tape records the gather and calls our gradient function, which adds dy's rows
 * into the scratch and returns an empty gradient for the anchor. A caller that
 * lists its variables explicitly (tf.variableGrads(f, varList)) must include
 * `anchor` for gradients to reach the table.
 */
import * as tf from "@tensorflow/tfjs";
import type { SparseStepConfig, SparseTable } from "../layers/layer.js";
import { customOp, readHost, writeTensor } from "./host-tensor.js";
import { createAdamwArena, lazyAdamwRowsWasm, type AdamwArena } from "./adamw-wasm.js";
import { fromBf16, lazyAdamwRowsBf16, settleDecay, toBf16, type MomentRounding } from "./lazy-adamw.js";
import { gatherRows } from "./row-kernels.js";
import { expertThreads, lazyAdamwRowsThreaded, sharedFloat32, sharedInt32 } from "./update-threads.js";

const MIN_SCRATCH_ROWS = 256;
/** Smaller tables keep plain arrays and the JS update by default (their update takes microseconds). */
const MIN_WASM_ELEMENTS = 1 << 14;
/**
 * Threaded tables below this size keep the JS update split over the workers (milliseconds at most;
 * test/runtime/experts-threads.test.ts checks that split); larger ones use the kernel on the
 * calling thread, which takes a quarter of the JS loop's CPU time, so it beats the split on 2–3 threads.
 */
const MIN_WASM_ELEMENTS_THREADED = 1 << 22;

/** Storage of the table's Adam moments: float32, or bfloat16 (half the moment memory and traffic). */
export type MomentPrecision = "fp32" | "bf16";

let defaultMoments: MomentPrecision = "fp32";

/** Moment precision of expert tables created from now on without an explicit `moments` option. */
export function setExpertMomentPrecision(precision: MomentPrecision): void {
  defaultMoments = precision;
}

export function expertMomentPrecision(): MomentPrecision {
  return defaultMoments;
}

let defaultUpdateKernel: "wasm" | "js" = "wasm";

/** Update kernel of expert tables created from now on without an explicit `updateKernel` (benchmarks compare the two). */
export function setExpertUpdateKernel(kernel: "wasm" | "js"): void {
  defaultUpdateKernel = kernel;
}

export interface ExpertTableOptions {
  /** Default `expertMomentPrecision()` ("fp32" unless set). */
  readonly moments?: MomentPrecision;
  /** bf16 rounding of the moments; default "stochastic" (unbiased: small β2 increments are not lost). */
  readonly rounding?: MomentRounding;
  /** Seed of the stochastic rounding stream (deterministic per table); default 1. */
  readonly seed?: number;
  /**
   * Threads for the update (default `expertThreads()`). With more than 1 the arrays live in
   * SharedArrayBuffers and workers update shares of the rows (fp32 moments only; bf16 uses 1).
   */
  readonly threads?: number;
  /**
   * The fp32 update: "wasm" keeps the weights, moments and gradient scratch in one
   * WebAssembly.Memory (shared when threads > 1) and updates rows with a SIMD kernel on the
   * calling thread (adamw-wasm.ts; the same bits as "js"); "js" uses lazyAdamwRows, split over
   * the threads. Default "wasm" for tables of at least 16,384 elements (4,194,304 with threads > 1)
   * where the engine has wasm SIMD and the table fits in 4 GiB with its scratch; "js" otherwise.
   */
  readonly updateKernel?: "wasm" | "js";
  /** Byte limit of the wasm arena (tests use a small one to reach the scratch-overflow fallback). */
  readonly arenaLimitBytes?: number;
}

export class ExpertTable implements SparseTable {
  readonly table: Float32Array;
  /** Adam moments: float32 values, or bfloat16 bit patterns when `moments` is "bf16". */
  readonly m: Float32Array | Uint16Array;
  readonly v: Float32Array | Uint16Array;
  readonly lastStep: Int32Array;
  readonly moments: MomentPrecision;
  readonly rounding: MomentRounding;
  /** Threads the update uses (see ExpertTableOptions.threads). */
  readonly threads: number;
  /** Seed of the stochastic rounding: each step's stream is derived from (seed, step), so a resumed run rounds as an uninterrupted one. */
  private readonly roundingSeed: number;
  /** The wasm arena holding table, m, v and the gradient scratch, while the scratch fits in it. */
  private arena: AdamwArena | null;
  /** Zero-size trainable variable that connects `gather` to the gradient tape. */
  readonly anchor: tf.Variable;
  private readonly rowSlot: Int32Array;
  private touched: Int32Array;
  private grad: Float32Array;
  private touchedCount = 0;
  /** Factor owed by every pending gradient (see scaleGrads). */
  private pendingScale = 1;
  /** Reused scratch: reserveGradRows offsets, its fresh rows, step's visit order. */
  private offsets: Int32Array = new Int32Array(0);
  private freshRows: Int32Array = new Int32Array(0);
  private order: Int32Array = new Int32Array(0);

  constructor(
    readonly name: string,
    readonly rows: number,
    readonly cols: number,
    /** Writes the initial weights into the (zeroed) table. */
    init: (table: Float32Array) => void,
    options: ExpertTableOptions = {},
  ) {
    if (!Number.isSafeInteger(rows * cols) || rows <= 0 || cols <= 0) {
      throw new Error(`${name}: invalid table shape [${rows}, ${cols}]`);
    }
    this.moments = options.moments ?? defaultMoments;
    this.threads = this.moments === "bf16" ? 1 : Math.max(1, options.threads ?? expertThreads());
    const shared = this.threads > 1;
    const kernel = options.updateKernel ?? (rows * cols >= (shared ? MIN_WASM_ELEMENTS_THREADED : MIN_WASM_ELEMENTS) ? defaultUpdateKernel : "js");
    this.arena =
      kernel === "wasm" && this.moments === "fp32"
        ? createAdamwArena(rows, cols, MIN_SCRATCH_ROWS, options.arenaLimitBytes, shared)
        : null;
    this.table = this.arena?.table ?? allocate(name, rows, cols, 4, shared);
    init(this.table);
    this.rounding = options.rounding ?? "stochastic";
    this.roundingSeed = (options.seed ?? 1) | 0;
    const bytes = this.moments === "bf16" ? 2 : 4;
    this.m = this.arena?.m ?? allocate(`${name}.adam_m`, rows, cols, bytes, shared);
    this.v = this.arena?.v ?? allocate(`${name}.adam_v`, rows, cols, bytes, shared);
    // Fresh arrays are zero pages that the OS maps on first write. Writing them now
    // makes the memory resident at start-up (an out-of-memory shows at once, not
    // hours in) and keeps page faults out of the first steps' timings.
    this.m.fill(0);
    this.v.fill(0);
    this.lastStep = shared ? sharedInt32(rows) : new Int32Array(rows);
    this.rowSlot = new Int32Array(rows).fill(-1);
    const scratchRows = Math.min(rows, MIN_SCRATCH_ROWS);
    this.touched = this.int32(scratchRows);
    this.grad = this.arena?.scratch(scratchRows) ?? this.float32(scratchRows * cols);
    this.anchor = tf.variable(tf.zeros([0]), true);
  }

  /** Which update runs: the wasm kernel over the arena, or lazyAdamwRows (see ExpertTableOptions.updateKernel). */
  get updateKernel(): "wasm" | "js" {
    return this.arena === null ? "js" : "wasm";
  }

  get touchedRows(): number {
    return this.touchedCount;
  }

  /** Rows of `ids` as a [n, cols] tensor (row memcpy); differentiable into the table. */
  gather(ids: tf.Tensor1D): tf.Tensor2D {
    return this.gatherThrough(Int32Array.from(ids.dataSync()), this.anchor);
  }

  /**
   * `gather` whose tape connection is `via` instead of the anchor: any tensor the
   * loss depends on through watched variables (the expert layers pass the router
   * weights that selected these rows). Its gradient is zero.
   */
  gatherThrough(rowIds: Int32Array, via: tf.Tensor): tf.Tensor2D {
    this.checkIds(rowIds);
    const { cols } = this;
    const op = customOp((link: tf.Tensor) => {
      const value = writeTensor<tf.Rank.R2>([rowIds.length, cols], (out) => gatherRows(this.table, cols, rowIds, out));
      return {
        value,
        gradFunc: (dy: tf.Tensor) => {
          const offsets = this.reserveGradRows(rowIds);
          const dyValues = readHost(dy);
          const grad = this.grad;
          for (let n = 0; n < rowIds.length; n++) {
            const o = offsets[n];
            const src = n * cols;
            for (let c = 0; c < cols; c++) grad[o + c] += dyValues[src + c];
          }
          return tf.zerosLike(link);
        },
      };
    });
    return op(via) as tf.Tensor2D;
  }

  /**
   * Offsets into `gradients` of the pending-gradient rows of `ids` (duplicates
   * share a slot), creating zeroed slots for rows not yet touched (in ascending
   * row order). The returned array is scratch, valid until the next call.
   */
  reserveGradRows(ids: Int32Array): Int32Array {
    this.applyPendingScale();
    const { rowSlot, cols } = this;
    if (this.freshRows.length < ids.length) this.freshRows = new Int32Array(ids.length);
    if (this.offsets.length < ids.length) this.offsets = new Int32Array(ids.length);
    const freshRows = this.freshRows;
    let fresh = 0;
    for (let n = 0; n < ids.length; n++) {
      const row = ids[n];
      if (rowSlot[row] === -1) {
        rowSlot[row] = -2; // counted, slot assigned below
        freshRows[fresh++] = row;
      }
    }
    this.ensureScratch(this.touchedCount + fresh);
    const sorted = freshRows.subarray(0, fresh).sort();
    const touched = this.touched;
    for (let f = 0; f < fresh; f++) {
      const slot = this.touchedCount++;
      rowSlot[sorted[f]] = slot;
      touched[slot] = sorted[f];
    }
    const offsets = this.offsets.subarray(0, ids.length);
    for (let n = 0; n < ids.length; n++) offsets[n] = rowSlot[ids[n]] * cols;
    return offsets;
  }

  /** The pending-gradient buffer addressed by `reserveGradRows` offsets. */
  get gradients(): Float32Array {
    this.applyPendingScale();
    return this.grad;
  }

  /** Pending gradient of `row` (a copy), or null if the row is untouched. */
  rowGradient(row: number): Float32Array | null {
    const slot = this.rowSlot[row];
    if (slot < 0) return null;
    const out = this.grad.slice(slot * this.cols, (slot + 1) * this.cols);
    if (this.pendingScale !== 1) for (let c = 0; c < out.length; c++) out[c] *= this.pendingScale;
    return out;
  }

  /** Rows with a pending gradient, in slot order (ascending within each backward pass). */
  touchedRowIds(): Int32Array {
    return this.touched.slice(0, this.touchedCount);
  }

  gradSquaredNorm(): number {
    let sum = 0;
    const grad = this.grad;
    const end = this.touchedCount * this.cols;
    for (let i = 0; i < end; i++) sum += grad[i] * grad[i];
    return sum * this.pendingScale * this.pendingScale;
  }

  /** Scales every pending gradient by `factor` (recorded; applied by the update). */
  scaleGrads(factor: number): void {
    this.pendingScale *= factor;
  }

  step(config: SparseStepConfig): void {
    const count = this.touchedCount;
    const options = { gradScale: this.pendingScale, clearGrad: true, order: this.ascendingOrder() };
    const { table, lastStep, cols } = this;
    if (this.m instanceof Uint16Array && this.v instanceof Uint16Array) {
      const state = { table, m: this.m, v: this.v, lastStep, cols };
      lazyAdamwRowsBf16(state, this.touched, count, this.grad, config, this.rounding, roundingStream(this.roundingSeed, config.step), options);
    } else {
      const state = { table, m: this.m as Float32Array, v: this.v as Float32Array, lastStep, cols };
      if (this.arena !== null) lazyAdamwRowsWasm(this.arena.kernel, state, this.touched, count, this.grad, config, options);
      else lazyAdamwRowsThreaded(this.threads, state, this.touched, count, this.grad, config, options);
    }
    for (let s = 0; s < count; s++) this.rowSlot[this.touched[s]] = -1;
    this.touchedCount = 0;
    this.pendingScale = 1;
  }

  /** Apply the weight decay owed by rows not updated since their last step (see lazy-adamw.ts). */
  settleDecay(step: number, lr: number, weightDecay: number): void {
    settleDecay(this, step, lr, weightDecay);
  }

  zeroGrads(): void {
    for (let s = 0; s < this.touchedCount; s++) this.rowSlot[this.touched[s]] = -1;
    this.grad.fill(0, 0, this.touchedCount * this.cols);
    this.touchedCount = 0;
    this.pendingScale = 1;
  }

  state(): { readonly name: string; readonly data: Float32Array; readonly shape: readonly number[] }[] {
    const shape = [this.rows, this.cols];
    // bf16 moments are saved as their float32 values, so checkpoints do not depend on the precision.
    // Decoded on first read of `data` only (a resume reads just the names; bf16 moments are GiBs at 1024²).
    const moment = (name: string, x: Float32Array | Uint16Array) => {
      if (x instanceof Float32Array) return { name, data: x, shape };
      let decoded: Float32Array | null = null;
      return {
        name,
        shape,
        get data(): Float32Array {
          decoded ??= Float32Array.from(x, fromBf16);
          return decoded;
        },
      };
    };
    return [
      { name: this.name, data: this.table, shape },
      moment(`${this.name}.adam_m`, this.m),
      moment(`${this.name}.adam_v`, this.v),
      // float32 holds step numbers exactly up to 2^24.
      { name: `${this.name}.last_step`, data: Float32Array.from(this.lastStep), shape: [this.rows] },
    ];
  }

  loadState(name: string, data: Float32Array): void {
    const target = this.stateTarget(name);
    if (target === null) throw new Error(`checkpoint entry "${name}" does not belong to expert table "${this.name}"`);
    if (data.length !== target.length) {
      throw new Error(`checkpoint entry "${name}" has ${data.length} values; expert table "${this.name}" expects ${target.length}`);
    }
    if (target instanceof Int32Array) {
      for (let i = 0; i < data.length; i++) {
        if (!Number.isInteger(data[i]) || data[i] < 0) throw new Error(`checkpoint entry "${name}" holds a non-integer step at row ${i}`);
        target[i] = data[i];
      }
    } else if (target instanceof Uint16Array) {
      for (let i = 0; i < data.length; i++) target[i] = toBf16(data[i]);
    } else {
      target.set(data);
    }
  }

  /** Bytes this table holds right now: weights, moments, lastStep and scratch. */
  bytes(): number {
    return (
      this.table.byteLength + this.m.byteLength + this.v.byteLength + this.lastStep.byteLength +
      this.rowSlot.byteLength + this.touched.byteLength + this.grad.byteLength +
      this.offsets.byteLength + this.freshRows.byteLength + this.order.byteLength
    );
  }

  dispose(): void {
    this.anchor.dispose();
  }

  private stateTarget(name: string): Float32Array | Uint16Array | Int32Array | null {
    if (name === this.name) return this.table;
    if (name === `${this.name}.adam_m`) return this.m;
    if (name === `${this.name}.adam_v`) return this.v;
    if (name === `${this.name}.last_step`) return this.lastStep;
    return null;
  }

  /** Folds a recorded scaleGrads factor into the gradients (before more are added). */
  private applyPendingScale(): void {
    const factor = this.pendingScale;
    if (factor === 1) return;
    const grad = this.grad;
    const end = this.touchedCount * this.cols;
    for (let i = 0; i < end; i++) grad[i] *= factor;
    this.pendingScale = 1;
  }

  /**
   * null when the slots already hold ascending rows (one backward pass), else
   * the slots sorted by row (several passes, e.g. gradient accumulation).
   */
  private ascendingOrder(): Int32Array | null {
    const { touched, touchedCount: count } = this;
    let ascending = true;
    for (let s = 1; s < count && ascending; s++) ascending = touched[s - 1] < touched[s];
    if (ascending) return null;
    if (this.order.length < count) this.order = this.int32(touched.length);
    // Sort the rows, then map each back to its slot.
    const order = this.order.subarray(0, count);
    order.set(touched.subarray(0, count));
    order.sort();
    for (let k = 0; k < count; k++) order[k] = this.rowSlot[order[k]];
    return order;
  }

  /** Scratch arrays: shared when a worker takes part in the update. */
  private int32(length: number): Int32Array {
    return this.threads > 1 ? sharedInt32(length) : new Int32Array(length);
  }

  private float32(length: number): Float32Array {
    return this.threads > 1 ? sharedFloat32(length) : new Float32Array(length);
  }

  private checkIds(ids: Int32Array): void {
    for (let n = 0; n < ids.length; n++) {
      if (!(ids[n] >= 0 && ids[n] < this.rows)) throw new Error(`${this.name}: row id ${ids[n]} out of range [0, ${this.rows})`);
    }
  }

  private ensureScratch(needed: number): void {
    if (needed <= this.touched.length) return;
    let capacity = Math.min(this.rows, Math.max(needed, Math.ceil(this.touched.length * 1.5)));
    if (this.arena !== null && needed <= this.arena.scratchCapacity) capacity = Math.min(capacity, this.arena.scratchCapacity);
    const touched = this.int32(capacity);
    touched.set(this.touched.subarray(0, this.touchedCount));
    this.touched = touched;
    if (this.arena !== null && capacity <= this.arena.scratchCapacity) {
      // A longer view of the same memory: the pending rows are already in place, the rest is zero.
      this.grad = this.arena.scratch(capacity);
      return;
    }
    // Past the arena's room (a table near 4 GiB touching most of its rows): plain scratch and the JS update from now on.
    this.arena = null;
    const grad = this.float32(capacity * this.cols);
    grad.set(this.grad.subarray(0, this.touchedCount * this.cols));
    this.grad = grad;
  }
}

/**
 * The xorshift32 state of one step's stochastic rounding: a murmur3 finaliser of
 * (seed, step), non-zero. Carrying no state across steps keeps checkpoints exact.
 */
export function roundingStream(seed: number, step: number): number {
  let h = (Math.imul(seed, 0x9e3779b1) ^ step) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0 || 1;
}

/** A zeroed rows × cols Float32Array (or Uint16Array for bf16), or an error that says which table did not fit. */
function allocate(name: string, rows: number, cols: number, bytes: 4, shared: boolean): Float32Array;
function allocate(name: string, rows: number, cols: number, bytes: number, shared: boolean): Float32Array | Uint16Array;
function allocate(name: string, rows: number, cols: number, bytes: number, shared: boolean): Float32Array | Uint16Array {
  try {
    if (shared) return new Float32Array(new SharedArrayBuffer(rows * cols * 4));
    return bytes === 2 ? new Uint16Array(rows * cols) : new Float32Array(rows * cols);
  } catch (error) {
    const gib = (rows * cols * bytes) / 2 ** 30;
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(`${name}: cannot allocate ${gib.toFixed(2)} GiB for a [${rows}, ${cols}] expert table (${why}); the expert path needs 3 such arrays per table (weights, Adam m and v): see docs/experts.md`);
  }
}
