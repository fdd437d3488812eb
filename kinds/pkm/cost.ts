/**
 * Product-key memory (Lample et al. 2019): h heads each retrieve k value rows
 * of a [N, value_dim] table by product keys; output = Σ softmax-weighted rows.
 */
import type { IRModel, PkmLayer } from "../../ir/types.js";
import type { KindCost } from "../../compiler/cost/types.js";
import { big, matrix } from "../../compiler/cost/terms.js";
import { retrievalCost } from "../product-keys/cost.js";

export function pkmCost(layer: PkmLayer, _model: IRModel): KindCost {
  const dv = layer.valueDim;
  const hk = layer.heads * layer.topk;
  const r = retrievalCost(layer, layer.subKeys);
  return {
    paramsBreakdown: { values: big(layer.memories) * big(dv), ...r.paramsBreakdown },
    buffersBreakdown: r.buffersBreakdown,
    activeParams: big(hk) * big(dv) + r.activeParams,
    terms: [...r.terms, matrix("value_sum", 2 * hk * dv)],
    savedElementsPerToken: r.savedElementsPerToken + hk * dv, // the gathered rows, for the weight gradient
    savedIndicesPerToken: r.savedIndicesPerToken,
    traffic: {
      weightElementsPerPass: r.weightElementsPerPass,
      weightElementsPerToken: hk * dv,
      activationElementsPerToken:
        r.activationElementsPerToken +
        hk * dv + // gathered rows written
        hk * dv + hk + dv, // weighted sum: read rows and weights, write y
      indexBytesPerToken: r.indexBytesPerToken,
    },
    sparseTables: [{ name: "values", rows: big(layer.memories), cols: dv, rowsPerToken: hk }],
    nonFlop: { topkCandidates: r.topkCandidates, gatheredRows: hk, gatheredRowWidth: dv },
    sharedParams: 0n,
  };
}
