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
 *   PeercRowStarts       (SORTED) → first sorted slot of each row   [rows + 1] i32
 *   PeercRowGrad         (COEF, Y, ORDER, STARTS) → Σ coef · y      [rows, d]
 * (kinds/peer/wgsl-rows.ts: dense [rows, d] like tf.gather's own gradient,
 * without the [T·h·k, d] operand, in a fixed order). Other backends use the
 * tf-ops path in kinds/peer/device.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { UserError } from "../../diagnostics/errors.js";
import type { Activation } from "../../ir/types.js";
import { activate } from "../../runtime/layers/ops.js";
import { kernelInUse } from "./device-registry.js";
import { expertDotsKernel, expertGateKernel, expertMixKernel, topkKernel, type KernelShape, type ShardRange, type WgslKernel } from "./wgsl.js";
import { rowGradKernel, rowStartsKernel } from "./wgsl-rows.js";

interface WebGpuBackendLike {
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], outputDtype: "float32" | "int32"): tf.TensorInfo;
}

type Attrs = KernelShape & { readonly act?: Activation; readonly glu?: boolean; readonly offset?: number; readonly rows?: number };

const WORKGROUP = 64;

function program(kernel: WgslKernel, outputShape: number[], invocations: number): object {
  // The trainer's emitted source for this key when it registered one (kinds/peer/device-registry.ts).
  kernel = kernelInUse(kernel);
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

function shardOf(attrs: Attrs): ShardRange | undefined {
  return attrs.rows === undefined ? undefined : { offset: attrs.offset ?? 0, rows: attrs.rows };
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
    const kernel = expertGateKernel(shapeOf(attrs), attrs.act ?? "relu", attrs.glu === true, shardOf(attrs));
    return backend.runWebGPUProgram(program(kernel, [...g!.shape], g!.shape[0]! * g!.shape[1]!), inputs, "float32");
  }, ["X", "G", "IDS", "U", "W"]);
  reg("PeercExpertMix", (inputs, attrs, backend) => {
    const [z] = inputs;
    const tokens = z!.shape[0]!;
    return backend.runWebGPUProgram(program(expertMixKernel(shapeOf(attrs), shardOf(attrs)), [tokens, attrs.dModel], tokens * attrs.dModel), inputs, "float32");
  }, ["Z", "IDS", "V"]);
  reg("PeercExpertDots", (inputs, attrs, backend) => {
    const [y] = inputs;
    const tokens = y!.shape[0]!;
    const slots = attrs.heads * attrs.topk;
    return backend.runWebGPUProgram(program(expertDotsKernel(shapeOf(attrs), shardOf(attrs)), [tokens, slots], tokens * slots), inputs, "float32");
  }, ["Y", "IDS", "V"]);
  reg("PeercRowStarts", ([sorted], attrs, backend) => {
    const rows = attrs.rows!;
    return backend.runWebGPUProgram(program(rowStartsKernel(attrs.offset ?? 0), [rows + 1], rows + 1), [sorted!], "int32");
  }, ["SORTED"]);
  reg("PeercRowGrad", (inputs, attrs, backend) => {
    const starts = inputs[3]!;
    const rows = starts.shape[0]! - 1;
    return backend.runWebGPUProgram(program(rowGradKernel(shapeOf(attrs)), [rows, attrs.dModel], rows * attrs.dModel), inputs, "float32");
  }, ["COEF", "Y", "ORDER", "STARTS"]);
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

/** Slot positions pass through float32 in tfjs's top-k (its indices) and ids as its float keys. */
const EXACT_F32 = 2 ** 24;

/**
 * The slots sorted by expert id: sortedIds ascending and order[p] the slot at
 * sorted position p. tfjs's top-k over −id is a bitonic network whose ties go
 * to the lower index, so equal ids keep ascending slot order: a fixed order.
 */
export function slotsByRow(ids: tf.Tensor1D, rows: number): { sortedIds: tf.Tensor1D; order: tf.Tensor1D } {
  const n = ids.shape[0];
  if (n >= EXACT_F32 || rows > EXACT_F32) {
    throw new UserError(
      `the device row gradient sorts ${n.toLocaleString("en-US")} slots (tokens × heads × top-k) over ${rows.toLocaleString("en-US")} rows by float32 keys, which are exact only below 2^24`,
      null,
      "use fewer tokens per micro-batch (a smaller micro_batch in the spec, or --context)",
    );
  }
  return tf.tidy(() => {
    const { values, indices } = tf.topk(tf.neg(tf.cast(ids, "float32")), n);
    return { sortedIds: tf.cast(tf.neg(values), "int32") as tf.Tensor1D, order: indices as tf.Tensor1D };
  });
}

/** A table as its row shards (one entry when unsharded), all shards rowsPerShard rows but the last. */
export interface ShardedTable {
  readonly shards: readonly tf.Tensor2D[];
  readonly rowsPerShard: number;
}

/**
 * out = Σ_s gates · σ(u_id·x) · v_id with the fused kernels (GLU: σ(w_id·x)·(u_id·x)).
 * Differentiable in x, gates and every shard (dense row gradients). A sharded
 * table runs each kernel once per shard on that shard's rows and sums. u, v
 * (and w) must be sharded alike. ids: [T·h·k] int32 (closed over: no gradient).
 */
