/**
 * Uniform access to tensor memory for JS kernels on the two backends whose
 * tensors live in host memory: "wasm" (views into the wasm heap) and "cpu"
 * (plain typed arrays). A kernel allocates its output first and takes views
 * afterwards, because allocating on wasm may grow the heap and detach every
 * earlier view.
 */
import type * as tf from "@tensorflow/tfjs";

export type HostArray = Float32Array | Int32Array | Uint8Array;

/** The slice of BackendWasm these kernels use. */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): HostArray;
}

/** The slice of MathBackendCPU these kernels use. */
interface CpuBackendLike {
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: HostArray): tf.TensorInfo;
  data: { get(dataId: tf.DataId): { values: HostArray } };
}

export interface HostMemory {
  /** A new, zero-filled output tensor. */
  allocate(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** The values of a tensor; valid until the next `allocate`. */
  view(info: tf.TensorInfo): HostArray;
}

function typedArrayFor(dtype: tf.DataType, size: number): HostArray {
  if (dtype === "float32") return new Float32Array(size);
  if (dtype === "int32") return new Int32Array(size);
  if (dtype === "bool") return new Uint8Array(size);
  throw new Error(`host kernels support float32, int32 and bool tensors, not ${dtype}`);
}

export function hostMemory(backendName: "wasm" | "cpu", backend: unknown): HostMemory {
  if (backendName === "wasm") {
    const wasm = backend as WasmBackendLike;
    return {
      allocate(shape, dtype) {
        const info = wasm.makeOutput(shape, dtype);
        wasm.typedArrayFromHeap(info).fill(0); // the heap is reused: clear stale values
        return info;
      },
      view: (info) => wasm.typedArrayFromHeap(info),
    };
  }
  const cpu = backend as CpuBackendLike;
  return {
    allocate(shape, dtype) {
      let size = 1;
      for (const d of shape) size *= d;
      return cpu.makeTensorInfo(shape, dtype, typedArrayFor(dtype, size));
    },
    view: (info) => cpu.data.get(info.dataId).values,
  };
}

export function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}
