/**
 * The query side of a product-key layer: query projection, query norm and the
 * per-half sub-key scores, as ordinary differentiable tfjs ops with 2-D matmuls.
 *
 *   q = x·W (+ b)                                    [T, h·dk]
 *   q ← norm(q)                                     batch | layer | none
 *   per head and half p: s_p = q_{h,p} · K_p         [T·h, √N], row t·h + head
 *
 * BatchNorm (He 2024 §3.1, Lample 2019) is composed from moments rather than
 * tf.batchNorm (whose gradient uses the slow Tile kernel): training normalises
 * with the statistics of all tokens of the pass (so token t sees the future: the
 * PKM "causality issue"), evaluation with running statistics updated as
 * running ← (1 − m)·running + m·batch with m = the layer's `bn_momentum`, by
 * default BN_MOMENTUM = 0.1 (the running variance uses the unbiased batch
 * variance). `recomputeQueryStatistics` replaces them by the exact mean over a
 * few batches (`bn_recalibrate`, before every evaluation). LayerNorm normalises each head's
 * dk-vector separately. Sub-keys are stored [dk/2, √N] (column i = sub-key i)
 * so the score matmul needs no transpose.
 */
import * as tf from "@tensorflow/tfjs";
import type { NamedVariable } from "../layers/layer.js";
import { weightName, weightSize } from "../../kinds/manifest.js";
import { queryWeights, subKeyNames, type QueryShape } from "../../kinds/product-keys/weights.js";
import { fillUniform, type UniformRng } from "./init.js";

/**
 * Weight of the newest batch in the running statistics when the spec sets no
 * `bn_momentum`: PyTorch's 0.1. It was 0.5 because early in training the PEER
 * input loses most of its token-to-token variation within a few steps (the
 * query variance fell 250× in 5 steps of specs/tiny.peer), and a 0.1 average
 * then lagged so far behind that eval mode normalised with stale statistics.
 * Since `bn_recalibrate` (on by default, ir/defaults.ts) recomputes the
 * statistics right before every evaluation, no average is what evaluation
 * reads, and 0.5 lagged too (docs/experts.md, "Query BatchNorm running statistics").
 */
export const BN_MOMENTUM = 0.1;
export const NORM_EPS = 1e-5;

/** The product-key query shape of the manifest (kinds/product-keys/weights.ts) at a layer path. */
export interface QueryNetSpec extends QueryShape {
  readonly path: string;
  /** The spec's `bn_momentum`; absent: BN_MOMENTUM. */
  readonly bnMomentum?: number;
}

export interface SubKeyScores {
  /** [T·h, √N] first-half scores, row t·h + head. */
  readonly scores1: tf.Tensor2D;
  readonly scores2: tf.Tensor2D;
}

export class QueryNet {
  readonly variables: NamedVariable[] = [];
  readonly runningMean: tf.Variable | null;
  readonly runningVar: tf.Variable | null;
  private readonly weight: tf.Variable;
  private readonly bias: tf.Variable | null;
  private readonly gamma: tf.Variable | null;
  private readonly beta: tf.Variable | null;
  /** keys[head or 0][half] : [dk/2, √N]. */
  private readonly keys: tf.Variable[][];

  private readonly bufferNames: string[] = [];

