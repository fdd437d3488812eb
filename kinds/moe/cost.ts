/**
 * Mixture of experts: a softmax router over E experts, each a dense MLP.
 * Per token, `a` experts run on average: token choice a = topk (the capacity
 * factor only caps an expert's load: dropped tokens and padding are not work
 * the model means to do); expert choice a = capacity factor c (each expert
 * takes c·T/E of the T tokens, so c experts per token on average).
 */
import type { IRModel, MoeLayer } from "../../ir/types.js";
import type { FlopTerm, KindCost } from "../../compiler/cost/types.js";
import { big, elementwise, matrix } from "../../compiler/cost/terms.js";
import { INDEX_BYTES, SOFTMAX_FLOPS_PER_ELEMENT } from "../../compiler/cost/conventions.js";
import { mlpActivationTraffic, mlpParams, mlpSaved, mlpTerms } from "../ffw/cost.js";

/** Experts run per token on average. */
export function expertsPerToken(layer: MoeLayer): number {
  return layer.routing === "token" ? layer.topk : layer.capacity;
}

/** a × count in exact integers for a fractional a (capacity factors have few decimals). */
function scaleBig(count: bigint, a: number): bigint {
  const milli = BigInt(Math.round(a * 1000));
  return (count * milli) / 1000n;
}

export function moeCost(layer: MoeLayer, _model: IRModel): KindCost {
  const d = layer.dModel;
  const e = layer.experts;
  const a = expertsPerToken(layer);
  const expertParts = mlpParams(layer);
  let perExpert = 0n;
  for (const v of Object.values(expertParts)) perExpert += v;
  const router = big(d) * big(e);
  const experts = big(e) * perExpert;

  const terms: FlopTerm[] = [
    matrix("router", 2 * d * e),
    elementwise("router_softmax", SOFTMAX_FLOPS_PER_ELEMENT * e),
  ];
  for (const t of mlpTerms(layer, "experts.")) {
    terms.push({ name: t.name, matrix: a * t.matrix, elementwise: a * t.elementwise });
  }
  terms.push(elementwise("combine", 2 * d * a)); // gate × output, summed into y

  return {
    paramsBreakdown: { router, experts },
    buffersBreakdown: {},
    activeParams: router + scaleBig(perExpert, a),
    terms,
    savedElementsPerToken: d + e + a * mlpSaved(layer) + a, // x, router probabilities, each expert's inputs, gates
    savedIndicesPerToken: Math.ceil(a),
    traffic: {
      // With T ≥ E tokens in a pass every expert receives tokens and reads its weights once.
      weightElementsPerPass: Number(router + experts),
      weightElementsPerToken: 0,
      activationElementsPerToken:
        d + e + 2 * e + // read x, write logits, softmax
        2 * a * d + // dispatch: gather the token to each expert
        a * mlpActivationTraffic(layer) +
        2 * a * d + d, // combine: read outputs and gates, write y
      indexBytesPerToken: 2 * Math.ceil(a) * INDEX_BYTES,
    },
    sparseTables: [],
    nonFlop: { topkCandidates: e, gatheredRows: a, gatheredRowWidth: d },
    sharedParams: 0n,
  };
}
