/**
 * Multi-head (or grouped-query) self-attention over a context of T tokens.
 * Scores count the full T × T per head (no halving for causal masks): the
 * masked half is computed and then discarded by the kernels peerc emits.
 */
import type { AttentionLayer, IRModel } from "../../ir/types.js";
import type { KindCost } from "../../compiler/cost/types.js";
import { big, elementwise, matrix, nonZero } from "../../compiler/cost/terms.js";
import { SOFTMAX_FLOPS_PER_ELEMENT } from "../../compiler/cost/conventions.js";

export function attentionCost(layer: AttentionLayer, _model: IRModel): KindCost {
  const d = layer.dModel;
  const qWidth = layer.heads * layer.headDim;
  const kvWidth = layer.kvHeads * layer.headDim;
  const t = layer.context;
  const scores = layer.heads * t; // score entries per token (one row of T per head)

  const paramsBreakdown = nonZero({
    wq: big(d) * big(qWidth),
    wk: big(d) * big(kvWidth),
    wv: big(d) * big(kvWidth),
    wo: big(qWidth) * big(d),
    biases: layer.bias ? big(qWidth + 2 * kvWidth + d) : 0n,
  });
  let params = 0n;
  for (const v of Object.values(paramsBreakdown)) params += v;

  const terms = [
    matrix("qkv", 2 * d * (qWidth + 2 * kvWidth)),
    matrix("scores", 2 * qWidth * t), // q·kᵀ: T dot products of head_dim per head
    matrix("mix", 2 * qWidth * t), // probabilities × V
    matrix("out", 2 * qWidth * d),
  ];
  if (layer.bias) terms.push(elementwise("bias", qWidth + 2 * kvWidth + d));
  if (layer.rope) terms.push(elementwise("rope", 3 * (qWidth + kvWidth))); // x·cos + rot(x)·sin
  terms.push(elementwise("scale", scores));
  terms.push(elementwise("softmax", SOFTMAX_FLOPS_PER_ELEMENT * scores));

  return {
    paramsBreakdown,
    buffersBreakdown: {},
    activeParams: params,
    terms,
    // Inputs of every matmul: x; q, k, v; the probabilities; the mixed heads.
    savedElementsPerToken: d + qWidth + 2 * kvWidth + scores + qWidth,
    savedIndicesPerToken: 0,
    traffic: {
      weightElementsPerPass: Number(params),
      weightElementsPerToken: 0,
      activationElementsPerToken:
        d + // read x
        (qWidth + 2 * kvWidth) + // write q, k, v
        (layer.rope ? 2 * (qWidth + kvWidth) : 0) + // rotate q, k in place
        (qWidth + kvWidth) + // read q, k for the scores
        scores + // write scores
        2 * scores + // scale + softmax: read and write
        scores + kvWidth + // read probabilities and v
        qWidth + // write the mixed heads
        qWidth + d, // out projection: read, write
      indexBytesPerToken: 0,
    },
    sparseTables: [],
    nonFlop: { topkCandidates: 0, gatheredRows: 0, gatheredRowWidth: 0 },
    sharedParams: 0n,
  };
}
