/** Emitter of norm: the runtime's rmsNorm / layerNorm with the literal ε. */
import type { NormLayer } from "../../ir/types.js";
import type { LayerEmission } from "../../compiler/emit/layer-types.js";
import { lit } from "../../compiler/emit/code.js";

export function emitNorm(layer: NormLayer): LayerEmission {
  const rms = layer.type === "rms";
  return {
    name: rms ? "normRms" : "normLayer",
    summary: `${rms ? "RMSNorm" : "LayerNorm"} over ${layer.dim}, eps ${layer.eps}`,
    input: "x",
    usesCtx: false,
    usesPath: false,
    tiedTo: null,
    body: [rms ? `return rmsNorm(x, w.gain, ${lit(layer.eps)}) as tf.Tensor2D;` : `return layerNorm(x, w.gain, w.bias, ${lit(layer.eps)}) as tf.Tensor2D;`],
  };
}
