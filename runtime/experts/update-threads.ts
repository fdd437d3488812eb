/**
 * A second thread for the expert tables' lazy AdamW (issue 12, "the second
 * core"). A table created with `threads: 2` keeps its weights, moments, last
 * steps and gradient scratch in SharedArrayBuffers; its update splits the
 * touched rows in two: the worker takes the second half while the main thread
 * does the first, then the main thread waits (Atomics.wait) for the worker.
 * Rows are independent, so the result is the same bits as one thread (tested).
 *
 * The worker runs the same `lazyAdamwRows` (its source is sent as text: the
 * function uses nothing but its arguments and Math), so no separate worker
 * file has to be found next to compiled or tsx-run sources. It is created on
 * first use and unref'd (it never keeps the process alive).
 *
 * Small updates stay on one thread (`MIN_PARALLEL_ELEMENTS`): posting the
 * work costs tens of microseconds.
 */
import * as os from "node:os";
import { Worker } from "node:worker_threads";
import type { SparseStepConfig } from "../layers/layer.js";
import { lazyAdamwRows, type LazyAdamwOptions, type LazyAdamwState } from "./lazy-adamw.js";

/** Below this many row elements per step the update runs on the calling thread alone. */
export const MIN_PARALLEL_ELEMENTS = 1 << 16;

let defaultThreads = 1;

/** Threads new expert tables use for their update by default (1 = no worker). Returns the value set. */
export function setExpertThreads(threads: number): number {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`expert threads must be a positive integer, got ${threads}`);
  defaultThreads = Math.min(threads, 2); // one worker at most today
  return defaultThreads;
}

export function expertThreads(): number {
  return defaultThreads;
}

/** Logical cores this process may use (the default for `--threads`). */
export function availableCores(): number {
  return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
}

interface Job {
  readonly state: LazyAdamwState;
  readonly touched: Int32Array;
  readonly grad: Float32Array;
  readonly order: Int32Array | null;
  readonly from: number;
  readonly count: number;
  readonly config: SparseStepConfig;
  readonly gradScale: number;
  readonly clearGrad: boolean;
  readonly control: Int32Array;
}

const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const lazyAdamwRows = ${lazyAdamwRows.toString()};
parentPort.on("message", (job) => {
  try {
    lazyAdamwRows(job.state, job.touched, job.count, job.grad, job.config,
      { gradScale: job.gradScale, clearGrad: job.clearGrad, order: job.order, from: job.from });
    Atomics.store(job.control, 0, 1);
  } catch (error) {
    Atomics.store(job.control, 0, 2);
  }
  Atomics.notify(job.control, 0);
});
`;

let worker: Worker | null = null;
let parallelUpdates = 0;

/** Updates that ran split over the worker so far (for tests and the bench). */
export function parallelUpdateCount(): number {
  return parallelUpdates;
}
const control = new Int32Array(new SharedArrayBuffer(4));

function theWorker(): Worker {
  if (worker === null) {
    worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
  }
  return worker;
}

/** True when every array is backed by a SharedArrayBuffer (a worker can write it). */
export function isShared(...arrays: readonly (ArrayBufferView | null)[]): boolean {
  return arrays.every((a) => a === null || a.buffer instanceof SharedArrayBuffer);
}

/**
 * lazyAdamwRows over `count` visits, the second half on the worker when the
 * arrays are shared, `threads` is 2 and the work is large enough.
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
  const parallel =
    threads >= 2 && count * state.cols >= MIN_PARALLEL_ELEMENTS && isShared(state.table, state.m, state.v, state.lastStep, touched, grad, order);
  if (!parallel) {
    lazyAdamwRows(state, touched, count, grad, config, options);
    return;
  }
  const half = count >> 1;
  Atomics.store(control, 0, 0);
  const job: Job = {
    state, touched, grad, order, from: half, count, config,
    gradScale: options.gradScale ?? 1, clearGrad: options.clearGrad ?? false, control,
  };
  theWorker().postMessage(job);
  lazyAdamwRows(state, touched, half, grad, config, { ...options, from: 0 });
  Atomics.wait(control, 0, 0);
  if (Atomics.load(control, 0) !== 1) throw new Error("expert update worker failed");
  parallelUpdates++;
}

/** A zeroed Float32Array/Int32Array of `length` on a SharedArrayBuffer. */
export function sharedFloat32(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(length * 4));
}

export function sharedInt32(length: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(length * 4));
}
