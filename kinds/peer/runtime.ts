/**
 * PEER layer (He 2024, "Mixture of A Million Experts"): h query heads retrieve
 * k single-neuron experts each from a pool of N by product keys, and
 *   out_t = Σ_heads Σ_k g · σ(u_idᵀ x_t) · v_id,
 * or with `glu` (GLU experts, the paper's §2) out_t = Σ g · σ(g_idᵀ x_t) · (u_idᵀ x_t) · v_id.
 * The expert tables u, v (and g) are row-sparse ExpertTables (runtime/experts,
 * docs/experts.md); query weights, sub-keys and norm parameters are ordinary
 * tfjs variables.
 */
import * as tf from "@tensorflow/tfjs";
import type { PeerLayer } from "../../ir/types.js";
import { peerExperts, peerExpertsGathered } from "../../runtime/experts/expert-kernels.js";
import { QueryNet } from "../../runtime/experts/query-net.js";
import { route } from "../../runtime/experts/router.js";
import type { ExpertTable } from "../../runtime/experts/sparse-table.js";
import { isDeviceBackend } from "../../runtime/backend/webgpu.js";
import { createPeerDeviceLayer } from "./device.js";
import type { KindRuntime } from "../../runtime/layers/kind.js";
import type { ForwardContext, RuntimeLayer } from "../../runtime/layers/layer.js";
import { createExpertTables, requireTable, type ExpertLayerInit } from "../product-keys/runtime.js";
import { PEER_TABLES, peerWeights } from "./weights.js";

export type { ExpertLayerInit } from "../product-keys/runtime.js";

export interface PeerRuntimeLayer extends RuntimeLayer {
  readonly kind: "peer";
  /** u: the experts' input weights (down), v: their output weights (up). */
  readonly down: ExpertTable;
  readonly up: ExpertTable;
  /** g: the gate rows of GLU experts (`glu: true`); null otherwise. */
  readonly gate: ExpertTable | null;
  readonly query: QueryNet;
}

export function createPeerLayer(layer: PeerLayer, init: ExpertLayerInit): PeerRuntimeLayer {
  const { path, dModel, experts, subKeys, heads, topk } = layer;
  if (init.dModel !== dModel) throw new Error(`${path}: layer width ${dModel} differs from the model's ${init.dModel}`);
  if (subKeys * subKeys !== experts) throw new Error(`${path}: ${experts} experts is not subKeys² = ${subKeys}²`);
  const query = new QueryNet(layer, init.rng);
  // The manifest's tables (kinds/peer/weights.ts): u ~ N(0, 1/d), v ~ N(0, 1/(h·k)).
  const tables = createExpertTables(path, peerWeights(layer), init.rng, init.moments);
  const down = requireTable(tables, path, PEER_TABLES.in);
  const up = requireTable(tables, path, PEER_TABLES.out);
  const gate = layer.glu ? requireTable(tables, path, PEER_TABLES.gate) : null;
  const router = { path, numExperts: experts, heads, topk, subTopk: layer.subTopk, subKeys, keyDim: layer.keyDim, scores: layer.scores, scoreGradient: init.scoreGradient };
  return {
    path,
    kind: "peer",
    variables: query.variables,
    sparseTables: gate ? [down, up, gate] : [down, up],
    down,
    up,
    gate,
    query,
    apply(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
      const x2 = x as tf.Tensor2D;
      const { ids, gates } = route(router, query, x2, ctx);
      const experts = init.expertPath === "gathered" ? peerExpertsGathered : peerExperts;
      return experts(x2, gates, ids, down, up, layer.act, gate);
    },
    buffers: () => query.buffers(),
  };
}

export const peerRuntime: KindRuntime<PeerLayer> = {
  kind: "peer",
  weights: peerWeights,
  // On a device backend (webgpu, tensorflow) the device implementation keeps everything on the device (docs/gpu.md).
  create: (layer, ctx, env) => (isDeviceBackend(ctx.backend) ? createPeerDeviceLayer : createPeerLayer)(layer, { rng: env.rng, dModel: layer.dModel, moments: ctx.expertMoments }),
};
