/** LM head: x [n, dModel] → logits [n, vocab]; tied reuses the embedding [vocab, dModel] (counted once). */
import * as tf from "@tensorflow/tfjs";
import type { LmHeadLayer } from "../../ir/types.js";
import type { LayerBuildContext } from "../../runtime/model/init.js";
import { createDenseWeights, type KindRuntime } from "../../runtime/layers/kind.js";
import { lmHeadWeights } from "./weights.js";
import type { NamedVariable, RuntimeLayer } from "../../runtime/layers/layer.js";

export function createLmHeadLayer(layer: LmHeadLayer, ctx: LayerBuildContext, embeddingName: string | null): RuntimeLayer {
  const weights = createDenseWeights(layer.path, lmHeadWeights(layer), ctx);
  const bias = weights.maybe("bias");
  let matrix: tf.Variable;
  const own: NamedVariable[] = [];
  if (layer.tied) {
    const embedding = embeddingName ? ctx.find(embeddingName) : undefined;
    if (!embedding) throw new Error(`${layer.path}: a tied lm_head needs an embed layer before it`);
    matrix = embedding.variable; // [vocab, dModel]: not listed again, so it is counted and updated once
  } else {
    const weight = weights.get("weight");
    matrix = weight.variable;
    own.push(weight);
  }
  if (bias) own.push(bias);
  return {
    path: layer.path,
    kind: "lm_head",
    variables: own,
    sparseTables: [],
    buffers: () => [],
    apply(x: tf.Tensor): tf.Tensor {
      const logits = tf.matMul(x as tf.Tensor2D, matrix as tf.Tensor2D, false, layer.tied);
      return bias ? tf.add(logits, bias.variable) : logits;
    },
  };
}

export const lmHeadRuntime: KindRuntime<LmHeadLayer> = { kind: "lm_head", weights: lmHeadWeights, create: (layer, ctx, env) => createLmHeadLayer(layer, ctx, env.embeddingName) };
