/**
 * A persistent pool of worker threads for the host expert kernels (issue 12,
 * "the second core"): the product-key top-k, the fused PEER/PKM forward and
 * backward, and the lazy AdamW update split their rows over the pool, the
 * calling thread taking the first share. Arrays the workers read or write
 * live in SharedArrayBuffers (posting one shares it; any other array would be
 * copied, so `run` refuses them), and the caller blocks in Atomics.wait until
 * every worker has finished: a kernel call is synchronous, as on one thread.
 *
 * The workers run kernel-worker.ts, which imports the same loop modules the
 * main thread uses (from .ts sources under tsx or vitest, registering tsx in
 * the worker first; from .js in dist). Workers start at the first split call
 * or at `startExpertWorkers` (the trainer calls it so that they load while the
 * model is built) and are unref'd: they never keep the process alive.
 */
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";

/** Logical cores this process may use (the default for `--threads`). */
export function availableCores(): number {
  return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
}

/** The kernels that split their rows over the pool (the trainer's first line names them). */
export const THREADED_KERNELS = ["top-k", "selected scores", "forward", "backward", "update"] as const;

let threads = 1;

/** The most threads the pool runs (one control word each). */
export const MAX_EXPERT_THREADS = 256;

/**
 * Threads the host expert kernels use from now on (1 = the calling thread only),
 * and for new expert tables' update (set it before the model is built: tables
 * are allocated shared only then). Returns the value set. Workers start on
 * first use, or at `startExpertWorkers`.
 */
export function setExpertThreads(count: number): number {
  if (!Number.isInteger(count) || count < 1 || count > MAX_EXPERT_THREADS) {
    throw new Error(`expert threads must be an integer in [1, ${MAX_EXPERT_THREADS}], got ${count}`);
  }
  threads = count;
  return threads;
}

/** Starts the workers for the current thread count now (they take a moment to load), not at the first kernel call. */
export function startExpertWorkers(): void {
  if (threads > 1) ensureWorkers(threads - 1);
}

export function expertThreads(): number {
  return threads;
}

/**
 * "1 thread" or "2 threads (top-k, selected scores, forward, backward, update)".
 * Tables with bf16 moments are not shared (ExpertTable), so their kernels stay on one thread.
 */
export function describeExpertThreads(count: number = threads, bf16Tables = false): string {
  if (count === 1) return "1 thread";
  return `${count} threads (${bf16Tables ? "top-k, selected scores; forward, backward and update on 1 thread with bf16 expert moments" : THREADED_KERNELS.join(", ")})`;
}

/**
 * Below this many multiply-adds (or row elements, for the update) a kernel runs
 * on the calling thread alone: posting a share to a worker and waking it costs
 * tens of microseconds. Settable so tests can force the threaded path on small
 * models; returns the previous value.
 */
let minParallelWork = 1 << 16;

export function setMinParallelWork(work: number): number {
  const before = minParallelWork;
  minParallelWork = work;
  return before;
}

/** Threads to split `work` over: 1 when it is small or the pool is off, else at most `items` (one row each). */
export function threadsFor(work: number, items: number, limit: number = threads): number {
  if (limit < 2 || work < minParallelWork) return 1;
  return Math.max(1, Math.min(limit, items));
}

/** `parts` contiguous [from, to) ranges covering 0 … count, sizes differing by at most one. */
export function splitRange(count: number, parts: number): [number, number][] {
  const ranges: [number, number][] = [];
  for (let p = 0; p < parts; p++) ranges.push([Math.floor((count * p) / parts), Math.floor((count * (p + 1)) / parts)]);
  return ranges;
}

let splitCalls = 0;
/** Milliseconds the calling thread spent on its own shares, and waiting for the workers after them. */
const splitTime = { localMs: 0, waitMs: 0 };

/** Kernel calls that ran split over workers so far (for tests and the bench). */
export function parallelCallCount(): number {
  return splitCalls;
}

/** Time the calling thread spent in its shares and waiting for workers, summed over split calls (for the bench). */
export function splitTimes(): { readonly localMs: number; readonly waitMs: number } {
  return { ...splitTime };
}

interface PoolWorker {
  readonly worker: Worker;
  /** The worker reports a failure's message here (read synchronously with receiveMessageOnPort). */
  readonly errors: MessagePort;
}

const workers: PoolWorker[] = [];
/** One word per worker: 0 busy, 1 done, 2 failed. */
const control = new Int32Array(new SharedArrayBuffer(4 * MAX_EXPERT_THREADS));

/** Where kernel-worker lives next to this module: .ts when run from sources, .js from dist. */
function workerUrl(): { url: string; tsx: string | null } {
  const here = new URL(import.meta.url);
  const ext = path.extname(here.pathname) === ".ts" ? ".ts" : ".js";
  const url = new URL(`./kernel-worker${ext}`, here).href;
  if (ext === ".js") return { url, tsx: null };
  // Sources: the worker needs tsx's loader to import .ts files (vitest's forks do not pass one on).
  // Without tsx, the worker inherits the runner's flags (a loader given by --import may be enough).
  try {
    const tsxDir = path.dirname(createRequire(import.meta.url).resolve("tsx/package.json"));
    return { url, tsx: pathToFileURL(path.join(tsxDir, "dist/esm/api/index.mjs")).href };
  } catch {
    return { url, tsx: null };
  }
}

const BOOTSTRAP = `
const { workerData } = require("node:worker_threads");
(async () => {
  if (workerData.tsx !== null) (await import(workerData.tsx)).register();
  await import(workerData.url);
})().catch((error) => {
  // Could not load the kernels: fail every job with the reason.
  const why = "could not load " + workerData.url + ": " + String((error && error.message) || error);
  require("node:worker_threads").parentPort.on("message", () => {
    workerData.errors.postMessage(why);
    Atomics.store(workerData.control, workerData.index, 2);
    Atomics.notify(workerData.control, workerData.index);
  });
});
`;

