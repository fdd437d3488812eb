/** Emitter of embed: a row gather from the token table. */
import type { EmbedLayer } from "../../ir/types.js";
import type { LayerEmission } from "../../compiler/emit/layer-types.js";
import { lit } from "../../compiler/emit/code.js";

export function emitEmbed(layer: EmbedLayer): LayerEmission {
  return {
    name: "embed",
    summary: `embed ${layer.vocab} × ${layer.dim}`,
    input: "ids",
    usesCtx: false,
    usesPath: false,
    tiedTo: null,
    body: [`return tf.gather(w.weight, ids, 0) as tf.Tensor2D; // [batch·seqLen, ${lit(layer.dim)}]`],
  };
}
