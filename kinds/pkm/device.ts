/**
 * PKM on a device backend: kinds/pkm/runtime.ts's layer with the value table
 * as sharded tf.Variables and routing as tfjs ops (kinds/product-keys/device.ts):
 *   out_t = Σ_{heads,k} g · value_id.
 */
import * as tf from "@tensorflow/tfjs";
import type { PkmLayer } from "../../ir/types.js";
import { fillNormal } from "../../runtime/experts/init.js";
import { QueryNet } from "../../runtime/experts/query-net.js";
import type { ForwardContext, RuntimeLayer } from "../../runtime/layers/layer.js";
import { recordRouting } from "../peer/device.js";
import { deviceApply, deviceRoute, DeviceTable, markRetrievedOnBackward, shardLimit, type DeviceLayerInit } from "../product-keys/device.js";

export interface PkmDeviceLayer extends RuntimeLayer {
  readonly kind: "pkm";
  readonly values: DeviceTable;
  readonly query: QueryNet;
}

export function createPkmDeviceLayer(layer: PkmLayer, init: DeviceLayerInit): PkmDeviceLayer {
  const { path, dModel, memories, subKeys, valueDim, heads, topk } = layer;
  if (init.dModel !== dModel) throw new Error(`${path}: layer width ${dModel} differs from the model's ${init.dModel}`);
  if (subKeys * subKeys !== memories) throw new Error(`${path}: ${memories} memories is not subKeys² = ${subKeys}²`);
  const query = new QueryNet(layer, init.rng);
  const values = new DeviceTable(`${path}.values`, memories, valueDim, fillNormal(new Float32Array(memories * valueDim), 1 / Math.sqrt(valueDim), init.rng), shardLimit(init));
  const router = { path, heads, topk, subTopk: layer.subTopk, subKeys, keyDim: layer.keyDim, scores: layer.scores, dModel, kernels: init.expertPath !== "ops" };
  return {
    path,
    kind: "pkm",
    variables: [...query.variables, ...values.named],
    sparseTables: [],
    values,
    query,
    apply(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
      return deviceApply(path, x, (input) => {
        const x2 = input as tf.Tensor2D;
        const tokens = x2.shape[0];
        const { ids, gates } = deviceRoute(router, query, x2, ctx);
        recordRouting(path, memories, ids, gates, ctx);
        const rows = tf.reshape(values.gather(ids), [tokens, heads * topk, valueDim]);
        return markRetrievedOnBackward(tf.sum(tf.mul(rows, tf.expandDims(gates, 2)), 1), ids, [values]);
      });
    },
    buffers: () => query.buffers(),
  };
}
