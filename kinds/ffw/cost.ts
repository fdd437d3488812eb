/** Dense feed-forward d → hidden → d, optionally gated (GLU: act(x·W_gate) ⊙ (x·W_in)). */
import type { FfwLayer, IRModel } from "../../ir/types.js";
import type { FlopTerm, KindCost } from "../../compiler/cost/types.js";
import { big, elementwise, matrix, nonZero } from "../../compiler/cost/terms.js";

/** The parts of one dense MLP, shared by `ffw` and each MoE expert. */
export interface MlpShape {
  readonly dModel: number;
  readonly hidden: number;
  readonly glu: boolean;
  readonly bias: boolean;
}

export function mlpParams(s: MlpShape): Record<string, bigint> {
  const d = big(s.dModel);
  const f = big(s.hidden);
  return nonZero({
    w_in: d * f,
    w_gate: s.glu ? d * f : 0n,
    w_out: f * d,
    b_in: s.bias ? f : 0n,
    b_gate: s.bias && s.glu ? f : 0n,
    b_out: s.bias ? d : 0n,
  });
}

export function mlpTerms(s: MlpShape, prefix = ""): FlopTerm[] {
  const d = s.dModel;
  const f = s.hidden;
  const terms: FlopTerm[] = [matrix(`${prefix}in`, 2 * d * f)];
  if (s.glu) terms.push(matrix(`${prefix}gate`, 2 * d * f));
  if (s.bias) terms.push(elementwise(`${prefix}bias`, (s.glu ? 2 : 1) * f + d));
  terms.push(elementwise(`${prefix}act`, f));
  if (s.glu) terms.push(elementwise(`${prefix}glu_product`, f));
  terms.push(matrix(`${prefix}out`, 2 * f * d));
  return terms;
}

/** Input, pre-activations and the hidden vector that feeds W_out. */
export function mlpSaved(s: MlpShape): number {
  return s.dModel + (s.glu ? 3 : 2) * s.hidden;
}

export function mlpActivationTraffic(s: MlpShape): number {
  const d = s.dModel;
  const f = s.hidden;
  const branches = s.glu ? 2 : 1;
  return (
    d + // read x
    branches * f + // write pre-activations
    2 * f + // activation: read, write
    (s.glu ? 3 * f : 0) + // product: read two, write one
    f + d // out: read hidden, write y
  );
}

export function ffwCost(layer: FfwLayer, _model: IRModel): KindCost {
  const paramsBreakdown = mlpParams(layer);
  let params = 0n;
  for (const v of Object.values(paramsBreakdown)) params += v;
  return {
    paramsBreakdown,
    buffersBreakdown: {},
    activeParams: params,
    terms: mlpTerms(layer),
    savedElementsPerToken: mlpSaved(layer),
    savedIndicesPerToken: 0,
    traffic: {
      weightElementsPerPass: Number(params),
      weightElementsPerToken: 0,
      activationElementsPerToken: mlpActivationTraffic(layer),
      indexBytesPerToken: 0,
    },
    sparseTables: [],
    nonFlop: { topkCandidates: 0, gatheredRows: 0, gatheredRowWidth: 0 },
    sharedParams: 0n,
  };
}
