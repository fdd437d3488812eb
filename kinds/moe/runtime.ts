/**
 * Mixture of experts over dense FFW experts, two routings:
 *   - token choice: each token picks its top-k experts; an expert keeps at most
 *     ceil(c·k·T/E) tokens (later tokens overflow and are dropped, Switch-style);
 *     load-balancing loss auxLoss · E · Σ_i f_i·P_i (f_i: fraction of the
 *     token→expert choices that picked i, P_i: mean router probability of i);
 *   - expert choice (Zhou et al. 2022): each expert takes its top floor(c·T/E)
 *     tokens by router probability, so capacity holds by construction.
 * Choices are made on detached scores (top-k has no gradient in tfjs); the chosen
 * probabilities are then gathered differentiably with flat axis-0 gathers
 * (tfjs-runtime.md §2), so the router learns through the gates.
 */
import * as tf from "@tensorflow/tfjs";
import type { MoeLayer } from "../../ir/types.js";
import type { LayerBuildContext } from "../../runtime/model/init.js";
import { createDenseWeights, type KindRuntime } from "../../runtime/layers/kind.js";
import { applyFfw, ffwVariables, ffwWeightsFrom, type FfwWeights } from "../ffw/runtime.js";
import { moeWeights } from "./weights.js";
import type { ForwardContext, RuntimeLayer } from "../../runtime/layers/layer.js";
import { detach } from "../../runtime/layers/ops.js";

/** Token→expert assignments grouped by expert: tokens[e] and the token's rank of that expert. */
export interface MoeRouting {
  /** tokens[e]: token rows routed to expert e, ascending. */
  readonly tokens: Int32Array[];
  /** Token→expert choices per expert before capacity (token choice), for the balancing loss. */
  readonly chosen: Float64Array;
  readonly capacity: number;
}

/** Token choice: top-k experts per token from host probabilities [T, E]; at most `capacity` tokens per expert, in token order. */
export function routeTokenChoice(topIds: Int32Array, tokens: number, k: number, experts: number, capacity: number): MoeRouting {
  const lists: number[][] = Array.from({ length: experts }, () => []);
  const chosen = new Float64Array(experts);
  for (let t = 0; t < tokens; t++) {
    for (let j = 0; j < k; j++) {
      const e = topIds[t * k + j]!;
      chosen[e]! += 1;
      if (lists[e]!.length < capacity) lists[e]!.push(t);
    }
  }
  return { tokens: lists.map((l) => Int32Array.from(l)), chosen, capacity };
}

export function tokenChoiceCapacity(capacityFactor: number, k: number, tokens: number, experts: number): number {
  return Math.max(1, Math.ceil((capacityFactor * k * tokens) / experts));
}

export function expertChoiceCapacity(capacityFactor: number, tokens: number, experts: number): number {
  return Math.min(tokens, Math.max(1, Math.floor((capacityFactor * tokens) / experts)));
}

/** Switch load-balancing loss E · Σ f_i P_i with f from host counts (constant) and P = mean router probabilities. */
export function loadBalancingLoss(probs: tf.Tensor2D, chosen: Float64Array): tf.Scalar {
  const experts = probs.shape[1];
  let total = 0;
  for (const c of chosen) total += c;
  const fraction = tf.tensor1d(Array.from(chosen, (c) => (total > 0 ? c / total : 0)));
  return tf.mul(tf.sum(tf.mul(fraction, tf.mean(probs, 0))), experts) as tf.Scalar;
}

export interface MoeRuntime extends RuntimeLayer {
  /** Routing of the last forward pass (tests, usage metrics). */
  lastRouting(): MoeRouting | null;
}

/**
 * Dispatch and combine, shared by this layer and the emitted MoE code: expert e
 * runs on the token rows routed to it, its output is weighted by the token's
 * router probability (divided by `denominators[token]` when the gates are
 * renormalised over a token's k choices), and the weighted outputs are summed
 * back into their token rows. Records the kept assignments when asked.
 */
