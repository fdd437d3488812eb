/** Token embedding: int32 ids [batch·seqLen] → rows of weight [vocab, dim]. */
import * as tf from "@tensorflow/tfjs";
import type { EmbedLayer } from "../../ir/types.js";
import type { LayerBuildContext } from "../../runtime/model/init.js";
import { createDenseWeights, type KindRuntime } from "../../runtime/layers/kind.js";
import type { ForwardContext, RuntimeLayer } from "../../runtime/layers/layer.js";
import { embedWeights } from "./weights.js";

export interface EmbedRuntime extends RuntimeLayer {
  /** [vocab, dim]; a tied lm_head multiplies by its transpose. */
  readonly weight: tf.Variable;
}

export function createEmbedLayer(layer: EmbedLayer, ctx: LayerBuildContext): EmbedRuntime {
  const weight = createDenseWeights(layer.path, embedWeights(layer), ctx).get("weight");
  return {
    path: layer.path,
    kind: "embed",
    weight: weight.variable,
    variables: [weight],
    sparseTables: [],
    buffers: () => [],
    apply(ids: tf.Tensor, _ctx: ForwardContext): tf.Tensor {
      if (ids.dtype !== "int32") throw new Error(`${layer.path}: token ids must be int32, got ${ids.dtype}`);
      return tf.gather(weight.variable, ids.reshape([-1]), 0);
    },
  };
}

export const embedRuntime: KindRuntime<EmbedLayer> = { kind: "embed", weights: embedWeights, create: (layer, ctx) => createEmbedLayer(layer, ctx) };
