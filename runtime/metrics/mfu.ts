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

/** The cached peak FLOP/s for the active backend and this CPU, measuring (and caching) on a miss. */
export function cachedPeak(tf: MatmulTf, options: CachedPeakOptions = {}): number {
  const backend = tf.getBackend() + (options.variant ? `-${options.variant}` : "");
  const dir = options.cacheDir ?? defaultCacheDir();
  const file = path.join(dir, `peak-${backend.replace(/[^\w.-]/g, "_")}.json`);
  const cpu = cpuModel();
  let cached = 0;
  try {
    const saved = JSON.parse(fs.readFileSync(file, "utf8")) as PeakFile;
    if (saved.backend === backend && saved.cpu === cpu && saved.flops > 0) cached = saved.flops;
  } catch {
    // missing or unreadable: measure
  }
  if (cached > 0 && !options.refresh) return cached;
  const measured = (options.measure ?? measureMatmulPeak)(tf, options);
  if (measured <= cached) return cached;
  const flops = measured;
  const record: PeakFile = { backend, cpu, flops, size: options.size ?? 512, measuredAt: new Date().toISOString() };
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(`${file}.tmp-${process.pid}`, JSON.stringify(record, null, 2) + "\n");
    fs.renameSync(`${file}.tmp-${process.pid}`, file);
  } catch {
    // an unwritable cache only costs a re-measure next run
  }
  return flops;
}

/** MFU in [0, ∞): 3 × forwardFlopsPerToken × tokensPerSecond ÷ peakFlops. */
export function mfu(forwardFlopsPerToken: number, tokensPerSecond: number, peakFlops: number): number {
  if (!(peakFlops > 0)) return NaN;
  return (3 * forwardFlopsPerToken * tokensPerSecond) / peakFlops;
}