export function combineExperts(
  x: tf.Tensor2D,
  probsFlat: tf.Tensor,
  routing: MoeRouting,
  denominators: tf.Tensor | null,
  runExpert: (expert: number, rows: tf.Tensor2D) => tf.Tensor,
  record: { readonly path: string; readonly recordRouting: ForwardContext["recordRouting"] },
): tf.Tensor2D {
  const tokens = x.shape[0];
  const E = routing.tokens.length;
  const outputs: tf.Tensor[] = [];
  const rows: Int32Array[] = [];
  const recordIds: number[] = [];
  const recordGates: tf.Tensor[] = [];
  for (let e = 0; e < E; e++) {
    const list = routing.tokens[e]!;
    if (list.length === 0) continue;
    const tokenIds = tf.tensor1d(list, "int32");
    const positions = tf.tensor1d(Int32Array.from(list, (t) => t * E + e), "int32");
    let gates = tf.gather(probsFlat, positions);
    if (denominators) gates = tf.div(gates, tf.gather(denominators, tokenIds));
    const y = runExpert(e, tf.gather(x, tokenIds));
    outputs.push(tf.mul(y, tf.reshape(gates, [-1, 1])));
    rows.push(list);
    if (record.recordRouting) {
      for (let i = 0; i < list.length; i++) recordIds.push(e);
      recordGates.push(gates);
    }
  }
  if (record.recordRouting) {
    const weights = recordGates.length > 0 ? (tf.concat(recordGates).dataSync() as Float32Array) : new Float32Array(0);
    record.recordRouting({ path: record.path, numExperts: E, ids: Int32Array.from(recordIds), weights: Float32Array.from(weights) });
  }
  if (outputs.length === 0) return tf.zerosLike(x);
  const allRows = new Int32Array(rows.reduce((n, r) => n + r.length, 0));
  let offset = 0;
  for (const r of rows) {
    allRows.set(r, offset);
    offset += r.length;
  }
  // Sum each expert's weighted output back into its token rows.
  return tf.unsortedSegmentSum(tf.concat(outputs, 0), tf.tensor1d(allRows, "int32"), tokens) as tf.Tensor2D;
}

export function createMoeLayer(layer: MoeLayer, ctx: LayerBuildContext): MoeRuntime {
  const weights = createDenseWeights(layer.path, moeWeights(layer), ctx);
  const router = weights.get("router");
  const experts: FfwWeights[] = Array.from({ length: layer.experts }, (_, e) => ffwWeightsFrom(weights, `experts.${e}.`));
  let last: MoeRouting | null = null;
  const E = layer.experts;

  return {
    path: layer.path,
    kind: "moe",
    variables: [router, ...experts.flatMap(ffwVariables)],
    sparseTables: [],
    buffers: () => [],
    lastRouting: () => last,
    apply(x: tf.Tensor, fctx: ForwardContext): tf.Tensor {
      const tokens = x.shape[0]!;
      const probs = tf.softmax(tf.matMul(x as tf.Tensor2D, router.variable)) as tf.Tensor2D; // [T, E]
      const probsFlat = tf.reshape(probs, [-1]);
      const fixed = detach(probs);

      let routing: MoeRouting;
      let denominators: tf.Tensor | null = null;
      if (layer.routing === "token") {
        const k = Math.min(layer.topk, E);
        const topIds = tf.topk(fixed, k).indices;
        routing = routeTokenChoice(topIds.dataSync() as Int32Array, tokens, k, E, tokenChoiceCapacity(layer.capacity, k, tokens, E));
        if (k > 1) {
          // Gates renormalised over each token's k choices (GShard); the sum stays differentiable.
          const flat = new Int32Array(tokens * k);
          const ids = topIds.dataSync();
          for (let t = 0; t < tokens; t++) for (let j = 0; j < k; j++) flat[t * k + j] = t * E + ids[t * k + j]!;
          denominators = tf.sum(tf.reshape(tf.gather(probsFlat, tf.tensor1d(flat, "int32")), [tokens, k]), 1);
        }
        if (fctx.training && layer.auxLoss > 0) fctx.addAuxLoss(tf.mul(loadBalancingLoss(probs, routing.chosen), layer.auxLoss) as tf.Scalar);
      } else {
        const capacity = expertChoiceCapacity(layer.capacity, tokens, E);
        const top = tf.topk(tf.transpose(fixed), capacity).indices.dataSync(); // [E, capacity] token ids
        const lists = Array.from({ length: E }, (_, e) => Int32Array.from(top.subarray(e * capacity, (e + 1) * capacity)).sort());
        const chosen = Float64Array.from(lists, (l) => l.length);
        routing = { tokens: lists, chosen, capacity };
      }
      last = routing;

      return combineExperts(x as tf.Tensor2D, probsFlat, routing, denominators, (e, rows) => applyFfw(rows, experts[e]!, layer.act), {
        path: layer.path,
        recordRouting: fctx.recordRouting,
      });
    },
  };
}

export const moeRuntime: KindRuntime<MoeLayer> = { kind: "moe", weights: moeWeights, create: (layer, ctx) => createMoeLayer(layer, ctx) };
