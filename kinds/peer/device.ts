/**
 * PEER on a device backend (webgpu; tfjs-node's tensorflow): the same layer
 * as kinds/peer/runtime.ts (same parameters, same seeded initial values, same
 * maths), but every tensor stays on the device:
 *   tables u, v (and g with glu) are tf.Variables, sharded below the device's
 *   storage-binding limit; routing and top-k are tfjs ops
 *   (kinds/product-keys/device.ts); the expert math is
 *   out_t = Σ_{heads,k} g · σ(u_idᵀx_t) · v_id  (GLU: σ(g_idᵀx_t)·(u_idᵀx_t))
 *   on gathered rows; the gradients are dense over each shard (tf.gather's,
 *   or the fused backward's row-gradient kernels), the backward marks the
 *   retrieved rows, and the trainer's AdamW updates only those (lazy AdamW).
 * On webgpu the fused WGSL kernels (kinds/peer/wgsl.ts, wgsl-rows.ts) run;
 * otherwise these tf ops.
 */
import * as tf from "@tensorflow/tfjs";
import type { PeerLayer } from "../../ir/types.js";
import { asyncReads } from "../../runtime/backend/webgpu.js";
import { fillNormal } from "../../runtime/experts/init.js";
import { QueryNet } from "../../runtime/experts/query-net.js";
import type { ForwardContext, NamedVariable, RoutingRecord, RuntimeLayer } from "../../runtime/layers/layer.js";
import { activate } from "../../runtime/layers/ops.js";
import { recordLater } from "../../runtime/metrics/usage.js";
import { fusedPeerExperts, peerKernelsAvailable } from "./device-kernels.js";
import { deviceApply, deviceRoute, DeviceTable, markRetrievedOnBackward, shardLimit, type DeviceLayerInit } from "../product-keys/device.js";

export interface PeerDeviceLayer extends RuntimeLayer {
  readonly kind: "peer";
  readonly down: DeviceTable;
  readonly up: DeviceTable;
  readonly gate: DeviceTable | null;
  readonly query: QueryNet;
}

/** Σ over the h·k slots of gate · σ(u·x) · v; u, v, g: [T·h·k, d] gathered rows. */
export function peerExpertMath(x: tf.Tensor2D, gates: tf.Tensor2D, u: tf.Tensor2D, v: tf.Tensor2D, g: tf.Tensor2D | null, act: PeerLayer["act"]): tf.Tensor2D {
  const [tokens, d] = x.shape;
  const slots = gates.shape[1];
  const xs = tf.expandDims(x, 1);
  const dot = (rows: tf.Tensor2D) => tf.sum(tf.mul(tf.reshape(rows, [tokens, slots, d]), xs), 2);
  const z = g === null ? activate(dot(u), act) : tf.mul(activate(dot(g), act), dot(u));
  return tf.sum(tf.mul(tf.reshape(v, [tokens, slots, d]), tf.expandDims(tf.mul(gates, z), 2)), 1) as tf.Tensor2D;
}

export function createPeerDeviceLayer(layer: PeerLayer, init: DeviceLayerInit): PeerDeviceLayer {
  const { path, dModel, experts, subKeys, heads, topk } = layer;
  if (init.dModel !== dModel) throw new Error(`${path}: layer width ${dModel} differs from the model's ${init.dModel}`);
  if (subKeys * subKeys !== experts) throw new Error(`${path}: ${experts} experts is not subKeys² = ${subKeys}²`);
  // Same draw order as the host layer: query net, then u, v (and g) from the layer stream.
  const query = new QueryNet(layer, init.rng);
  const limit = shardLimit(init);
  const table = (name: string, std: number) => new DeviceTable(`${path}.${name}`, experts, dModel, fillNormal(new Float32Array(experts * dModel), std, init.rng), limit);
  const down = table("experts.u", 1 / Math.sqrt(dModel));
  const up = table("experts.v", 1 / Math.sqrt(heads * topk));
  const gate = layer.glu ? table("experts.g", 1 / Math.sqrt(dModel)) : null;
  const tables = gate === null ? [down, up] : [down, up, gate];
  const variables: NamedVariable[] = [...query.variables, ...tables.flatMap((t) => t.named)];
  const kernels = init.expertPath !== "ops";
  const router = { path, heads, topk, subTopk: layer.subTopk, subKeys, keyDim: layer.keyDim, scores: layer.scores, dModel, kernels };
  const shape = { subKeys, subTopk: layer.subTopk, topk, heads, keyDim: layer.keyDim, dModel };
  // Sharded tables run the kernels once per shard (kinds/peer/device-kernels.ts).
  const fused = kernels;
  return {
    path,
    kind: "peer",
    variables,
    sparseTables: [],
    down,
    up,
    gate,
    query,
    apply(x: tf.Tensor, ctx: ForwardContext): tf.Tensor {
      return deviceApply(path, x, (input) => {
        const x2 = input as tf.Tensor2D;
        const { ids, gates } = deviceRoute(router, query, x2, ctx);
        recordRouting(path, experts, ids, gates, ctx);
        let out: tf.Tensor2D;
        if (fused && peerKernelsAvailable()) {
          const sharded = (t: DeviceTable) => ({ shards: t.shards as tf.Tensor2D[], rowsPerShard: t.rowsPerShard });
          out = fusedPeerExperts(x2, gates, ids, sharded(down), sharded(up), gate === null ? null : sharded(gate), layer.act, shape);
        } else out = peerExpertMath(x2, gates, down.gather(ids), up.gather(ids), gate === null ? null : gate.gather(ids), layer.act);
        return markRetrievedOnBackward(out, ids, tables);
      });
    },
    buffers: () => query.buffers(),
  };
}

/**
 * Expert-usage statistics need the ids and weights on the host (evaluation
 * only). webgpu in Node reads only asynchronously: the record is read in the
 * background and handed over when the evaluation settles its statistics
 * (runtime/metrics/usage.ts recordLater), so the same numbers come out.
 */
export function recordRouting(path: string, numExperts: number, ids: tf.Tensor1D, gates: tf.Tensor2D, ctx: ForwardContext): void {
  if (ctx.recordRouting === null) return;
  if (!asyncReads()) {
    ctx.recordRouting({ path, numExperts, ids: Int32Array.from(ids.dataSync()), weights: Float32Array.from(gates.dataSync()) });
    return;
  }
  // Clones kept past the forward's tidy until read (they share the device buffers).
  const kept = [tf.keep(tf.clone(ids)), tf.keep(tf.clone(gates))];
  const read = async (): Promise<RoutingRecord> => {
    try {
      const [idValues, weights] = await Promise.all(kept.map((t) => t.data()));
      return { path, numExperts, ids: Int32Array.from(idValues!), weights: Float32Array.from(weights!) };
    } finally {
      tf.dispose(kept);
    }
  };
  recordLater(ctx.recordRouting, read());
}
