/** Learned absolute positions: x[b·T + t] += weight[t]. (RoPE lives in attention.) */
import * as tf from "@tensorflow/tfjs";
import type { PositionsLayer } from "../../ir/types.js";
import type { LayerBuildContext } from "../../runtime/model/init.js";
import { createDenseWeights, type KindRuntime } from "../../runtime/layers/kind.js";
import type { ForwardContext, RuntimeLayer } from "../../runtime/layers/layer.js";
import { positionsWeights } from "./weights.js";

/** Position ids [0..T-1] repeated B times, cached per (B, T): built once, kept across steps. */
const positionIds = new Map<string, tf.Tensor1D>();

export function positionIdsFor(batch: number, seqLen: number): tf.Tensor1D {
  const key = `${batch}x${seqLen}`;
  let ids = positionIds.get(key);
  if (!ids || ids.isDisposed) {
    const values = new Int32Array(batch * seqLen);
    for (let i = 0; i < values.length; i++) values[i] = i % seqLen;
    ids = tf.keep(tf.tensor1d(values, "int32"));
    positionIds.set(key, ids);
  }
  return ids;
}

export function createPositionsLayer(layer: PositionsLayer, ctx: LayerBuildContext): RuntimeLayer {
  const weight = createDenseWeights(layer.path, positionsWeights(layer), ctx).get("weight");
  return {
    path: layer.path,
    kind: "positions",
    variables: [weight],
    sparseTables: [],
    buffers: () => [],
    apply(x: tf.Tensor, fctx: ForwardContext): tf.Tensor {
      if (fctx.seqLen > layer.context) throw new Error(`${layer.path}: sequence length ${fctx.seqLen} exceeds the context ${layer.context}`);
      return tf.add(x, tf.gather(weight.variable, positionIdsFor(fctx.batch, fctx.seqLen), 0));
    },
  };
}

export const positionsRuntime: KindRuntime<PositionsLayer> = { kind: "positions", weights: positionsWeights, create: (layer, ctx) => createPositionsLayer(layer, ctx) };
