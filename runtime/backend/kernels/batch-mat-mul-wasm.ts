/**
 * BatchMatMul on wasm, routed to the fast path.
 *
 * The stock wasm kernel uses XNNPACK only for untransposed operands with batch
 * 1 on both sides; everything else, including both matMul gradients (dy·Bᵀ,
 * Aᵀ·dy), runs a scalar loop at 0.7–1.9 GFLOP/s (tfjs-runtime.md §1). Here:
 *   - transposed operands are materialised with the (fast) Transpose kernel;
 *   - a batched `a` times an unbatched `b` folds the batch into rows: one GEMM;
 *   - a true batch on both sides runs one XNNPACK GEMM per batch entry.
 * Kernel calls made inside a kernel are not recorded on the gradient tape.
 * Where the native addon runs (native-matmul.ts), OpenBLAS takes every float32 case.
 */
import * as tf from "@tensorflow/tfjs";
import { sizeOf } from "./host-memory.js";
import { nativeBatchMatMul, nativeMatmul } from "./native-matmul.js";

interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
  disposeData(dataId: tf.DataId): boolean;
}

type KernelFn = (args: { inputs: Record<string, tf.TensorInfo>; backend: unknown; attrs: Record<string, unknown> }) => tf.TensorInfo;

function kernel(name: string): KernelFn {
  const config = tf.getKernel(name, "wasm");
  if (!config) throw new Error(`wasm kernel ${name} is not registered`);
  return config.kernelFunc as unknown as KernelFn;
}

let stock: tf.KernelConfig | undefined;

/** The kernel tfjs shipped, kept for the cases it already handles well (and for benchmarks). */
export function stockWasmBatchMatMul(): tf.KernelConfig | undefined {
  return stock;
}

