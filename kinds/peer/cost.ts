/**
 * PEER (He 2024): h heads each retrieve k single-neuron experts
 * e_i(x) = σ(u_iᵀx)·v_i by product keys; outputs weighted by the router
 * scores and summed over heads (Eq. 7). u and v are two [N, d] tables read
 * only at the retrieved rows. GLU experts (`glu`, the paper's §2) add a gate
 * table g: e_i(x) = σ(g_iᵀx)·(u_iᵀx)·v_i, three [N, d] tables, one more
 * hk·d dot product and one product per expert.
 */
import type { IRModel, PeerLayer } from "../../ir/types.js";
import type { FlopTerm, KindCost } from "../../compiler/cost/types.js";
import { big, elementwise, matrix } from "../../compiler/cost/terms.js";
import { retrievalCost } from "../product-keys/cost.js";

export function peerCost(layer: PeerLayer, _model: IRModel): KindCost {
  const d = layer.dModel;
  const hk = layer.heads * layer.topk; // experts per token
  const rows = layer.glu ? 3 : 2; // expert rows per retrieved expert: u, v (and g)
  const table = big(layer.experts) * big(d);
  const r = retrievalCost(layer, layer.subKeys);
  const terms: FlopTerm[] = [
    ...r.terms,
    matrix("down", 2 * hk * d), // u_iᵀx for the hk retrieved experts
  ];
  if (layer.glu) terms.push(matrix("gate", 2 * hk * d)); // g_iᵀx
  terms.push(elementwise("act", hk)); // σ(u_iᵀx), or σ(g_iᵀx) with glu
  if (layer.glu) terms.push(elementwise("glu_product", hk)); // σ(g_iᵀx)·(u_iᵀx)
  terms.push(
    elementwise("score_scale", hk),
    matrix("up", 2 * hk * d), // Σ g_i e_i v_i
  );
  const tables = [
    { name: "experts_u", rows: big(layer.experts), cols: d, rowsPerToken: hk },
    { name: "experts_v", rows: big(layer.experts), cols: d, rowsPerToken: hk },
    ...(layer.glu ? [{ name: "experts_g", rows: big(layer.experts), cols: d, rowsPerToken: hk }] : []),
  ];
  return {
    paramsBreakdown: { experts_u: table, experts_v: table, ...(layer.glu ? { experts_g: table } : {}), ...r.paramsBreakdown },
    buffersBreakdown: r.buffersBreakdown,
    activeParams: big(rows) * big(hk) * big(d) + r.activeParams,
    terms,
    // Retrieval state, the gathered rows (hk·d each), pre- and post-activation (and the gate's pre-activation).
    savedElementsPerToken: r.savedElementsPerToken + rows * hk * d + (layer.glu ? 3 : 2) * hk,
    savedIndicesPerToken: r.savedIndicesPerToken,
    traffic: {
      weightElementsPerPass: r.weightElementsPerPass,
      weightElementsPerToken: rows * hk * d, // the gathered rows, not the tables
      activationElementsPerToken:
        r.activationElementsPerToken +
        rows * hk * d + // gathered u, v (and g) written
        hk * d + d + hk + // down: read u rows, x; write hk
        (layer.glu ? hk * d + d + hk : 0) + // gate: read g rows, x; write hk
        2 * hk + // activation
        (layer.glu ? 3 * hk : 0) + // glu product: read two, write one
        3 * hk + // score scale: read two, write one
        hk * d + hk + d, // up: read v rows and weights, write y
      indexBytesPerToken: r.indexBytesPerToken,
    },
    sparseTables: tables,
    nonFlop: { topkCandidates: r.topkCandidates, gatheredRows: rows * hk, gatheredRowWidth: d },
    sharedParams: 0n,
  };
}
