/**
 * The expert tables' lazy AdamW over the kernel pool (kernel-pool.ts). A table
 * created with `threads` ≥ 2 keeps its weights, moments, last steps and
 * gradient scratch in SharedArrayBuffers; its update splits the touched rows
 * into contiguous visit ranges, the calling thread taking the first. Rows are
 * independent, so the result is the same bits as one thread (tested).
 *
 * Small updates stay on one thread (`MIN_PARALLEL_ELEMENTS`): posting the
 * work costs tens of microseconds.
 */
import type { SparseStepConfig } from "../layers/layer.js";
import type { AdamwJob } from "./kernel-jobs.js";
import { isShared, runSplit, splitRange } from "./kernel-pool.js";
import { lazyAdamwRows, type LazyAdamwOptions, type LazyAdamwState } from "./lazy-adamw.js";

export { availableCores, expertThreads, isShared, setExpertThreads, sharedFloat32, sharedInt32 } from "./kernel-pool.js";

/** Below this many row elements per step the update runs on the calling thread alone. */
export const MIN_PARALLEL_ELEMENTS = 1 << 16;

let parallelUpdates = 0;

/** Updates that ran split over the workers so far (for tests and the bench). */
export function parallelUpdateCount(): number {
  return parallelUpdates;
}

/**
 * lazyAdamwRows over `count` visits, split over `threads` threads (the
 * table's) when the arrays are shared and the work is large enough.
 */
export function lazyAdamwRowsThreaded(
  threads: number,
  state: LazyAdamwState,
  touched: Int32Array,
  count: number,
  grad: Float32Array,
  config: SparseStepConfig,
  options: LazyAdamwOptions,
): void {
  const order = options.order ?? null;
  const parts = Math.min(count, threads);
  const parallel =
    parts >= 2 && count * state.cols >= MIN_PARALLEL_ELEMENTS && isShared(state.table, state.m, state.v, state.lastStep, touched, grad, order);
  if (!parallel) {
    lazyAdamwRows(state, touched, count, grad, config, options);
    return;
  }
  const gradScale = options.gradScale ?? 1;
  const clearGrad = options.clearGrad ?? false;
  const jobs: AdamwJob[] = splitRange(count, parts).map(([from, to]) => ({
    kind: "adamw", state, touched, grad, order, from, count: to, config, gradScale, clearGrad,
  }));
  const [, localTo] = splitRange(count, parts)[0]!;
  runSplit(jobs, () => lazyAdamwRows(state, touched, localTo, grad, config, { ...options, from: 0 }));
  parallelUpdates++;
}
