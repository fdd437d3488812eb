/** Learned absolute positions: a [context, dim] table added to the embeddings. */
import type { IRModel, PositionsLayer } from "../../ir/types.js";
import type { KindCost } from "../../compiler/cost/types.js";
import { big, elementwise } from "../../compiler/cost/terms.js";

export function positionsCost(layer: PositionsLayer, _model: IRModel): KindCost {
  return {
    paramsBreakdown: { table: big(layer.context) * big(layer.dim) },
    buffersBreakdown: {},
    activeParams: big(layer.dim),
    terms: [elementwise("add", layer.dim)],
    savedElementsPerToken: 0, // an add needs nothing for its backward
    savedIndicesPerToken: 0,
    traffic: {
      weightElementsPerPass: 0,
      weightElementsPerToken: layer.dim,
      activationElementsPerToken: 2 * layer.dim, // read x, write x + p
      indexBytesPerToken: 0,
    },
    sparseTables: [],
    nonFlop: { topkCandidates: 0, gatheredRows: 1, gatheredRowWidth: layer.dim },
    sharedParams: 0n,
  };
}