  /**
   * The tensors are the product-key manifest's (kinds/product-keys/weights.ts),
   * created in its order; the `layer_uniform` ones draw from `rng` in that order.
   */
  constructor(readonly spec: QueryNetSpec, rng: UniformRng) {
    const { path, keyDim } = spec;
    if (keyDim % 2 !== 0) throw new Error(`${path}: key dim ${keyDim} must be even (two halves)`);
    const byName = new Map<string, tf.Variable>();
    for (const w of queryWeights(spec)) {
      const values = new Float32Array(weightSize(w));
      if (w.init.kind === "layer_uniform") fillUniform(values, w.init.bound, rng);
      else if (w.init.kind === "ones") values.fill(1);
      else if (w.init.kind !== "zeros") throw new Error(`internal error: ${path}.${w.name}: unexpected init ${w.init.kind}`);
      if (w.role === "buffer") {
        // tfjs variable names are process-global; our names live in NamedVariable / buffers().
        byName.set(w.name, tf.variable(tf.tensor(values, [...w.shape]), false));
        this.bufferNames.push(w.name);
      } else {
        byName.set(w.name, this.add(weightName(path, w), [...w.shape], values, !w.decay));
      }
    }
    const norm = spec.queryNorm === "batch" ? "bn" : "ln";
    const required = (name: string): tf.Variable => {
      const v = byName.get(name);
      if (!v) throw new Error(`internal error: ${path}: the query manifest has no '${name}'`);
      return v;
    };
    this.weight = required("query.w");
    this.bias = byName.get("query.b") ?? null;
    this.gamma = byName.get(`query.${norm}.gamma`) ?? null;
    this.beta = byName.get(`query.${norm}.beta`) ?? null;
    this.runningMean = byName.get("query.bn.running_mean") ?? null;
    this.runningVar = byName.get("query.bn.running_var") ?? null;
    const keySets = spec.keys === "shared" ? 1 : spec.heads;
    this.keys = Array.from({ length: keySets }, (_, set) => subKeyNames(spec, set).map(required));
  }

  buffers(): { readonly name: string; readonly tensor: tf.Variable }[] {
    if (this.runningMean === null || this.runningVar === null) return [];
    const tensors = new Map([["query.bn.running_mean", this.runningMean], ["query.bn.running_var", this.runningVar]]);
    return this.bufferNames.map((name) => ({ name: `${this.spec.path}.${name}`, tensor: tensors.get(name)! }));
  }

  /** Sub-key variables: keySets[head, or 0 when shared][half 0 | 1], each [dk/2, √N]. */
  get keySets(): readonly (readonly tf.Variable[])[] {
    return this.keys;
  }

  /** x: [T, d] → normalised queries [T, h·dk] (row t holds head 0's dk values, then head 1's, …). */
  queries(x: tf.Tensor2D, training: boolean): tf.Tensor2D {
    let q: tf.Tensor2D = tf.matMul(x, this.weight as tf.Tensor2D);
    if (this.bias !== null) q = tf.add(q, this.bias);
    return this.normalise(q, training);
  }

  /** q: [T, h·dk] → per-half sub-key scores [T·h, √N], rows t·h + head. */
  subKeyScores(q: tf.Tensor2D): SubKeyScores {
    const { heads, keyDim } = this.spec;
    const tokens = q.shape[0];
    const half = keyDim / 2;
    if (this.keys.length === 1) {
      const rowsPerHead = tf.reshape(q, [tokens * heads, keyDim]) as tf.Tensor2D;
      const [k1, k2] = this.keys[0];
      return {
        scores1: tf.matMul(tf.slice(rowsPerHead, [0, 0], [-1, half]), k1 as tf.Tensor2D),
        scores2: tf.matMul(tf.slice(rowsPerHead, [0, half], [-1, half]), k2 as tf.Tensor2D),
      };
    }
    // Per-head keys: one 2-D matmul per head and half, heads interleaved back to rows t·h + head.
    const perHalf = [0, 1].map((p) => {
      const perHead = this.keys.map((keySet, head) =>
        tf.matMul(tf.slice(q, [0, head * keyDim + p * half], [-1, half]), keySet[p] as tf.Tensor2D),
      );
      return tf.reshape(tf.concat(perHead, 1), [tokens * heads, this.spec.subKeys]) as tf.Tensor2D;
    });
    return { scores1: perHalf[0], scores2: perHalf[1] };
  }

  private normalise(q: tf.Tensor2D, training: boolean): tf.Tensor2D {
    const { queryNorm, heads, keyDim } = this.spec;
    if (queryNorm === "none" || this.gamma === null || this.beta === null) return q;
    if (queryNorm === "layer") return queryLayerNorm(q, { gamma: this.gamma, beta: this.beta }, { heads, keyDim });
    const bn = { gamma: this.gamma, beta: this.beta, running_mean: this.runningMean as tf.Variable, running_var: this.runningVar as tf.Variable };
    return queryBatchNorm(q, bn, training, this.spec.bnMomentum ?? BN_MOMENTUM);
  }

