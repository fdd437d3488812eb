/**
 * In-place access to tensor memory for the optimizer's host passes.
 *
 * On wasm a float32 tensor's values live in the wasm heap; `typedArrayFromHeap`
 * gives a view that can be read and written without a kernel call. Writing is
 * only safe when no other tensor shares the buffer (the backend's refCount is
 * 1): reshape, identity and Variable.assign share buffers. `exclusive` makes a
 * variable the sole owner of its buffer (a copy when it is shared), so that
 * the optimizer can update parameters and moments in place.
 *
 * Views are invalidated when the heap grows, i.e. by any tensor allocation:
 * take them after all allocations of a pass (see AdamW.applyHost).
 *
 * Never write in place into a tensor that may be a matmul's right operand
 * again (a parameter): the wasm BatchMatMul caches XNNPACK's packed copy of
 * that operand by buffer id, and would keep using the old values.
 */
import * as tf from "@tensorflow/tfjs";

export interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array;
  refCount(dataId: tf.DataId): number;
}

/** The wasm backend when it is the active one, else null (other backends use tf ops). */
export function wasmHeap(): WasmHeapBackend | null {
  if (tf.getBackend() !== "wasm") return null;
  return tf.engine().backend as unknown as WasmHeapBackend;
}

/** Heap view of a float32 tensor (valid until the next tensor allocation). */
export function heapView(backend: WasmHeapBackend, t: tf.Tensor): Float32Array {
  return backend.typedArrayFromHeap({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }) as Float32Array;
}

/** True when `t` is the only tensor on its buffer, so writing the buffer changes only `t`. */
export function ownsBuffer(backend: WasmHeapBackend, t: tf.Tensor): boolean {
  return t.dtype === "float32" && backend.refCount(t.dataId) === 1;
}

/** Gives `variable` a buffer of its own (a copy of its values) if it shares one. */
export function exclusive(backend: WasmHeapBackend, variable: tf.Variable): void {
  if (ownsBuffer(backend, variable)) return;
  const info = backend.makeOutput(variable.shape, "float32");
  const out = backend.typedArrayFromHeap(info) as Float32Array;
  out.set(heapView(backend, variable)); // views taken after makeOutput (heap growth)
  const copy = tf.engine().makeTensorFromTensorInfo(info);
  variable.assign(copy);
  copy.dispose();
}
