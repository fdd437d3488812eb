/** Token embedding: a [vocab, dim] table; a token gathers one row (0 FLOPs). */
import type { EmbedLayer, IRModel } from "../../ir/types.js";
import type { KindCost } from "../../compiler/cost/types.js";
import { big } from "../../compiler/cost/terms.js";
import { INDEX_BYTES } from "../../compiler/cost/conventions.js";

export function embedCost(layer: EmbedLayer, model: IRModel): KindCost {
  const table = big(layer.vocab) * big(layer.dim);
  // A tied lm_head uses the whole table every token; its active params are
  // counted there, and the one gathered row is a part of them.
  const tied = model.layers.some((l) => l.kind === "lm_head" && l.tied);
  return {
    paramsBreakdown: { table },
    buffersBreakdown: {},
    activeParams: tied ? 0n : big(layer.dim),
    terms: [],
    savedElementsPerToken: 0,
    savedIndicesPerToken: 1, // the token id, to scatter the row gradient
    traffic: {
      weightElementsPerPass: 0,
      weightElementsPerToken: layer.dim,
      activationElementsPerToken: layer.dim, // the gathered row written out
      indexBytesPerToken: INDEX_BYTES,
    },
    sparseTables: [],
    nonFlop: { topkCandidates: 0, gatheredRows: 1, gatheredRowWidth: layer.dim },
    sharedParams: 0n,
  };
}