function ensureWorkers(count: number): void {
  const { url, tsx } = workerUrl();
  while (workers.length < count) {
    const index = workers.length;
    const channel = new MessageChannel();
    Atomics.store(control, index, 1);
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: { url, tsx, control, index, errors: channel.port2 },
      transferList: [channel.port2],
    });
    worker.unref();
    channel.port1.unref();
    workers.push({ worker, errors: channel.port1 });
  }
}

/** True when every array is backed by a SharedArrayBuffer (a worker can write it). */
export function isShared(...arrays: readonly (ArrayBufferView | null | undefined)[]): boolean {
  return arrays.every((a) => a === null || a === undefined || a.buffer instanceof SharedArrayBuffer);
}

/** Every typed array in the job (nested objects and lists too) must be shared. */
function checkShared(value: unknown, where: string): void {
  if (ArrayBuffer.isView(value)) {
    if (!(value.buffer instanceof SharedArrayBuffer)) throw new Error(`expert kernel job: ${where} is not in a SharedArrayBuffer (a worker would write a copy)`);
  } else if (typeof value === "object" && value !== null) {
    for (const [key, inner] of Object.entries(value)) checkShared(inner, `${where}.${key}`);
  }
}

/** A worker that has not answered in this long is taken as lost (a share takes milliseconds). */
const WAIT_LIMIT_MS = 120_000;

/**
 * Runs `jobs[i]` on worker i−1 for i ≥ 1 while the caller runs `local` (its own
 * share, jobs[0]'s work), then waits for all. Throws the first worker's error.
 */
/**
 * What the pool needs of a job: its kind (for messages). The jobs themselves
 * are kernel-jobs.ts's; the pool does not import them, since kernel-jobs reaches
 * the pool through the kernels it runs.
 */
export interface PoolJob {
  readonly kind: string;
}

export function runSplit(jobs: readonly PoolJob[], local: () => void): void {
  if (jobs.length - 1 > workers.length) ensureWorkers(jobs.length - 1);
  for (let i = 1; i < jobs.length; i++) checkShared(jobs[i], jobs[i]!.kind);
  for (let i = 1; i < jobs.length; i++) {
    Atomics.store(control, i - 1, 0);
    workers[i - 1]!.worker.postMessage(jobs[i]);
  }
  let localError: unknown = null;
  const start = performance.now();
  try {
    local();
  } catch (error) {
    localError = error;
  }
  const localEnd = performance.now();
  const failures: string[] = [];
  for (let i = 1; i < jobs.length; i++) {
    const status = awaitWorker(control, i - 1, WAIT_LIMIT_MS);
    if (status === "timed-out") failures.push(`worker ${i} did not answer in ${WAIT_LIMIT_MS / 1000} s`);
    else if (status !== 1) failures.push(failureMessage(i));
  }
  splitTime.localMs += localEnd - start;
  splitTime.waitMs += performance.now() - localEnd;
  if (localError !== null) throw localError;
  if (failures.length > 0) throw new Error(`expert kernel ${jobs[0]!.kind} failed on a worker thread: ${failures[0]}`);
  splitCalls++;
}

/**
 * Waits until worker `index` leaves "busy" (0) and returns its word. A wake-up
 * is not an answer: a worker that stored "done" for the previous call may run
 * its Atomics.notify only after this call has reset the word and started to
 * wait (the caller saw "done" without sleeping), so the word is re-read.
 */
export function awaitWorker(words: Int32Array, index: number, limitMs: number): number | "timed-out" {
  const deadline = performance.now() + limitMs;
  for (;;) {
    const word = Atomics.load(words, index);
    if (word !== 0) return word;
    const left = deadline - performance.now();
    if (left <= 0 || Atomics.wait(words, index, 0, left) === "timed-out") {
      const last = Atomics.load(words, index);
      return last !== 0 ? last : "timed-out";
    }
  }
}

/**
 * The message worker i posted with its failure. The port is read synchronously;
 * give a message still in flight a moment (up to 1 s) before reporting none, so
 * the reason reaches the user instead of a bare "worker failed".
 */
function failureMessage(i: number): string {
  const port = workers[i - 1]!.errors;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (let tries = 0; tries < 100; tries++) {
    const received = receiveMessageOnPort(port);
    if (received !== undefined) return String(received.message);
    Atomics.wait(nap, 0, 0, 10);
  }
  return `worker ${i} reported a failure without a message (control word ${Atomics.load(control, i - 1)})`;
}

/** A zeroed Float32Array/Int32Array of `length` on a SharedArrayBuffer. */
export function sharedFloat32(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(length * 4));
}

export function sharedInt32(length: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(length * 4));
}

/** A shared copy of `values`. */
export function sharedCopy<T extends Float32Array | Int32Array>(values: T): T {
  const copy = (values instanceof Int32Array ? sharedInt32(values.length) : sharedFloat32(values.length)) as T;
  copy.set(values);
  return copy;
}

/**
 * Shared scratch reused across calls (touching fresh memory is expensive,
 * tfjs-runtime.md §6): valid until the next `scratch` call with the same key.
 * Not zeroed.
 */
const scratchBuffers = new Map<string, SharedArrayBuffer>();

export function scratch(key: string, bytes: number): SharedArrayBuffer {
  let buffer = scratchBuffers.get(key);
  if (buffer === undefined || buffer.byteLength < bytes) {
    buffer = new SharedArrayBuffer(Math.max(bytes, Math.ceil((buffer?.byteLength ?? 0) * 1.5)));
    scratchBuffers.set(key, buffer);
  }
  return buffer;
}
