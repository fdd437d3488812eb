/**
 * Product-key memory layer (Lample et al. 2019): h query heads retrieve k
 * memories each by product keys, out_t = Σ_heads Σ_k g · value_id. The value
 * table is a row-sparse ExpertTable (runtime/experts, docs/experts.md).
 */
import * as tf from "@tensorflow/tfjs";
import type { PkmLayer } from "../../ir/types.js";
import { pkmValues } from "../../runtime/experts/expert-kernels.js";
import { QueryNet } from "../../runtime/experts/query-net.js";
import { route } from "../../runtime/experts/router.js";
import type { ExpertTable } from "../../runtime/experts/sparse-table.js";
import { isDeviceBackend } from "../../runtime/backend/webgpu.js";
import { createPkmDeviceLayer } from "./device.js";
import type { KindRuntime } from "../../runtime/layers/kind.js";
import type { ForwardContext, RuntimeLayer } from "../../runtime/layers/layer.js";
import { createExpertTables, requireTable, type ExpertLayerInit } from "../product-keys/runtime.js";
import { pkmWeights } from "./weights.js";

export interface PkmRuntimeLayer extends RuntimeLayer {
  readonly kind: "pkm";
  readonly values: ExpertTable;
  readonly query: QueryNet;
}

export function createPkmLayer(layer: PkmLayer, init: ExpertLayerInit): PkmRuntimeLayer {
  const { path, dModel, memories, subKeys, valueDim } = layer;
  if (init.dModel !== dModel) throw new Error(`${path}: layer width ${dModel} differs from the model's ${init.dModel}`);
  if (subKeys * subKeys !== memories) throw new Error(`${path}: ${memories} memories is not subKeys² = ${subKeys}²`);
  const query = new QueryNet(layer, init.rng);
  // The manifest's table (kinds/pkm/weights.ts): values N(0, 1/value_dim), XLM PKM notebook.
  const values = requireTable(createExpertTables(path, pkmWeights(layer), init.rng, init.moments), path, "values");
  const router = { path, numExperts: memories, heads: layer.heads, topk: layer.topk, subTopk: layer.subTopk, subKeys, keyDim: layer.keyDim, scores: layer.scores, scoreGradient: init.scoreGradient };
  return {
    path,
    kind: "pkm",
    variables: query.variables,
    sparseTables: [values],
    values,
    query,
    apply(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
      const { ids, gates } = route(router, query, x as tf.Tensor2D, ctx);
      return pkmValues(gates, ids, values);
    },
    buffers: () => query.buffers(),
  };
}

export const pkmRuntime: KindRuntime<PkmLayer> = {
  kind: "pkm",
  weights: pkmWeights,
  // On a device backend (webgpu, tensorflow) the device implementation keeps everything on the device (docs/gpu.md).
  create: (layer, ctx, env) => (isDeviceBackend(ctx.backend) ? createPkmDeviceLayer : createPkmLayer)(layer, { rng: env.rng, dModel: layer.dModel, moments: ctx.expertMoments }),
};
