/** RMSNorm (scale only) and LayerNorm (scale and shift) over dim. */
import type { IRModel, NormLayer } from "../../ir/types.js";
import type { KindCost } from "../../compiler/cost/types.js";
import { big, elementwise } from "../../compiler/cost/terms.js";
import { MEAN_NORM_FLOPS_PER_ELEMENT, RMS_NORM_FLOPS_PER_ELEMENT } from "../../compiler/cost/conventions.js";

export function normCost(layer: NormLayer, _model: IRModel): KindCost {
  const d = layer.dim;
  const rms = layer.type === "rms";
  const paramsBreakdown: Record<string, bigint> = rms ? { scale: big(d) } : { scale: big(d), shift: big(d) };
  const perElement = rms ? RMS_NORM_FLOPS_PER_ELEMENT : MEAN_NORM_FLOPS_PER_ELEMENT;
  return {
    paramsBreakdown,
    buffersBreakdown: {},
    activeParams: rms ? big(d) : 2n * big(d),
    terms: [elementwise(rms ? "rms_norm" : "layer_norm", perElement * d)],
    savedElementsPerToken: d + 1, // the input and its 1/rms (or 1/σ)
    savedIndicesPerToken: 0,
    traffic: {
      weightElementsPerPass: rms ? d : 2 * d,
      weightElementsPerToken: 0,
      activationElementsPerToken: 2 * d,
      indexBytesPerToken: 0,
    },
    sparseTables: [],
    nonFlop: { topkCandidates: 0, gatheredRows: 0, gatheredRowWidth: 0 },
    sharedParams: 0n,
  };
}
