/**
 * Model FLOPs utilisation: achieved training FLOP/s ÷ the backend's matmul
 * peak, with training FLOPs = 3 × the static forward FLOPs per token (the cost
 * model's convention). The peak is measured once by a short square matmul
 * probe on the active backend (best of a few runs) and cached in
 * `<cache>/peak-<backend>[-<variant>].json`, keyed by backend (and what runs its
 * matmul) and CPU model.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { defaultCacheDir } from "../data/token-cache.js";

/** The part of a tfjs module the probe uses (tfjs, tfjs-node and tfjs-node-gpu all fit). */
export interface MatmulTf {
  getBackend(): string;
  randomUniform(shape: number[]): ProbeTensor;
  matMul(a: ProbeTensor, b: ProbeTensor): ProbeTensor;
}
interface ProbeTensor {
  dataSync(): ArrayLike<number>;
  dispose(): void;
}

export interface PeakProbeOptions {
  /** Matrix side (default 512). */
  readonly size?: number;
  /** Timed runs after one warm-up (default 5). */
  readonly trials?: number;
}

/** Best FLOP/s of an n×n×n matmul on `tf`'s active backend (2n³ FLOPs, timed through dataSync). */
export function measureMatmulPeak(tf: MatmulTf, options: PeakProbeOptions = {}): number {
  const n = options.size ?? 512;
  const trials = options.trials ?? 5;
  const a = tf.randomUniform([n, n]);
  const b = tf.randomUniform([n, n]);
  let best = Infinity;
  try {
    for (let i = 0; i <= trials; i++) {
      const t0 = performance.now();
      const c = tf.matMul(a, b);
      c.dataSync();
      const seconds = (performance.now() - t0) / 1000;
      c.dispose();
      if (i > 0) best = Math.min(best, seconds); // run 0 warms up kernels and caches
    }
  } finally {
    a.dispose();
    b.dispose();
  }
  return (2 * n * n * n) / Math.max(best, 1e-9);
}

/** The probe's needs on a backend that reads only asynchronously (webgpu in Node). */
export interface MatmulTfAsync {
  getBackend(): string;
  randomUniform(shape: number[]): AsyncProbeTensor;
  matMul(a: AsyncProbeTensor, b: AsyncProbeTensor): AsyncProbeTensor;
  slice(x: AsyncProbeTensor, begin: number[], size: number[]): AsyncProbeTensor;
}
interface AsyncProbeTensor {
  data(): Promise<ArrayLike<number>>;
  dispose(): void;
}

export interface AsyncPeakProbeOptions {
  /** First matrix side (default 256); it doubles until a run takes minSeconds or reaches maxSize. */
  readonly size?: number;
  /** Largest side (default 4096). */
  readonly maxSize?: number;
  /** A timed run at least this long ends the search (default 0.05 s). */
  readonly minSeconds?: number;
  /** Timed runs per size after one warm-up (default 3). */
  readonly trials?: number;
}

/**
 * Best FLOP/s of an n×n×n matmul with awaited reads, each run timed to the
 * read of one element of its result: a device read is a round trip (about a
 * millisecond on a GPU), so n doubles until one run takes `minSeconds`
 * and the round trip no longer dominates. Returns the rate at the last size.
 */
export async function measureMatmulPeakAsync(tf: MatmulTfAsync, options: AsyncPeakProbeOptions = {}): Promise<number> {
  return (await probeMatmulAsync(tf, options)).flops;
}

async function probeMatmulAsync(tf: MatmulTfAsync, options: AsyncPeakProbeOptions): Promise<{ flops: number; size: number }> {
  const maxSize = options.maxSize ?? 4096;
  const minSeconds = options.minSeconds ?? 0.05;
  const trials = options.trials ?? 3;
  for (let n = options.size ?? 256; ; n *= 2) {
    const a = tf.randomUniform([n, n]);
    const b = tf.randomUniform([n, n]);
    let best = Infinity;
    try {
      for (let i = 0; i <= trials; i++) {
        const t0 = performance.now();
        const c = tf.matMul(a, b);
        const corner = tf.slice(c, [0, 0], [1, 1]);
        await corner.data();
        const seconds = (performance.now() - t0) / 1000;
        c.dispose();
        corner.dispose();
        if (i > 0) best = Math.min(best, seconds); // run 0 compiles the pipeline
      }
    } finally {
      a.dispose();
      b.dispose();
    }
    if (best >= minSeconds || 2 * n > maxSize) return { flops: (2 * n * n * n) / Math.max(best, 1e-9), size: n };
  }
}

