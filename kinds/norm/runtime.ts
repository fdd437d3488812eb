/** RMSNorm / LayerNorm over the model width, composed from moments and rsqrt. */
import type * as tf from "@tensorflow/tfjs";
import type { NormLayer } from "../../ir/types.js";
import { ones, zeros, type LayerBuildContext } from "../../runtime/model/init.js";
import type { NamedVariable, RuntimeLayer } from "../../runtime/layers/layer.js";
import { layerNorm, rmsNorm } from "../../runtime/layers/ops.js";

export function createNormLayer(layer: NormLayer, ctx: LayerBuildContext): RuntimeLayer {
  const gain = ctx.variable(`${layer.path}.gain`, [layer.dim], ones, { noDecay: true });
  const bias = layer.type === "layer" ? ctx.variable(`${layer.path}.bias`, [layer.dim], zeros, { noDecay: true }) : null;
  const variables: NamedVariable[] = bias ? [gain, bias] : [gain];
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
