/**
 * PEER layer (He 2024, "Mixture of A Million Experts"): h query heads retrieve
 * k single-neuron experts each from a pool of N by product keys, and
 *   out_t = Σ_heads Σ_k g · σ(u_idᵀ x_t) · v_id.
 * The expert tables u, v are row-sparse ExpertTables (runtime/experts,
 * docs/experts.md); query weights, sub-keys and norm parameters are ordinary
 * tfjs variables.
 */
import * as tf from "@tensorflow/tfjs";
import type { PeerLayer } from "../../ir/types.js";
import { peerExperts, peerExpertsGathered } from "../../runtime/experts/expert-kernels.js";
import { fillNormal } from "../../runtime/experts/init.js";
import { QueryNet } from "../../runtime/experts/query-net.js";
import { route, type ScoreGradient } from "../../runtime/experts/router.js";
import { ExpertTable } from "../../runtime/experts/sparse-table.js";
import type { ForwardContext, RuntimeLayer } from "../../runtime/layers/layer.js";

export interface ExpertLayerInit {
  /** Uniform [0, 1), seeded. */
  readonly rng: () => number;
  readonly dModel: number;
  /** How selected scores are differentiated (router.ts); default "keys". */
  readonly scoreGradient?: ScoreGradient;
  /**
   * PEER expert math: "fused" (default) reads rows straight from the tables in
   * JS; "gathered" copies them into [T·h·k, d] tensors and uses tfjs ops (SIMD).
   * Since the fused loops were blocked four expert rows at a time, fused is
   * ~1.7× faster at N = 64² (docs/experts.md, "Host-side kernel speed"), and
   * the gathered tensors cost ~1.4 GiB of wasm heap at T = 2048, h·k = 64, d = 256.
   */
  readonly expertPath?: "fused" | "gathered";
}

export interface PeerRuntimeLayer extends RuntimeLayer {
  readonly kind: "peer";
  /** u: the experts' input weights (down), v: their output weights (up). */
  readonly down: ExpertTable;
  readonly up: ExpertTable;
  readonly query: QueryNet;
}

export function createPeerLayer(layer: PeerLayer, init: ExpertLayerInit): PeerRuntimeLayer {
  const { path, dModel, experts, subKeys, heads, topk } = layer;
  if (init.dModel !== dModel) throw new Error(`${path}: layer width ${dModel} differs from the model's ${init.dModel}`);
  if (subKeys * subKeys !== experts) throw new Error(`${path}: ${experts} experts is not subKeys² = ${subKeys}²`);
  const query = new QueryNet(layer, init.rng);
  // praxis / Memory-layers practice: u ~ N(0, 1/d), v ~ N(0, 1/(h·k)).
  const down = new ExpertTable(`${path}.experts.u`, experts, dModel, (t) => fillNormal(t, 1 / Math.sqrt(dModel), init.rng));
  const up = new ExpertTable(`${path}.experts.v`, experts, dModel, (t) => fillNormal(t, 1 / Math.sqrt(heads * topk), init.rng));
  const router = { path, numExperts: experts, heads, topk, subTopk: layer.subTopk, subKeys, keyDim: layer.keyDim, scores: layer.scores, scoreGradient: init.scoreGradient };
  return {
    path,
    kind: "peer",
    variables: query.variables,
    sparseTables: [down, up],
    down,
    up,
    query,
    apply(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
      const x2 = x as tf.Tensor2D;
      const { ids, gates } = route(router, query, x2, ctx);
      const experts = init.expertPath === "gathered" ? peerExpertsGathered : peerExperts;
      return experts(x2, gates, ids, down, up, layer.act);
    },
    buffers: () => query.buffers(),
  };
}