  private add(name: string, shape: number[], values: Float32Array, noDecay: boolean): tf.Variable {
    const variable = tf.variable(tf.tensor(values, shape), true);
    this.variables.push({ name, variable, noDecay });
    return variable;
  }
}

/**
 * While statistics are recomputed: the weight of the current pass, 1/i for the
 * i-th, so the running statistics end as the exact mean of the passes. Null in
 * ordinary training, which uses each layer's momentum.
 */
let recomputeWeight: number | null = null;

/**
 * Recomputes every query BatchNorm's running statistics as the plain mean of
 * the statistics of `passes` train-mode forward passes (`forward(i)` runs pass
 * i and must not differentiate or step). Emitted models reach the same code
 * through queryBatchNorm, so both trainers recompute alike. This is "precise
 * BN" (Wu & Johnson 2021): no momentum lag, and the weights are not touched.
 */
export function recomputeQueryStatistics(passes: number, forward: (pass: number) => void): void {
  if (recomputeWeight !== null) throw new Error("internal error: query statistics are already being recomputed");
  try {
    for (let i = 0; i < passes; i++) {
      recomputeWeight = 1 / (i + 1);
      forward(i);
    }
  } finally {
    recomputeWeight = null;
  }
}

/**
 * The product-key query BatchNorm, used by QueryNet and by emitted models:
 * the pass's token statistics in training, updating the running ones with
 * `momentum` (the running variance takes the unbiased batch variance); the
 * running statistics in evaluation.
 */
export function queryBatchNorm(
  projected: tf.Tensor2D,
  bn: { readonly gamma: tf.Variable; readonly beta: tf.Variable; readonly running_mean: tf.Variable; readonly running_var: tf.Variable },
  training: boolean,
  momentum: number = BN_MOMENTUM,
): tf.Tensor2D {
  let normalised: tf.Tensor2D;
  if (training) {
    const tokens = projected.shape[0];
    const mean = tf.mean(projected, 0);
    const centred = tf.sub(projected, mean);
    const variance = tf.mean(tf.square(centred), 0);
    normalised = tf.mul(centred, tf.rsqrt(tf.add(variance, NORM_EPS)));
    const unbiased = tokens > 1 ? tokens / (tokens - 1) : 1;
    const m = recomputeWeight ?? momentum;
    tf.tidy(() => {
      bn.running_mean.assign(tf.add(tf.mul(bn.running_mean, 1 - m), tf.mul(mean, m)));
      bn.running_var.assign(tf.add(tf.mul(bn.running_var, 1 - m), tf.mul(variance, m * unbiased)));
    });
  } else {
    normalised = tf.mul(tf.sub(projected, bn.running_mean), tf.rsqrt(tf.add(bn.running_var, NORM_EPS)));
  }
  return tf.add(tf.mul(normalised, bn.gamma), bn.beta);
}

/** The product-key query LayerNorm over each head's keyDim values, used by QueryNet and by emitted models. */
export function queryLayerNorm(
  projected: tf.Tensor2D,
  ln: { readonly gamma: tf.Variable; readonly beta: tf.Variable },
  o: { heads: number; keyDim: number },
): tf.Tensor2D {
  const tokens = projected.shape[0];
  const rows = tf.reshape(projected, [tokens * o.heads, o.keyDim]);
  const mean = tf.mean(rows, 1, true);
  const centred = tf.sub(rows, mean);
  const variance = tf.mean(tf.square(centred), 1, true);
  const normalised = tf.reshape(tf.mul(centred, tf.rsqrt(tf.add(variance, NORM_EPS))), [tokens, o.heads * o.keyDim]);
  return tf.add(tf.mul(normalised, ln.gamma), ln.beta);
}
