/**
 * BatchMatMul for the wasm backend on the system OpenBLAS, through peerc's
 * small N-API addon (native/). The wasm backend's single-threaded XNNPACK GEMM
 * tops out near 20 GFLOP/s here, and tfjs-wasm cannot use threads in Node
 * (tfjs-runtime.md §1); OpenBLAS's sgemm runs on the same heap memory, in place,
 * with as many threads as the trainer's --threads.
 *
 * Optional at every step: the addon is built by `npm ci` (native/build.mjs)
 * where g++ and Node's headers exist, and OpenBLAS (libopenblas.so.0, Debian's
 * libopenblas0-pthread) is opened at run time; without OpenBLAS the addon's own
 * kernel (native/builtin_sgemm.cc) runs. Without the addon, or with
 * PEERC_NATIVE=0, `nativeMatmul()` is null and the wasm kernels run;
 * `describeMatmul` says which one runs and why.
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { sizeOf } from "./host-memory.js";

/** native/peerc_native.cc's exports. */
interface Addon {
  load(library: string): { ok: true; config: string; threads: number } | { ok: false; why: string };
  useKernel(kernel: NativeKernel): boolean;
  builtinIsa(): string;
  setThreads(n: number): number;
  sgemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number,
    a: Float32Array, aOffset: number, lda: number,
    b: Float32Array, bOffset: number, ldb: number,
    c: Float32Array, cOffset: number, ldc: number,
  ): void;
}

/** "openblas": the system OpenBLAS; "builtin": the addon's own kernel. */
export type NativeKernel = "openblas" | "builtin";

interface Loaded {
  readonly addon: Addon;
  /** "OpenBLAS 0.3.21", when it loaded. */
  readonly openblas: string | null;
  /** Why OpenBLAS did not load ("" when it did). */
  readonly openblasWhy: string;
  kernel: NativeKernel;
  threads: number;
}

const ADDON_PATH = path.join("native", "build", "peerc_native.node");
let loaded: Loaded | null | undefined; // undefined: not tried yet
let unavailableWhy = "";
let enabled = true;

/** The addon next to the package root: this file runs from runtime/… (tsx) or dist/runtime/… (built). */
function findAddon(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, ADDON_PATH);
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  return undefined;
}

