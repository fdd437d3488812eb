/**
 * The lazy AdamW update of a device expert table (runtime/train/adamw.ts
 * applyLazyRows) as two WGSL kernels on webgpu, one pass each over a shard's
 * [rows, d] arrays instead of the ~18 elementwise tf ops of the portable path:
 *   PeercLazyMoment (M, G, MASK) → m' = mask[r] ? β·m + a·g (or a·g²) : m
 *   PeercLazyParam  (P, M1, V1, MASK, LAST) →
 *                   w' = mask[r] ? w·keep^max(1, t − last[r]) − lr·(m'/c1)/(√(v'/c2) + ε) : w
 * (run for m, then v, then w). Bytes per element: read m, g, then v, g, then
 * w, m', v' (28 B), write m', v', w' (12 B): 40 B, against ~190 B for the
 * tf ops (plus 8 B per row for the mask and the last step).
 * Per-step values (lr, bias corrections, step) are uniforms, the row width
 * comes from tfjs's shape uniforms: one pipeline for every table.
 */
import * as tf from "@tensorflow/tfjs";

interface WebGpuBackendLike {
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], outputDtype: "float32", uniforms?: { type: "float32" | "int32"; data: number[] }[]): tf.TensorInfo;
}

const WORKGROUP = 64;

function program(key: string, inputs: string[], uniforms: string, body: string, shape: number[]): object {
  const size = shape[0]! * shape[1]!;
  return {
    variableNames: inputs,
    outputShape: shape,
    shaderKey: key,
    dispatchLayout: { x: [0, 1] },
    dispatch: [Math.ceil(size / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    uniforms,
    getUserCode: () => body,
  };
}

const MOMENT = `
fn main(index: i32) {
  if (index >= uniforms.size) { return; }
  let old = M[index];
  var value = old;
  if (MASK[index / uniforms.mShape.y] > 0.0) {
    let g = G[index];
    value = uniforms.beta * old + uniforms.scale * select(g, g * g, uniforms.square == 1);
  }
  setOutputAtIndex(index, value);
}
`;

const PARAM = `
fn main(index: i32) {
  if (index >= uniforms.size) { return; }
  let row = index / uniforms.pShape.y;
  var value = P[index];
  if (MASK[row] > 0.0) {
    // The decay owed since the row's last update, this step's included (keep = 1 − lr·wd).
    let decay = pow(uniforms.keep, max(1.0, uniforms.step - LAST[row]));
    value = value * decay - uniforms.lr * (M1[index] / uniforms.c1) / (sqrt(V1[index] / uniforms.c2) + uniforms.eps);
  }
  setOutputAtIndex(index, value);
}
`;

let registered = false;

function register(): void {
  if (registered) return;
  tf.registerKernel({
    kernelName: "PeercLazyMoment",
    backendName: "webgpu",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { M, G, MASK } = inputs as unknown as Record<string, tf.TensorInfo>;
      const { beta, scale, square } = attrs as unknown as { beta: number; scale: number; square: boolean };
      const p = program("peerc_lazy_moment", ["M", "G", "MASK"], "beta : f32, scale : f32, square : i32,", MOMENT, [...M!.shape]);
      return (backend as unknown as WebGpuBackendLike).runWebGPUProgram(p, [M!, G!, MASK!], "float32", [
        { type: "float32", data: [beta] },
        { type: "float32", data: [scale] },
        { type: "int32", data: [square ? 1 : 0] },
      ]);
    },
  });
  tf.registerKernel({
    kernelName: "PeercLazyParam",
    backendName: "webgpu",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { P, M1, V1, MASK, LAST } = inputs as unknown as Record<string, tf.TensorInfo>;
      const a = attrs as unknown as { lr: number; c1: number; c2: number; eps: number; keep: number; step: number };
      const p = program("peerc_lazy_param", ["P", "M1", "V1", "MASK", "LAST"], "lr : f32, c1 : f32, c2 : f32, eps : f32, keep : f32, step : f32,", PARAM, [...P!.shape]);
      return (backend as unknown as WebGpuBackendLike).runWebGPUProgram(
        p,
        [P!, M1!, V1!, MASK!, LAST!],
        "float32",
        [a.lr, a.c1, a.c2, a.eps, a.keep, a.step].map((v) => ({ type: "float32" as const, data: [v] })),
      );
    },
  });
  registered = true;
}

/** β·m + scale·g (square: g²) on the masked rows of m, m elsewhere. */
export function lazyMoment(m: tf.Tensor, g: tf.Tensor, mask: tf.Tensor, beta: number, scale: number, square: boolean): tf.Tensor {
  register();
  return tf.engine().runKernel("PeercLazyMoment", { M: m, G: g, MASK: mask }, { beta, scale, square } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** The masked rows of p decayed and stepped (see the file comment), p elsewhere. */
export function lazyParam(
  p: tf.Tensor,
  m1: tf.Tensor,
  v1: tf.Tensor,
  mask: tf.Tensor,
  last: tf.Tensor,
  hyper: { lr: number; c1: number; c2: number; eps: number; keep: number; step: number },
): tf.Tensor {
  register();
  return tf.engine().runKernel("PeercLazyParam", { P: p, M1: m1, V1: v1, MASK: mask, LAST: last }, hyper as unknown as tf.NamedAttrMap) as tf.Tensor;
}
