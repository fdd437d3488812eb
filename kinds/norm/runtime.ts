/** RMSNorm / LayerNorm over the model width, composed from moments and rsqrt. */
import type * as tf from "@tensorflow/tfjs";
import type { NormLayer } from "../../ir/types.js";
import type { LayerBuildContext } from "../../runtime/model/init.js";
import { createDenseWeights, type KindRuntime } from "../../runtime/layers/kind.js";
import type { RuntimeLayer } from "../../runtime/layers/layer.js";
import { normWeights } from "./weights.js";
import { layerNorm, rmsNorm } from "../../runtime/layers/ops.js";

export function createNormLayer(layer: NormLayer, ctx: LayerBuildContext): RuntimeLayer {
  const weights = createDenseWeights(layer.path, normWeights(layer), ctx);
  const gain = weights.get("gain");
  const bias = weights.maybe("bias");
  const variables = weights.variables;
  return {
    path: layer.path,
    kind: "norm",
    variables,
    sparseTables: [],
    buffers: () => [],
    apply(x: tf.Tensor): tf.Tensor {
      return layer.type === "rms" ? rmsNorm(x, gain.variable, layer.eps) : layerNorm(x, gain.variable, bias?.variable ?? null, layer.eps);
    },
  };
}

export const normRuntime: KindRuntime<NormLayer> = { kind: "norm", weights: normWeights, create: (layer, ctx) => createNormLayer(layer, ctx) };
