/**
 * The WGSL kernels of kinds/peer/wgsl.ts as tfjs kernels of the webgpu
 * backend, and the fused PEER expert op built on them:
 *   PeercProductKeyTopk  (S1, S2) → ids                       [R, k] i32
 *   PeercExpertGate      (X, G, IDS, U[, W]) → z               [T, h·k]
 *   PeercExpertMix       (Z, IDS, V) → Σ_s z·v_id              [T, d]
 *   PeercExpertDots      (Y, IDS, V) → v_id · y_t              [T, h·k]
 * Attributes carry the layer's constants; each distinct shape compiles its own
 * specialised pipeline (tfjs caches by shader key). The fused op's forward
 * never materialises the [T·h·k, d] gathered rows; its backward computes dz,
 * the pre-activations and dx with the same kernels and the row gradients with
 * tfjs's UnsortedSegmentSum (dense [N, d], like tf.gather's own gradient).
 * Anything else (other backends, sharded tables) uses the tf-ops path in
 * kinds/peer/device.ts.
 */
import * as tf from "@tensorflow/tfjs";
import type { Activation } from "../../ir/types.js";
import { activate } from "../../runtime/layers/ops.js";
import { expertDotsKernel, expertGateKernel, expertMixKernel, topkKernel, type KernelShape, type WgslKernel } from "./wgsl.js";

interface WebGpuBackendLike {
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], outputDtype: "float32" | "int32"): tf.TensorInfo;
}

type Attrs = KernelShape & { readonly act?: Activation; readonly glu?: boolean };

const WORKGROUP = 64;

function program(kernel: WgslKernel, outputShape: number[], invocations: number): object {
  return {
    variableNames: [...kernel.inputs],
    outputShape,
    shaderKey: kernel.key,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(invocations / WORKGROUP), 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    size: true,
    getUserCode: () => kernel.source,
  };
}

function shapeOf(attrs: Attrs): KernelShape {
  const { subKeys, subTopk, topk, heads, keyDim, dModel } = attrs;
  return { subKeys, subTopk, topk, heads, keyDim, dModel };
}

let registered = false;

/** Registers the four kernels for the webgpu backend (idempotent). */
export function registerPeerKernels(): void {
  if (registered) return;
  const reg = (name: string, run: (inputs: tf.TensorInfo[], attrs: Attrs, backend: WebGpuBackendLike) => tf.TensorInfo, order: readonly string[]) =>
    tf.registerKernel({
      kernelName: name,
      backendName: "webgpu",
      kernelFunc: ({ inputs, backend, attrs }) => {
        const list = order.filter((n) => (inputs as Record<string, tf.TensorInfo | undefined>)[n] !== undefined).map((n) => (inputs as Record<string, tf.TensorInfo>)[n]!);
        return run(list, attrs as unknown as Attrs, backend as unknown as WebGpuBackendLike);
      },
    });
  reg("PeercProductKeyTopk", ([s1, s2], attrs, backend) => {
    const rows = s1!.shape[0]!;
    return backend.runWebGPUProgram(program(topkKernel(shapeOf(attrs)), [rows, attrs.topk], rows), [s1!, s2!], "int32");
  }, ["S1", "S2"]);
  reg("PeercExpertGate", (inputs, attrs, backend) => {
    const [x, g] = inputs;
    const kernel = expertGateKernel(shapeOf(attrs), attrs.act ?? "relu", attrs.glu === true);
    return backend.runWebGPUProgram(program(kernel, [...g!.shape], g!.shape[0]! * g!.shape[1]!), inputs, "float32");
  }, ["X", "G", "IDS", "U", "W"]);
  reg("PeercExpertMix", (inputs, attrs, backend) => {
    const [z] = inputs;
    const tokens = z!.shape[0]!;
    return backend.runWebGPUProgram(program(expertMixKernel(shapeOf(attrs)), [tokens, attrs.dModel], tokens * attrs.dModel), inputs, "float32");
  }, ["Z", "IDS", "V"]);
  reg("PeercExpertDots", (inputs, attrs, backend) => {
    const [y] = inputs;
    const tokens = y!.shape[0]!;
    const slots = attrs.heads * attrs.topk;
    return backend.runWebGPUProgram(program(expertDotsKernel(shapeOf(attrs)), [tokens, slots], tokens * slots), inputs, "float32");
  }, ["Y", "IDS", "V"]);
  registered = true;
}

/** True when the fused kernels can run now (webgpu backend current). */
export function peerKernelsAvailable(): boolean {
  return tf.getBackend() === "webgpu";
}