interface PeakFile {
  readonly backend: string;
  readonly cpu: string;
  readonly flops: number;
  readonly size: number;
  readonly measuredAt: string;
}

export interface CachedPeakOptions extends PeakProbeOptions {
  /** Folder of peak-<backend>.json (default defaultCacheDir()). */
  readonly cacheDir?: string;
  /** The measurement (tests pass a stub; default measureMatmulPeak). */
  readonly measure?: (tf: MatmulTf, options: PeakProbeOptions) => number;
  /**
   * Measure even on a hit and keep the higher figure. Other work on the
   * machine can only slow the probe down, so the highest measurement is the
   * best estimate of the peak; a peak cached on a busy day would otherwise
   * overstate every later MFU.
   */
  readonly refresh?: boolean;
  /**
   * What runs the backend's matmul when that can differ within one backend
   * (wasm: "openblas-2t" for the native OpenBLAS matmul on 2 threads), so
   * each keeps its own peak. Default: none.
   */
  readonly variant?: string;
}

export const cpuModel = (): string => os.cpus()[0]?.model?.trim() || "unknown";

interface PeakCache {
  readonly backend: string;
  readonly file: string;
  readonly cpu: string;
}

function peakCache(backendName: string, options: CachedPeakOptions): PeakCache {
  const backend = backendName + (options.variant ? `-${options.variant}` : "");
  const dir = options.cacheDir ?? defaultCacheDir();
  return { backend, file: path.join(dir, `peak-${backend.replace(/[^\w.-]/g, "_")}.json`), cpu: cpuModel() };
}

/** The cached peak, or 0 when missing, unreadable or for another backend or CPU. */
function readPeak(cache: PeakCache): number {
  try {
    const saved = JSON.parse(fs.readFileSync(cache.file, "utf8")) as PeakFile;
    if (saved.backend === cache.backend && saved.cpu === cache.cpu && saved.flops > 0) return saved.flops;
  } catch {
    // missing or unreadable: measure
  }
  return 0;
}

/** The higher of the cached and the measured peak, caching a higher measurement. */
function keepHigher(cache: PeakCache, cached: number, measured: number, size: number): number {
  if (measured <= cached) return cached;
  const record: PeakFile = { backend: cache.backend, cpu: cache.cpu, flops: measured, size, measuredAt: new Date().toISOString() };
  try {
    fs.mkdirSync(path.dirname(cache.file), { recursive: true });
    fs.writeFileSync(`${cache.file}.tmp-${process.pid}`, JSON.stringify(record, null, 2) + "\n");
    fs.renameSync(`${cache.file}.tmp-${process.pid}`, cache.file);
  } catch {
    // an unwritable cache only costs a re-measure next run
  }
  return measured;
}

/** The cached peak FLOP/s for the active backend and this CPU, measuring (and caching) on a miss. */
export function cachedPeak(tf: MatmulTf, options: CachedPeakOptions = {}): number {
  const cache = peakCache(tf.getBackend(), options);
  const cached = readPeak(cache);
  if (cached > 0 && !options.refresh) return cached;
  return keepHigher(cache, cached, (options.measure ?? measureMatmulPeak)(tf, options), options.size ?? 512);
}

/** cachedPeak for backends that read only asynchronously (webgpu): measureMatmulPeakAsync. */
export async function cachedPeakAsync(tf: MatmulTfAsync, options: Omit<CachedPeakOptions, "measure"> & AsyncPeakProbeOptions = {}): Promise<number> {
  const cache = peakCache(tf.getBackend(), options);
  const cached = readPeak(cache);
  if (cached > 0 && !options.refresh) return cached;
  const { flops, size } = await probeMatmulAsync(tf, options);
  return keepHigher(cache, cached, flops, size);
}

/** MFU in [0, ∞): 3 × forwardFlopsPerToken × tokensPerSecond ÷ peakFlops. */
export function mfu(forwardFlopsPerToken: number, tokensPerSecond: number, peakFlops: number): number {
  if (!(peakFlops > 0)) return NaN;
  return (3 * forwardFlopsPerToken * tokensPerSecond) / peakFlops;
}
