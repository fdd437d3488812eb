/**
 * peer: the product-key query side, then the expert tables [N, d], row id =
 * expert id: experts.u (input rows, N(0, 1/d)), experts.v (output rows,
 * N(0, 1/(h·k))) and, with `glu`, experts.g (gate rows, N(0, 1/d)):
 *   e_i(x) = σ(u_iᵀx)·v_i,   glu: e_i(x) = σ(g_iᵀx)·(u_iᵀx)·v_i.
 * praxis / Memory-layers init practice.
 */
import type { PeerLayer } from "../../ir/types.js";
import { expertTable, type WeightManifest } from "../manifest.js";
import { queryWeights } from "../product-keys/weights.js";

/** The expert-table names, relative to the layer path. */
export const PEER_TABLES = { in: "experts.u", out: "experts.v", gate: "experts.g" } as const;

export function peerWeights(layer: Omit<PeerLayer, "path" | "index" | "span" | "argSpans" | "kind">): WeightManifest {
  const { experts, dModel, heads, topk } = layer;
  const hk = heads * topk;
  const out = [
    ...queryWeights(layer),
    expertTable(PEER_TABLES.in, experts, dModel, { kind: "layer_normal", std: 1 / Math.sqrt(dModel) }, hk),
    expertTable(PEER_TABLES.out, experts, dModel, { kind: "layer_normal", std: 1 / Math.sqrt(hk) }, hk),
  ];
  if (layer.glu) out.push(expertTable(PEER_TABLES.gate, experts, dModel, { kind: "layer_normal", std: 1 / Math.sqrt(dModel) }, hk));
  return out;
}
