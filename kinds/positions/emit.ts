/** Emitter of learned positions: the position table's rows added to the embeddings. */
import type { PositionsLayer } from "../../ir/types.js";
import type { LayerEmission } from "../../compiler/emit/layer-types.js";
import { lit } from "../../compiler/emit/code.js";

export function emitPositions(layer: PositionsLayer): LayerEmission {
  return {
    name: "positions",
    summary: `learned positions ${layer.context} × ${layer.dim}`,
    input: "x",
    usesCtx: true,
    usesPath: false,
    tiedTo: null,
    body: [
      `if (ctx.seqLen > ${lit(layer.context)}) throw new Error("sequence length " + ctx.seqLen + " exceeds the context ${lit(layer.context)}");`,
      `return tf.add(x, tf.gather(w.weight, positionIdsFor(ctx.batch, ctx.seqLen), 0));`,
    ],
  };
}
