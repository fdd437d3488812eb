/**
 * Product-key routing shared by PEER and PKM: query net → per-half sub-key
 * scores on a detached copy of the queries → exact top-k by product keys (JS,
 * gradient-free) → the selected scores recomputed differentiably → router
 * weights (softmax over each head's k, or sigmoid).
 */
import * as tf from "@tensorflow/tfjs";
import type { ScoreFn } from "../../ir/types.js";
import type { ForwardContext } from "../layers/layer.js";
import { detach } from "../layers/ops.js";
import { readHost } from "./host-tensor.js";
import { productKeyTopk, type ProductKeyHits } from "./product-keys.js";
import type { QueryNet } from "./query-net.js";
import { selectedScores, selectedScoresFromKeys } from "./selected-scores.js";

export interface Routing {
  /** Expert ids [T · h · k], token-major, then head, then rank. */
  readonly ids: Int32Array;
  /** Router weights [T, h·k], same order as ids. */
  readonly gates: tf.Tensor2D;
}

/**
 * How the selected scores get their gradient:
 * - "keys" (default): recomputed from q and the selected sub-keys (XLM pq_default);
 *   the √N-wide score matmul is never differentiated.
 * - "scores": flat gathers of the differentiable [T·h, √N] score tensors; the
 *   backward runs the score matmul's gradient on a mostly-zero dS.
 */
export type ScoreGradient = "keys" | "scores";

export interface RouterSpec {
  readonly path: string;
  readonly numExperts: number;
  readonly heads: number;
  readonly topk: number;
  readonly subTopk: number;
  readonly subKeys: number;
  readonly keyDim: number;
  readonly scores: ScoreFn;
  readonly scoreGradient?: ScoreGradient;
}

export function route(spec: RouterSpec, query: QueryNet, x: tf.Tensor2D, ctx: ForwardContext): Routing {
  const { heads, topk, subTopk, subKeys } = spec;
  const tokens = x.shape[0];
  const q = query.queries(x, ctx.training);
  let selected: tf.Tensor2D;
  let hits: ProductKeyHits;
  if (spec.scoreGradient === "scores") {
    const { scores1, scores2 } = query.subKeyScores(q);
    // Read both halves before any other tensor is created (heap views on wasm).
    hits = productKeyTopk(readHost(scores1), readHost(scores2), tokens * heads, subKeys, subTopk, topk);
    selected = selectedScores(scores1, scores2, hits);
  } else {
    const frozen = detach(q);
    const { scores1, scores2 } = query.subKeyScores(frozen);
    hits = productKeyTopk(readHost(scores1), readHost(scores2), tokens * heads, subKeys, subTopk, topk);
    // Only used to choose: free the [T·h, √N] scores now rather than at the end of the step.
    tf.dispose([frozen, scores1, scores2]);
    selected = selectedScoresFromKeys(q, query.keySets, hits, spec);
  }
  const weights = spec.scores === "softmax" ? tf.softmax(selected) : tf.sigmoid(selected);
  const gates = tf.reshape(weights, [tokens, heads * topk]) as tf.Tensor2D;
  if (ctx.recordRouting !== null) {
    ctx.recordRouting({ path: spec.path, numExperts: spec.numExperts, ids: hits.ids, weights: Float32Array.from(gates.dataSync()) });
  }
  return { ids: hits.ids, gates };
}
