/**
 * The retrieval shared by PKM and PEER (Lample et al. 2019; He 2024 Eq. 4–5):
 * a query network x → h queries of key_dim, an optional query norm, scores
 * against √N sub-keys per half, top-k' per half, k'² candidate sums, top-k.
 */
import type { PeerLayer, PkmLayer } from "../../ir/types.js";
import type { FlopTerm } from "../../compiler/cost/types.js";
import { big, elementwise, matrix, nonZero } from "../../compiler/cost/terms.js";
import { INDEX_BYTES, MEAN_NORM_FLOPS_PER_ELEMENT, SOFTMAX_FLOPS_PER_ELEMENT } from "../../compiler/cost/conventions.js";

export interface Retrieval {
  readonly paramsBreakdown: Record<string, bigint>;
  readonly buffersBreakdown: Record<string, bigint>;
  /** Query net, norm and sub-keys: all are used by every token. */
  readonly activeParams: bigint;
  readonly terms: FlopTerm[];
  readonly savedElementsPerToken: number;
  readonly savedIndicesPerToken: number;
  readonly weightElementsPerPass: number;
  readonly activationElementsPerToken: number;
  readonly indexBytesPerToken: number;
  readonly topkCandidates: number;
}

export function retrievalCost(layer: PeerLayer | PkmLayer, subKeys: number): Retrieval {
  const d = layer.dModel;
  const h = layer.heads;
  const k = layer.topk;
  const kSub = layer.subTopk;
  const q = h * layer.keyDim; // query width over all heads
  const keySets = layer.keys === "shared" ? 1 : h;
  // Two halves of √N sub-keys of key_dim / 2 each: √N · key_dim per set.
  const subKeyParams = big(keySets) * big(subKeys) * big(layer.keyDim);
  const normParams = layer.queryNorm === "none" ? 0n : 2n * big(q);

  const paramsBreakdown = nonZero({
    sub_keys: subKeyParams,
    query: big(d) * big(q),
    query_bias: layer.queryBias ? big(q) : 0n,
    query_norm: normParams,
  });
  const buffersBreakdown = nonZero({ query_norm_running_stats: layer.queryNorm === "batch" ? 2n * big(q) : 0n });
  let active = 0n;
  for (const v of Object.values(paramsBreakdown)) active += v;

  const terms: FlopTerm[] = [matrix("query", 2 * d * q)];
  if (layer.queryBias) terms.push(elementwise("query_bias", q));
  if (layer.queryNorm !== "none") terms.push(elementwise("query_norm", MEAN_NORM_FLOPS_PER_ELEMENT * q));
  // Each head scores its two halves: 2 · √N dot products of key_dim / 2.
  terms.push(matrix("sub_key_scores", 2 * h * subKeys * layer.keyDim));
  terms.push(elementwise("candidate_sums", h * kSub * kSub));
  terms.push(
    elementwise("router_scores", (layer.scores === "softmax" ? SOFTMAX_FLOPS_PER_ELEMENT : 1) * h * k),
  );

  const halfScores = 2 * h * subKeys;
  return {
    paramsBreakdown,
    buffersBreakdown,
    activeParams: active,
    terms,
    // x (query net input), the query before and after its norm, the k router weights.
    savedElementsPerToken: d + q + (layer.queryNorm === "none" ? 0 : q) + h * k,
    // final ids and the two half positions of each, to route score gradients to the sub-key scores.
    savedIndicesPerToken: 3 * h * k,
    weightElementsPerPass: Number(active),
    activationElementsPerToken:
      d + q + // read x, write q
      (layer.queryNorm === "none" ? 0 : 2 * q) +
      q + halfScores + // read q, write half scores
      halfScores + // top-k' reads them
      2 * h * kSub * kSub + // candidate sums written, read by the final top-k
      2 * h * k, // router scores: read and write
    indexBytesPerToken: INDEX_BYTES * (2 * h * kSub + h * k) * 2, // half and final ids, written then read
    topkCandidates: halfScores + h * kSub * kSub,
  };
}
