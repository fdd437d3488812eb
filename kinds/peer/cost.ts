/**
 * PEER (He 2024): h heads each retrieve k single-neuron experts
 * e_i(x) = σ(u_iᵀx)·v_i by product keys; outputs weighted by the router
 * scores and summed over heads (Eq. 7). u and v are two [N, d] tables read
 * only at the retrieved rows.
 */
import type { IRModel, PeerLayer } from "../../ir/types.js";
import type { KindCost } from "../../compiler/cost/types.js";
import { big, elementwise, matrix } from "../../compiler/cost/terms.js";
import { retrievalCost } from "../product-keys/cost.js";

export function peerCost(layer: PeerLayer, _model: IRModel): KindCost {
  const d = layer.dModel;
  const hk = layer.heads * layer.topk; // experts per token
  const table = big(layer.experts) * big(d);
  const r = retrievalCost(layer, layer.subKeys);
  return {
    paramsBreakdown: { experts_u: table, experts_v: table, ...r.paramsBreakdown },
    buffersBreakdown: r.buffersBreakdown,
    activeParams: 2n * big(hk) * big(d) + r.activeParams,
    terms: [
      ...r.terms,
      matrix("down", 2 * hk * d), // u_iᵀx for the hk retrieved experts
      elementwise("act", hk),
      elementwise("score_scale", hk),
      matrix("up", 2 * hk * d), // Σ g_i σ(u_iᵀx) v_i
    ],
    // Retrieval state, the gathered u and v rows (hk·d each), pre- and post-activation.
    savedElementsPerToken: r.savedElementsPerToken + 2 * hk * d + 2 * hk,
    savedIndicesPerToken: r.savedIndicesPerToken,
    traffic: {
      weightElementsPerPass: r.weightElementsPerPass,
      weightElementsPerToken: 2 * hk * d, // the gathered rows, not the table
      activationElementsPerToken:
        r.activationElementsPerToken +
        2 * hk * d + // gathered u, v written
        hk * d + d + hk + // down: read u rows, x; write hk
        2 * hk + // activation
        3 * hk + // score scale: read two, write one
        hk * d + hk + d, // up: read v rows and weights, write y
      indexBytesPerToken: r.indexBytesPerToken,
    },
    sparseTables: [
      { name: "experts_u", rows: big(layer.experts), cols: d, rowsPerToken: hk },
      { name: "experts_v", rows: big(layer.experts), cols: d, rowsPerToken: hk },
    ],
    nonFlop: { topkCandidates: r.topkCandidates, gatheredRows: 2 * hk, gatheredRowWidth: d },
    sharedParams: 0n,
  };
}
