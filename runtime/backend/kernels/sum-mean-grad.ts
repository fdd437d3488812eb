/**
 * Sum and Mean gradients that broadcast dy with `onesLike(x)` (a backend fill)
 * instead of tfjs-core's `ones(x.shape)`, which is built in a JS loop:
 * 480–550 ms per 8.4 M elements versus ~13 ms (tfjs-runtime.md §2).
 * Gradients are global in tfjs (not per backend), so this is registered once.
 */
import * as tf from "@tensorflow/tfjs";

function expandedDy(dy: tf.Tensor, x: tf.Tensor, axis: number | number[]): { dy: tf.Tensor; reduceSize: number } {
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const shape = x.shape.slice();
  let reduceSize = 1;
  for (const a of axes) {
    reduceSize *= shape[a]!;
    shape[a] = 1;
  }
  return { dy: tf.reshape(dy, shape), reduceSize };
}

/** Float ones shaped like x (x may be int32 when an int tensor is summed). */
function floatOnes(x: tf.Tensor): tf.Tensor {
  return x.dtype === "float32" ? tf.onesLike(x) : tf.cast(tf.onesLike(x), "float32");
}

export function registerSumMeanGradients(): void {
  tf.registerGradient({
    kernelName: "Sum",
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const x = saved[0]!;
      const { axis } = attrs as unknown as { axis: number | number[] };
      return { x: () => tf.mul(expandedDy(dy as tf.Tensor, x, axis).dy, floatOnes(x)) };
    },
  });
  tf.registerGradient({
    kernelName: "Mean",
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const x = saved[0]!;
      const { axis } = attrs as unknown as { axis: number | number[] };
      return {
        x: () => {
          const e = expandedDy(dy as tf.Tensor, x, axis);
          return tf.div(tf.mul(e.dy, floatOnes(x)), e.reduceSize);
        },
      };
    },
  });
}
