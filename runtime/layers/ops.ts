/**
 * Functional helpers shared by the dense layers (and the emitted code):
 * activations, 2-D linear maps, norms composed from moments/rsqrt, and a
 * gradient-free alias for index tensors.
 */
import * as tf from "@tensorflow/tfjs";
import type { Activation } from "../../ir/types.js";

/**
 * A zero-copy alias of `t` that the gradient tape cannot see: the stop-gradient
 * for int32 indices (top-k ids, offsets) and for scores used only to choose.
 * The alias shares `t`'s memory (reference-counted), so disposing either is safe.
 */
export function detach<T extends tf.Tensor>(t: T): T {
  const engine = tf.engine() as unknown as {
    backend: { incRef(dataId: tf.DataId): void };
    makeTensorFromTensorInfo(info: tf.TensorInfo): tf.Tensor;
  };
  engine.backend.incRef(t.dataId);
  return engine.makeTensorFromTensorInfo({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }) as T;
}

const SQRT_HALF = Math.SQRT1_2;
const GELU_TANH_C = Math.sqrt(2 / Math.PI);

export function activate(x: tf.Tensor, act: Activation): tf.Tensor {
  switch (act) {
    case "relu":
      return tf.relu(x);
    case "gelu": // exact: x·Φ(x) = ½x(1 + erf(x/√2))
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, SQRT_HALF)), 1));
    case "gelu_tanh":
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), GELU_TANH_C)), 1));
    case "silu":
      return tf.mul(x, tf.sigmoid(x));
    case "sigmoid":
      return tf.sigmoid(x);
    case "tanh":
      return tf.tanh(x);
    case "identity":
      return x;
  }
}

/** x[n, in] · w[in, out] (+ b[out]): every weight matmul stays 2-D (fast on wasm; avoids tfjs #8721). */
export function linear(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null = null): tf.Tensor2D {
  const y = tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
  return (b ? tf.add(y, b) : y) as tf.Tensor2D;
}

/** RMSNorm over the last axis: x · rsqrt(mean(x²) + eps) · gain. */
export function rmsNorm(x: tf.Tensor, gain: tf.Tensor, eps: number): tf.Tensor {
  const meanSquare = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), gain);
}

/** LayerNorm over the last axis from moments + rsqrt (tf.batchNorm's gradient goes through the slow Tile). */
export function layerNorm(x: tf.Tensor, gain: tf.Tensor, bias: tf.Tensor | null, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  const normed = tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gain);
  return bias ? tf.add(normed, bias) : normed;
}

/** True when every element is finite (one host sync). */
export function allFinite(x: tf.Tensor): boolean {
  return tf.tidy(() => tf.all(tf.isFinite(x)).dataSync()[0] === 1);
}