export function registerWasmBatchMatMul(): void {
  const original = tf.getKernel("BatchMatMul", "wasm");
  if (!original) throw new Error("wasm BatchMatMul kernel is not registered");
  stock = original;
  const stockFn = original.kernelFunc as unknown as KernelFn;
  const reshape = kernel("Reshape");
  const transpose = kernel("Transpose");
  const tile = kernel("Tile");

  const batchMatMul: KernelFn = ({ inputs, backend, attrs }) => {
    const wasm = backend as WasmBackend;
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const transposeA = Boolean(attrs["transposeA"]);
    const transposeB = Boolean(attrs["transposeB"]);
    if (a.dtype !== "float32" || b.dtype !== "float32") return stockFn({ inputs, backend, attrs });
    const aRank = a.shape.length;
    const bRank = b.shape.length;
    const batchA = sizeOf(a.shape.slice(0, -2));
    const batchB = sizeOf(b.shape.slice(0, -2));
    const m = transposeA ? a.shape[aRank - 1]! : a.shape[aRank - 2]!;
    const kA = transposeA ? a.shape[aRank - 2]! : a.shape[aRank - 1]!;
    const kB = transposeB ? b.shape[bRank - 1]! : b.shape[bRank - 2]!;
    const n = transposeB ? b.shape[bRank - 2]! : b.shape[bRank - 1]!;
    if (kA !== kB) {
      throw new Error(`Error in matMul: inner shapes (${kA}) and (${kB}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
    }
    // OpenBLAS through the native addon, where it loaded (native-matmul.ts): every float32 case, in place.
    const native = nativeMatmul();
    if (native !== null) return nativeBatchMatMul(native, backend, a, b, transposeA, transposeB);
    const outBatchShape = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const outShape = [...outBatchShape, m, n];
    if (kA === 0) {
      // The stock kernel leaves an empty product's output uninitialised.
      const zeros = wasm.makeOutput(outShape, "float32");
      wasm.typedArrayFromHeap(zeros).fill(0);
      return zeros;
    }
    if (batchA !== batchB && batchA !== 1 && batchB !== 1) {
      // Batches broadcast both ways ([2,1]·[1,3]): the stock kernel fills only part of its output, so both
      // operands are tiled to the output's batch first.
      const full = (x: tf.TensorInfo): tf.TensorInfo => {
        const shape = [...new Array<number>(outBatchShape.length + 2 - x.shape.length).fill(1), ...x.shape];
        const padded = reshape({ inputs: { x }, backend, attrs: { shape } });
        const tiled = tile({ inputs: { x: padded }, backend, attrs: { reps: [...outBatchShape.map((d, i) => d / shape[i]!), 1, 1] } });
        wasm.disposeData(padded.dataId);
        return tiled;
      };
      const [aFull, bFull] = [full(a), full(b)];
      const product = batchMatMul({ inputs: { a: aFull, b: bFull }, backend, attrs });
      wasm.disposeData(aFull.dataId);
      wasm.disposeData(bFull.dataId);
      return product;
    }
    // a broadcast against a batched b stays with the stock kernel.
    if (batchA !== batchB && batchB !== 1) return stockFn({ inputs, backend, attrs });

    const temporaries: tf.TensorInfo[] = [];
    const keep = (t: tf.TensorInfo): tf.TensorInfo => (temporaries.push(t), t);
    // Untransposed rank-3 operands: [batchA, m, k] and [batchB, k, n].
    let a3 = keep(reshape({ inputs: { x: a }, backend, attrs: { shape: transposeA ? [batchA, kA, m] : [batchA, m, kA] } }));
    if (transposeA) a3 = keep(transpose({ inputs: { x: a3 }, backend, attrs: { perm: [0, 2, 1] } }));
    let b3 = keep(reshape({ inputs: { x: b }, backend, attrs: { shape: transposeB ? [batchB, n, kB] : [batchB, kB, n] } }));
    if (transposeB) b3 = keep(transpose({ inputs: { x: b3 }, backend, attrs: { perm: [0, 2, 1] } }));
    const plain = { transposeA: false, transposeB: false };

    let out: tf.TensorInfo;
    if (batchB === 1) {
      // Fold a's batch into rows: one [batchA·m, k] × [k, n] GEMM on XNNPACK.
      const aRows = keep(reshape({ inputs: { x: a3 }, backend, attrs: { shape: [1, batchA * m, kA] } }));
      out = stockFn({ inputs: { a: aRows, b: b3 }, backend, attrs: plain });
    } else {
      out = wasm.makeOutput([batchA, m, n], "float32");
      // Per batch entry: copy the operands into fresh [1,·,·] tensors (the Slice kernel
      // would copy the whole input through readSync each time), one XNNPACK GEMM, copy out.
      // Fresh tensors each time: XNNPACK caches the packed right operand by tensor id.
      for (let i = 0; i < batchA; i++) {
        const ai = wasm.makeOutput([1, m, kA], "float32");
        const bi = wasm.makeOutput([1, kA, n], "float32");
        wasm.typedArrayFromHeap(ai).set(wasm.typedArrayFromHeap(a3).subarray(i * m * kA, (i + 1) * m * kA));
        wasm.typedArrayFromHeap(bi).set(wasm.typedArrayFromHeap(b3).subarray(i * kA * n, (i + 1) * kA * n));
        const oi = stockFn({ inputs: { a: ai, b: bi }, backend, attrs: plain });
        // Views after all allocations of this iteration (the heap may have grown).
        wasm.typedArrayFromHeap(out).set(wasm.typedArrayFromHeap(oi), i * m * n);
        wasm.disposeData(ai.dataId);
        wasm.disposeData(bi.dataId);
        wasm.disposeData(oi.dataId);
      }
    }
    for (const t of temporaries) wasm.disposeData(t.dataId);
    out.shape = outShape;
    return out;
  };

  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel({ kernelName: "BatchMatMul", backendName: "wasm", setupFunc: original.setupFunc, kernelFunc: batchMatMul as unknown as tf.KernelFunc });
}