function load(): Loaded | null {
  if (process.env["PEERC_NATIVE"] === "0") {
    unavailableWhy = "turned off by PEERC_NATIVE=0";
    return null;
  }
  const file = findAddon();
  if (file === undefined) {
    unavailableWhy = "the addon is not built; `npm ci` builds it with g++ (or run `node native/build.mjs`)";
    return null;
  }
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(file) as Addon;
  } catch (error) {
    unavailableWhy = `the addon failed to load: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
    return null;
  }
  const result = addon.load(process.env["PEERC_OPENBLAS"] ?? "libopenblas.so.0");
  if (result.ok) {
    return { addon, openblas: result.config.split(" ").slice(0, 2).join(" "), openblasWhy: "", kernel: "openblas", threads: result.threads };
  }
  addon.useKernel("builtin");
  const openblasWhy = `OpenBLAS not found: ${result.why}; on Debian: apt-get install libopenblas0-pthread`;
  return { addon, openblas: null, openblasWhy, kernel: "builtin", threads: addon.setThreads(os.availableParallelism()) };
}

function state(): Loaded | null {
  if (loaded === undefined) loaded = load();
  return loaded;
}

/** The addon when it loaded (on OpenBLAS, else its own kernel) and is enabled; else null (use the wasm kernels). */
export function nativeMatmul(): Addon | null {
  return enabled ? (state()?.addon ?? null) : null;
}

/** Why the native matmul is not used ("" when it is). */
export function nativeMatmulUnavailable(): string {
  if (state() === null) return unavailableWhy;
  return enabled ? "" : "turned off for this process";
}

/** Benchmarks and tests compare both paths in one process. */
export function setNativeMatmulEnabled(on: boolean): void {
  enabled = on;
}

/** Which native kernel runs (benchmarks and tests compare them); false when that one is not available. */
export function useNativeKernel(kernel: NativeKernel): boolean {
  const s = state();
  if (s === null || !s.addon.useKernel(kernel)) return false;
  s.kernel = kernel;
  return true;
}

/** The native matmul's threads (the trainer's --threads; default: the cores this process may use). Returns the count in use. */
export function setNativeThreads(threads: number = os.availableParallelism()): number {
  const s = state();
  if (s === null) return 1;
  s.threads = s.addon.setThreads(Math.max(1, Math.floor(threads)));
  return s.threads;
}

/** The first line's matmul part, for the wasm backend ("" for the others, whose matmul is their own). */
export function describeMatmul(backendName: string): string {
  if (backendName !== "wasm") return "";
  const s = state();
  if (s === null || !enabled) return `matmul: wasm XNNPACK (native kernels unavailable: ${nativeMatmulUnavailable()})`;
  const threads = `${s.threads} thread${s.threads === 1 ? "" : "s"}`;
  if (s.kernel === "openblas") return `matmul: ${s.openblas} (native, ${threads})`;
  return `matmul: peerc sgemm ${s.addon.builtinIsa()} (native, ${threads}${s.openblasWhy ? `; ${s.openblasWhy}` : ""})`;
}

/** The MFU peak cache's variant for the active matmul: "openblas-2t", "builtin-1t", or undefined for the backend's own. */
export function matmulVariant(backendName: string): string | undefined {
  const s = state();
  return backendName === "wasm" && s !== null && enabled ? `${s.kernel}-${s.threads}t` : undefined;
}

interface WasmHeap {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

/**
 * C = op(A)·op(B) on float32 wasm tensors of any rank ≥ 2, batch dimensions
 * broadcast as in tf.matMul. The operands are read in place (OpenBLAS takes the
 * transposes itself); no temporaries.
 */
export function nativeBatchMatMul(
  native: Addon, backend: unknown, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean,
): tf.TensorInfo {
  const wasm = backend as WasmHeap;
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const m = transposeA ? a.shape[aRank - 1]! : a.shape[aRank - 2]!;
  const k = transposeA ? a.shape[aRank - 2]! : a.shape[aRank - 1]!;
  const n = transposeB ? b.shape[bRank - 2]! : b.shape[bRank - 1]!;
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const outBatch = tf.backend_util.assertAndGetBroadcastShape(aBatch, bBatch);
  const batches = sizeOf(outBatch);
  const out = wasm.makeOutput([...outBatch, m, n], "float32");
  // Views after the output's allocation, which may grow the heap.
  const av = wasm.typedArrayFromHeap(a);
  const bv = wasm.typedArrayFromHeap(b);
  const cv = wasm.typedArrayFromHeap(out);
  const lda = transposeA ? m : k;
  const ldb = transposeB ? k : n;
  const aBatches = sizeOf(aBatch);
  if (sizeOf(bBatch) === 1 && !transposeA && aBatches === batches) {
    // [batch, m, k]·[k, n]: the batch folds into rows, one GEMM.
    native.sgemm(false, transposeB, batches * m, n, k, av, 0, lda, bv, 0, ldb, cv, 0, n);
    return out;
  }
  const aIndex = broadcastIndex(aBatch, outBatch);
  const bIndex = broadcastIndex(bBatch, outBatch);
  for (let i = 0; i < batches; i++) {
    native.sgemm(transposeA, transposeB, m, n, k, av, aIndex(i) * m * k, lda, bv, bIndex(i) * k * n, ldb, cv, i * m * n, n);
  }
  return out;
}

/** Maps a flat index over `outShape` to the flat index of the broadcast operand of shape `shape`. */
function broadcastIndex(shape: readonly number[], outShape: readonly number[]): (flat: number) => number {
  if (sizeOf(shape) === sizeOf(outShape)) return (flat) => flat;
  if (sizeOf(shape) === 1) return () => 0;
  const offset = outShape.length - shape.length;
  return (flat) => {
    let index = 0;
    let stride = 1;
    for (let d = outShape.length - 1; d >= 0; d--) {
      const coordinate = flat % outShape[d]!;
      flat = Math.floor(flat / outShape[d]!);
      const dim = d - offset >= 0 ? shape[d - offset]! : 1;
      if (d - offset >= 0) {
        index += (dim === 1 ? 0 : coordinate) * stride;
        stride *= dim;
      }
    }
    return index;
  };
}
