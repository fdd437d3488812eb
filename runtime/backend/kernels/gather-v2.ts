/**
 * GatherV2 as a row copy on the host backends (wasm, cpu).
 *
 * Why: on wasm the C++ gather takes ~1.2 s for [65536,256] by 2048·64 ids and
 * crashes the heap for float32 with batchDims ≥ 1 (tfjs-runtime.md §2); on
 * cpu it copies element by element. Here every gathered slice is one
 * `TypedArray.set` of `inner` contiguous values, for any axis and batchDims.
 */
import * as tf from "@tensorflow/tfjs";
import { hostMemory, sizeOf } from "./host-memory.js";

export interface GatherGeometry {
  readonly outShape: number[];
  /** Product of the batch dimensions (x.shape[0:batchDims]). */
  readonly batch: number;
  /** Product of x.shape[batchDims:axis]. */
  readonly outer: number;
  readonly axisSize: number;
  /** Indices per batch entry. */
  readonly perBatch: number;
  /** Product of x.shape[axis+1:]: the length of one copied slice. */
  readonly inner: number;
}

export function gatherGeometry(xShape: readonly number[], indicesShape: readonly number[], axisAttr: number, batchDimsAttr: number): GatherGeometry {
  const axis = axisAttr < 0 ? axisAttr + xShape.length : axisAttr;
  const batchDims = batchDimsAttr < 0 ? batchDimsAttr + indicesShape.length : batchDimsAttr;
  if (axis < 0 || axis >= xShape.length) throw new Error(`GatherV2: axis ${axisAttr} is out of range for rank ${xShape.length}`);
  if (batchDims > axis) throw new Error(`GatherV2: batchDims (${batchDims}) must not exceed axis (${axis})`);
  for (let i = 0; i < batchDims; i++) {
    if (xShape[i] !== indicesShape[i]) {
      throw new Error(`GatherV2: x.shape[${i}] = ${xShape[i]} must equal indices.shape[${i}] = ${indicesShape[i]} (batchDims ${batchDims})`);
    }
  }
  const outShape = [...xShape.slice(0, axis), ...indicesShape.slice(batchDims), ...xShape.slice(axis + 1)];
  return {
    outShape,
    batch: sizeOf(xShape.slice(0, batchDims)),
    outer: sizeOf(xShape.slice(batchDims, axis)),
    axisSize: xShape[axis]!,
    perBatch: sizeOf(indicesShape.slice(batchDims)),
    inner: sizeOf(xShape.slice(axis + 1)),
  };
}

type Values = Float32Array | Int32Array | Uint8Array;

/** out[b, o, i, :] = x[b, o, ids[b, i], :]. Throws on an index outside [0, axisSize). */
export function gatherRows(x: Values, ids: Int32Array | Float32Array | Uint8Array, out: Values, g: GatherGeometry): void {
  const { batch, outer, axisSize, perBatch, inner } = g;
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < outer; o++) {
      const srcBase = (b * outer + o) * axisSize;
      const dstBase = (b * outer + o) * perBatch;
      for (let i = 0; i < perBatch; i++) {
        const id = ids[b * perBatch + i]!;
        if (id < 0 || id >= axisSize) throw new Error(`GatherV2: index ${id} is not in [0, ${axisSize - 1}]`);
        const src = (srcBase + id) * inner;
        if (inner === 1) out[dstBase + i] = x[src]!;
        else out.set(x.subarray(src, src + inner), (dstBase + i) * inner);
      }
    }
  }
}

export function registerGatherV2(backendName: "wasm" | "cpu"): void {
  tf.unregisterKernel("GatherV2", backendName);
  tf.registerKernel({
    kernelName: "GatherV2",
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
      const { axis, batchDims } = attrs as unknown as { axis: number; batchDims: number };
      const geometry = gatherGeometry(x.shape, indices.shape, axis, batchDims ?? 0);
      const memory = hostMemory(backendName, backend);
      const out = memory.allocate(geometry.outShape, x.dtype);
      gatherRows(memory.view(x), memory.view(indices), memory.view(out), geometry);
      return out;
    },
  });
}
