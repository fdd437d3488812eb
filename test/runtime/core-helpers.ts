/** Small IR models and numeric helpers for the runtime-core tests. */
import * as tf from "@tensorflow/tfjs";
import type { Span } from "../../diagnostics/source.js";
import type {
  Activation, AttentionLayer, FfwLayer, IRLayer, IRModel, IRResidual, IROptimizer, IRSchedule, MoeLayer, NormType,
} from "../../ir/types.js";

export const SPAN: Span = { file: "test.peer", offset: 0, length: 1, line: 1, column: 1, endLine: 1, endColumn: 2 };
const base = (path: string, index: number) => ({ path, index, span: SPAN, argSpans: {} });

export function attentionIR(path: string, o: { d: number; heads: number; kvHeads?: number; headDim: number; context: number; rope?: boolean; causal?: boolean; bias?: boolean }): AttentionLayer {
  return {
    ...base(path, 0), kind: "attention", dModel: o.d, heads: o.heads, headDim: o.headDim, kvHeads: o.kvHeads ?? o.heads,
    causal: o.causal ?? true, bias: o.bias ?? false, context: o.context, rope: o.rope ? { base: 10000 } : null,
  };
}

export function ffwIR(path: string, o: { d: number; hidden: number; act?: Activation; glu?: boolean; bias?: boolean }): FfwLayer {
  return { ...base(path, 0), kind: "ffw", dModel: o.d, hidden: o.hidden, act: o.act ?? "gelu", glu: o.glu ?? false, bias: o.bias ?? false };
}

export function moeIR(path: string, o: { d: number; hidden: number; experts: number; topk?: number; routing?: "token" | "expert"; capacity?: number; auxLoss?: number }): MoeLayer {
  return {
    ...base(path, 0), kind: "moe", dModel: o.d, hidden: o.hidden, experts: o.experts, topk: o.topk ?? 1, act: "gelu", glu: false,
    bias: false, routing: o.routing ?? "token", capacity: o.capacity ?? 2, auxLoss: o.auxLoss ?? 0.01,
  };
}

export interface DenseOptions {
  vocab?: number;
  d?: number;
  blocks?: number;
  heads?: number;
  kvHeads?: number;
  context?: number;
  rope?: boolean;
  tied?: boolean;
  norm?: NormType;
  ffw?: "dense" | "moe";
}

/** embed [+ positions], blocks × (residual{norm, attention}, residual{norm, ffw|moe}), norm, lm_head. */
export function denseModel(o: DenseOptions = {}): IRModel {
  const vocab = o.vocab ?? 16, d = o.d ?? 16, blocks = o.blocks ?? 2, heads = o.heads ?? 2, context = o.context ?? 8;
  const norm = o.norm ?? "rms";
  const layers: IRLayer[] = [];
  const residuals: IRResidual[] = [];
  const push = (layer: Omit<IRLayer, "index">) => layers.push({ ...layer, index: layers.length } as IRLayer);
  push({ ...base("embed", 0), kind: "embed", vocab, dim: d });
  if (!o.rope) push({ ...base("positions", 0), kind: "positions", type: "learned", context, dim: d });
  for (let b = 0; b < blocks; b++) {
    let start = layers.length;
    push({ ...base(`blocks.${b}.mix.norm`, 0), kind: "norm", type: norm, dim: d, eps: 1e-5 });
    push(attentionIR(`blocks.${b}.mix.attention`, { d, heads, kvHeads: o.kvHeads, headDim: d / heads, context, rope: o.rope }));
    residuals.push({ path: `blocks.${b}.mix`, start, end: layers.length, span: SPAN });
    start = layers.length;
    push({ ...base(`blocks.${b}.ff.norm`, 0), kind: "norm", type: norm, dim: d, eps: 1e-5 });
    if (o.ffw === "moe") push(moeIR(`blocks.${b}.ff.moe`, { d, hidden: 2 * d, experts: 4, topk: 2 }));
    else push(ffwIR(`blocks.${b}.ff.ffw`, { d, hidden: 4 * d }));
    residuals.push({ path: `blocks.${b}.ff`, start, end: layers.length, span: SPAN });
  }
  push({ ...base("final_norm", 0), kind: "norm", type: norm, dim: d, eps: 1e-5 });
  push({ ...base("lm_head", 0), kind: "lm_head", dModel: d, vocab, tied: o.tied ?? false, bias: false });
  return {
    name: "test", baseName: "test", sweep: null, file: "test.peer", span: SPAN, vocab, context, dModel: d,
    layers, residuals, train: null, budgets: [], hash: "0".repeat(64),
  };
}

export const ADAMW: IROptimizer = { kind: "adamw", lr: 3e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clip: 1.0, expertLr: null, decayAll: false };
export const CONSTANT: IRSchedule = { kind: "constant", warmup: { steps: 0 }, minLr: 0 };

/** A forward context for calling one layer directly. */
export function forwardContext(batch: number, seqLen: number, training = true) {
  const aux: tf.Scalar[] = [];
  return { ctx: { training, batch, seqLen, addAuxLoss: (l: tf.Scalar) => aux.push(l), recordRouting: null }, aux };
}

/** Max |a − b| / max(1e-3, |b|) over all elements. */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1e-3, Math.abs(b[i]!)));
  return worst;
}