function run(name: string, inputs: Record<string, tf.Tensor>, attrs: Attrs): tf.Tensor {
  registerPeerKernels();
  return tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** Product-key ids [R, k] from the two halves' scores [R, √N] (no gradient). */
export function kernelTopkIds(scores1: tf.Tensor2D, scores2: tf.Tensor2D, shape: KernelShape): tf.Tensor2D {
  return run("PeercProductKeyTopk", { S1: scores1, S2: scores2 }, shape) as tf.Tensor2D;
}

/** dσ/da as tf ops, matching runtime/layers/ops.ts activate(). */
export function activationDerivative(a: tf.Tensor, act: Activation): tf.Tensor {
  switch (act) {
    case "relu":
      return tf.cast(tf.greater(a, 0), "float32");
    case "sigmoid": {
      const s = tf.sigmoid(a);
      return tf.mul(s, tf.sub(1, s));
    }
    case "tanh":
      return tf.sub(1, tf.square(tf.tanh(a)));
    case "silu": {
      const s = tf.sigmoid(a);
      return tf.mul(s, tf.add(1, tf.mul(a, tf.sub(1, s))));
    }
    case "identity":
      return tf.onesLike(a);
    case "gelu": // Φ(a) + a·φ(a)
      return tf.add(tf.mul(tf.add(tf.erf(tf.mul(a, Math.SQRT1_2)), 1), 0.5), tf.mul(a, tf.mul(tf.exp(tf.mul(tf.square(a), -0.5)), 1 / Math.sqrt(2 * Math.PI))));
    case "gelu_tanh": {
      const c = Math.sqrt(2 / Math.PI);
      const th = tf.tanh(tf.mul(tf.add(a, tf.mul(tf.pow(a, 3), 0.044715)), c));
      const inner = tf.mul(tf.add(1, tf.mul(tf.square(a), 3 * 0.044715)), c);
      return tf.add(tf.mul(tf.add(th, 1), 0.5), tf.mul(tf.mul(tf.mul(a, 0.5), tf.sub(1, tf.square(th))), inner));
    }
  }
}

/**
 * out = Σ_s gates · σ(u_id·x) · v_id with the fused kernels (GLU: σ(w_id·x)·(u_id·x)).
 * Differentiable in x, gates and the tables (dense row gradients).
 * ids: [T·h·k] int32 (closed over: no gradient).
 */
export function fusedPeerExperts(
  x: tf.Tensor2D,
  gates: tf.Tensor2D,
  ids: tf.Tensor1D,
  u: tf.Tensor2D,
  v: tf.Tensor2D,
  w: tf.Tensor2D | null,
  act: Activation,
  shape: KernelShape,
): tf.Tensor2D {
  const attrs: Attrs = { ...shape, act, glu: w !== null };
  const [tokens, d] = x.shape;
  const slots = shape.heads * shape.topk;
  const rows = u.shape[0];
  const rowGrad = (coef: tf.Tensor, y: tf.Tensor2D) =>
    tf.unsortedSegmentSum(tf.reshape(tf.mul(tf.expandDims(coef, 2), tf.expandDims(y, 1)), [tokens * slots, d]), ids, rows);
  // customGrad passes a `save` function last; tensors made in the forward are freed unless saved.
  const body = (...args: unknown[]) => {
    const save = args[args.length - 1] as (tensors: tf.Tensor[]) => void;
    const [xi, gi, ui, vi] = args as tf.Tensor2D[];
    const wi = args.length === 6 ? (args[4] as tf.Tensor2D) : undefined;
    const z = run("PeercExpertGate", wi ? { X: xi!, G: gi!, IDS: ids, U: ui!, W: wi } : { X: xi!, G: gi!, IDS: ids, U: ui! }, attrs);
    const value = run("PeercExpertMix", { Z: z, IDS: ids, V: vi! }, attrs);
    save([z]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const z = saved[0]!;
        const dz = run("PeercExpertDots", { Y: dy, IDS: ids, V: vi! }, attrs);
        const aU = run("PeercExpertDots", { Y: xi!, IDS: ids, V: ui! }, attrs);
        const dV = rowGrad(z, dy as tf.Tensor2D);
        if (!wi) {
          const s = activate(aU, act);
          const dG = tf.mul(dz, s);
          const da = tf.mul(tf.mul(dz, gi!), activationDerivative(aU, act));
          const dx = run("PeercExpertMix", { Z: da, IDS: ids, V: ui! }, attrs);
          return [dx, dG, rowGrad(da, xi!), dV];
        }
        const aW = run("PeercExpertDots", { Y: xi!, IDS: ids, V: wi }, attrs);
        const s = activate(aW, act);
        const dG = tf.mul(dz, tf.mul(s, aU));
        const dzg = tf.mul(dz, gi!);
        const daU = tf.mul(dzg, s);
        const daW = tf.mul(tf.mul(dzg, aU), activationDerivative(aW, act));
        const dx = tf.add(run("PeercExpertMix", { Z: daU, IDS: ids, V: ui! }, attrs), run("PeercExpertMix", { Z: daW, IDS: ids, V: wi }, attrs));
        return [dx, dG, rowGrad(daU, xi!), dV, rowGrad(daW, xi!)];
      },
    };
  };
  const op = tf.customGrad(body as unknown as Parameters<typeof tf.customGrad>[0]);
  return (w === null ? op(x, gates, u, v) : op(x, gates, u, v, w)) as tf.Tensor2D;
}
