/**
 * UnsortedSegmentSum for the host backends: missing on wasm (so the gather
 * gradient cannot run at all) and O(numSegments · size) on cpu (14 s for 128
 * segments of [2048,256]; tfjs-runtime.md §2). One pass over the input here.
 */
import * as tf from "@tensorflow/tfjs";
import { hostMemory, sizeOf } from "./host-memory.js";

/** out[ids[i], :] += x[i, :]; ids outside [0, numSegments) are dropped, as TensorFlow does for negative ids. */
export function segmentSumRows(x: Float32Array | Int32Array | Uint8Array, ids: ArrayLike<number>, out: Float32Array | Int32Array | Uint8Array, numSegments: number): void {
  const inner = ids.length === 0 ? 0 : x.length / ids.length;
  for (let i = 0; i < ids.length; i++) {
    const segment = ids[i]!;
    if (segment < 0 || segment >= numSegments) continue;
    const dst = segment * inner;
    const src = i * inner;
    for (let j = 0; j < inner; j++) out[dst + j] += x[src + j]!;
  }
}

export function registerUnsortedSegmentSum(backendName: "wasm" | "cpu"): void {
  if (tf.getKernel("UnsortedSegmentSum", backendName)) tf.unregisterKernel("UnsortedSegmentSum", backendName);
  tf.registerKernel({
    kernelName: "UnsortedSegmentSum",
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const { numSegments } = attrs as unknown as { numSegments: number };
      const idRank = segmentIds.shape.length;
      for (let i = 0; i < idRank; i++) {
        if (x.shape[i] !== segmentIds.shape[i]) {
          throw new Error(`UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}]`);
        }
      }
      const outShape = [numSegments, ...x.shape.slice(idRank)];
      const memory = hostMemory(backendName, backend);
      const out = memory.allocate(outShape, x.dtype);
      if (sizeOf(x.shape) > 0) segmentSumRows(memory.view(x), memory.view(segmentIds), memory.view(out), numSegments);
      return out;
    },
  });
}
