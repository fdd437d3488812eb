/**
 * Moving data between JS arrays and tfjs tensors without extra copies.
 *
 * The expert path computes in plain JS over Float32Arrays (tables live outside
 * tfjs). On wasm, `tf.tensor(array)` copies into the heap and `dataSync()`
 * copies out; for [tokens, width] activations those copies are a measurable part
 * of a step, so on wasm we write straight into a freshly allocated heap tensor
 * and read through a heap view. Other backends get the ordinary calls.
 */
import * as tf from "@tensorflow/tfjs";

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: "float32" | "int32"): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array;
}

function wasmBackend(): WasmBackendLike | null {
  if (tf.getBackend() !== "wasm") return null;
  return tf.engine().backend as unknown as WasmBackendLike;
}

/**
 * A new float32 tensor of `shape` whose values `fill` writes into a zeroed array.
 * `fill` must not create tensors (the heap view would be invalidated).
 */
export function writeTensor<R extends tf.Rank>(shape: number[], fill: (out: Float32Array) => void): tf.Tensor<R> {
  const backend = wasmBackend();
  if (backend === null) {
    const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
    fill(out);
    return tf.tensor(out, shape, "float32") as unknown as tf.Tensor<R>;
  }
  const info = backend.makeOutput(shape, "float32");
  const view = backend.typedArrayFromHeap(info) as Float32Array;
  view.fill(0);
  fill(view);
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor<R>;
}

/**
 * The values of a float32 tensor for reading. On wasm this is a view into the
 * heap: read it before creating any other tensor (heap growth detaches it).
 */
export function readHost(t: tf.Tensor): Float32Array {
  const backend = wasmBackend();
  if (backend !== null && t.dtype === "float32") {
    return backend.typedArrayFromHeap({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }) as Float32Array;
  }
  return t.dataSync() as Float32Array;
}

/**
 * tf.customGrad with typed tensor inputs: `f` receives the input tensors and
 * returns the value and a gradient function giving one gradient per input.
 */
export function customOp<T extends tf.Tensor>(
  f: (...inputs: tf.Tensor[]) => { value: T; gradFunc: (dy: T) => tf.Tensor | tf.Tensor[] },
): (...inputs: tf.Tensor[]) => T {
  // customGrad appends a `save` function after the inputs; we never use it.
  const op = tf.customGrad(((...args: unknown[]) =>
    f(...(args.filter((a) => a instanceof tf.Tensor) as tf.Tensor[]))) as unknown as Parameters<typeof tf.customGrad<T>>[0]);
  return (...inputs: tf.Tensor[]) => op(...inputs);
}
