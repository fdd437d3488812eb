/** Output projection d → vocab, plus the log-softmax of the training loss. */
import type { IRModel, LmHeadLayer } from "../../ir/types.js";
import type { KindCost } from "../../compiler/cost/types.js";
import { big, elementwise, matrix, nonZero } from "../../compiler/cost/terms.js";
import { SOFTMAX_FLOPS_PER_ELEMENT } from "../../compiler/cost/conventions.js";

export function lmHeadCost(layer: LmHeadLayer, _model: IRModel): KindCost {
  const d = layer.dModel;
  const v = layer.vocab;
  const weight = big(d) * big(v);
  const terms = [matrix("logits", 2 * d * v)];
  if (layer.bias) terms.push(elementwise("bias", v));
  terms.push(elementwise("log_softmax", SOFTMAX_FLOPS_PER_ELEMENT * v));
  return {
    // Tied: the embedding table is the weight; counted once, at the embedding.
    paramsBreakdown: nonZero({ weight: layer.tied ? 0n : weight, bias: layer.bias ? big(v) : 0n }),
    buffersBreakdown: {},
    activeParams: weight + (layer.bias ? big(v) : 0n),
    terms,
    savedElementsPerToken: d + v, // the input (for the weight gradient) and the probabilities
    savedIndicesPerToken: 1, // the target token
    traffic: {
      weightElementsPerPass: d * v + (layer.bias ? v : 0),
      weightElementsPerToken: 0,
      activationElementsPerToken: d + 3 * v, // read x; write logits; read and write the softmax
      indexBytesPerToken: 0,
    },
    sparseTables: [],
    nonFlop: { topkCandidates: 0, gatheredRows: 0, gatheredRowWidth: 0 },
    sharedParams: layer.tied ? weight : 0n,
  };
}