export function fusedPeerExperts(
  x: tf.Tensor2D,
  gates: tf.Tensor2D,
  ids: tf.Tensor1D,
  u: tf.Tensor2D | ShardedTable,
  v: tf.Tensor2D | ShardedTable,
  w: tf.Tensor2D | ShardedTable | null,
  act: Activation,
  shape: KernelShape,
): tf.Tensor2D {
  const table = (t: tf.Tensor2D | ShardedTable): ShardedTable => (t instanceof tf.Tensor ? { shards: [t], rowsPerShard: t.shape[0] } : t);
  const U = table(u);
  const V = table(v);
  const W = w === null ? null : table(w);
  const count = U.shards.length;
  const sharded = count > 1;
  // Kernel attributes of shard s (no range when unsharded: the plain kernels).
  const at = (s: number): Attrs => {
    const base: Attrs = { ...shape, act, glu: W !== null };
    return sharded ? { ...base, offset: s * U.rowsPerShard, rows: U.shards[s]!.shape[0] } : base;
  };
  const tokens = x.shape[0];
  const slots = shape.heads * shape.topk;
  const sum = (parts: tf.Tensor[]) => (parts.length === 1 ? parts[0]! : tf.addN(parts));
  const overShards = (f: (s: number) => tf.Tensor) => sum(Array.from({ length: count }, (_, s) => f(s)));
  // Row gradients of every shard: slots sorted by row once per backward, each shard's starts once.
  const rowGradients = (slotIds: tf.Tensor1D) => {
    const { sortedIds, order } = slotsByRow(slotIds, count * U.rowsPerShard);
    const starts = new Map<number, tf.Tensor>();
    const startsOf = (s: number) => {
      if (!starts.has(s)) starts.set(s, run("PeercRowStarts", { SORTED: sortedIds }, { ...shape, offset: s * U.rowsPerShard, rows: U.shards[s]!.shape[0] }));
      return starts.get(s)!;
    };
    // Σ over the slots whose id lies in shard s of coef · y (dense over the shard's rows).
    return (s: number, coef: tf.Tensor, y: tf.Tensor2D) => run("PeercRowGrad", { COEF: tf.reshape(coef, [tokens * slots]), Y: y, ORDER: order, STARTS: startsOf(s) }, shape);
  };
  // customGrad passes a `save` function last; tensors made in the forward are freed unless saved.
  const body = (...args: unknown[]) => {
    const save = args[args.length - 1] as (tensors: tf.Tensor[]) => void;
    const [xi, gi] = args as tf.Tensor2D[];
    const us = args.slice(2, 2 + count) as tf.Tensor2D[];
    const vs = args.slice(2 + count, 2 + 2 * count) as tf.Tensor2D[];
    const ws = W === null ? null : (args.slice(2 + 2 * count, 2 + 3 * count) as tf.Tensor2D[]);
    const z = overShards((s) => run("PeercExpertGate", ws ? { X: xi!, G: gi!, IDS: ids, U: us[s]!, W: ws[s]! } : { X: xi!, G: gi!, IDS: ids, U: us[s]! }, at(s)));
    const value = overShards((s) => run("PeercExpertMix", { Z: z, IDS: ids, V: vs[s]! }, at(s)));
    // ids saved too: the backward must not depend on the forward's scope keeping them alive.
    save([z, ids]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const z = saved[0]!;
        const ids = saved[1] as tf.Tensor1D;
        const rowGrad = rowGradients(ids);
        const dz = overShards((s) => run("PeercExpertDots", { Y: dy, IDS: ids, V: vs[s]! }, at(s)));
        const aU = overShards((s) => run("PeercExpertDots", { Y: xi!, IDS: ids, V: us[s]! }, at(s)));
        const dV = vs.map((_, s) => rowGrad(s, z, dy as tf.Tensor2D));
        if (!ws) {
          const sU = activate(aU, act);
          const dG = tf.mul(dz, sU);
          const da = tf.mul(tf.mul(dz, gi!), activationDerivative(aU, act));
          const dx = overShards((s) => run("PeercExpertMix", { Z: da, IDS: ids, V: us[s]! }, at(s)));
          return [dx, dG, ...us.map((_, s) => rowGrad(s, da, xi!)), ...dV];
        }
        const aW = overShards((s) => run("PeercExpertDots", { Y: xi!, IDS: ids, V: ws[s]! }, at(s)));
        const sW = activate(aW, act);
        const dG = tf.mul(dz, tf.mul(sW, aU));
        const dzg = tf.mul(dz, gi!);
        const daU = tf.mul(dzg, sW);
        const daW = tf.mul(tf.mul(dzg, aU), activationDerivative(aW, act));
        const dx = tf.add(
          overShards((s) => run("PeercExpertMix", { Z: daU, IDS: ids, V: us[s]! }, at(s))),
          overShards((s) => run("PeercExpertMix", { Z: daW, IDS: ids, V: ws[s]! }, at(s))),
        );
        return [dx, dG, ...us.map((_, s) => rowGrad(s, daU, xi!)), ...dV, ...ws.map((_, s) => rowGrad(s, daW, xi!))];
      },
    };
  };
  const op = tf.customGrad(body as unknown as Parameters<typeof tf.customGrad>[0]);
  const inputs: tf.Tensor[] = [x, gates, ...U.shards, ...V.shards, ...(W === null ? [] : W.shards)];
  return (op as unknown as (...t: tf.Tensor[]) => tf.Tensor)(...inputs) as tf.Tensor2D;
}
