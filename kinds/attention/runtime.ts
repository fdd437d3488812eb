/**
 * Causal multi-head attention with grouped-query heads (kvHeads divides heads)
 * and optional RoPE on q and k. Activations stay [batch·seqLen, width]; the
 * projections are 2-D matmuls. Two equivalent score paths:
 *   - "batched": heads and sequences folded into one BatchMatMul [B·H, T, hd];
 *   - "per-head": one 2-D matmul per (sequence, head), split/concat around it.
 * bench/runtime-kernels.ts measures both on wasm; DEFAULT_ATTENTION_PATH is the faster.
 */
import * as tf from "@tensorflow/tfjs";
import type { AttentionLayer } from "../../ir/types.js";
import type { LayerBuildContext } from "../../runtime/model/init.js";
import { createDenseWeights, type KindRuntime } from "../../runtime/layers/kind.js";
import { attentionWeights } from "./weights.js";
import type { ForwardContext, NamedVariable, RuntimeLayer } from "../../runtime/layers/layer.js";
import { linear } from "../../runtime/layers/ops.js";

export type AttentionPath = "batched" | "per-head";
export const DEFAULT_ATTENTION_PATH: AttentionPath = "batched";

const cache = new Map<string, tf.Tensor>();

/** A constant built once and kept across steps (not counted as a per-step allocation). */
function cached(key: string, make: () => tf.Tensor): tf.Tensor {
  let t = cache.get(key);
  if (!t || t.isDisposed) {
    t = tf.keep(tf.tidy(make));
    cache.set(key, t);
  }
  return t;
}

/** Additive causal mask [T, T]: 0 on and below the diagonal, -1e9 above. */
export function causalMask(seqLen: number): tf.Tensor2D {
  return cached(`mask:${seqLen}`, () => {
    const values = new Float32Array(seqLen * seqLen);
    for (let i = 0; i < seqLen; i++) for (let j = i + 1; j < seqLen; j++) values[i * seqLen + j] = -1e9;
    return tf.tensor2d(values, [seqLen, seqLen]);
  }) as tf.Tensor2D;
}

/** cos and sin of t·base^(-2i/headDim), shaped [1, T, 1, headDim/2] to broadcast over [B, T, heads, headDim/2]. */
function ropeTables(seqLen: number, headDim: number, base: number): { cos: tf.Tensor; sin: tf.Tensor } {
  const half = headDim / 2;
  const angles = (fn: (a: number) => number) => () => {
    const values = new Float32Array(seqLen * half);
    for (let t = 0; t < seqLen; t++) for (let i = 0; i < half; i++) values[t * half + i] = fn(t * Math.pow(base, (-2 * i) / headDim));
    return tf.tensor4d(values, [1, seqLen, 1, half]);
  };
  return { cos: cached(`cos:${seqLen}:${headDim}:${base}`, angles(Math.cos)), sin: cached(`sin:${seqLen}:${headDim}:${base}`, angles(Math.sin)) };
}

/** Rotate-half RoPE on x [B, T, heads, headDim]: (x1, x2) → (x1·cos − x2·sin, x2·cos + x1·sin). */
export function applyRope(x: tf.Tensor4D, base: number): tf.Tensor4D {
  const [, seqLen, , headDim] = x.shape;
  const half = headDim / 2;
  const { cos, sin } = ropeTables(seqLen, headDim, base);
  const [x1, x2] = tf.split(x, [half, half], 3);
  return tf.concat([tf.sub(tf.mul(x1!, cos), tf.mul(x2!, sin)), tf.add(tf.mul(x2!, cos), tf.mul(x1!, sin))], 3) as tf.Tensor4D;
}

/** Which kv head serves each query head: h → floor(h / (heads / kvHeads)). */
export function kvHeadIds(heads: number, kvHeads: number): tf.Tensor1D {
  return cached(`kv:${heads}:${kvHeads}`, () => {
    const group = heads / kvHeads;
    return tf.tensor1d(Array.from({ length: heads }, (_, h) => Math.floor(h / group)), "int32");
  }) as tf.Tensor1D;
}

export interface AttentionWeights {
  readonly wq: NamedVariable;
  readonly wk: NamedVariable;
  readonly wv: NamedVariable;
  readonly wo: NamedVariable;
  readonly bq: NamedVariable | null;
  readonly bk: NamedVariable | null;
  readonly bv: NamedVariable | null;
  readonly bo: NamedVariable | null;
}

/** Scaled-dot-product attention core. q [B·T, H·hd], k and v [B·T, KV·hd] → [B·T, H·hd]. */
export function attend(
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  shape: { batch: number; seqLen: number; heads: number; kvHeads: number; headDim: number; causal: boolean; ropeBase: number | null },
  path: AttentionPath = DEFAULT_ATTENTION_PATH,
): tf.Tensor2D {
  const { batch: B, seqLen: T, heads: H, kvHeads: KV, headDim: hd, causal, ropeBase } = shape;
  let q4 = tf.reshape(q, [B, T, H, hd]) as tf.Tensor4D;
  let k4 = tf.reshape(k, [B, T, KV, hd]) as tf.Tensor4D;
  if (ropeBase !== null) {
    q4 = applyRope(q4, ropeBase);
    k4 = applyRope(k4, ropeBase);
  }
  const scale = 1 / Math.sqrt(hd);
  const mask = causal ? causalMask(T) : null;
  if (path === "batched") {
    const toHeads = (x: tf.Tensor4D) => tf.transpose(x, [0, 2, 1, 3]) as tf.Tensor4D; // [B, n, T, hd]
    let kh = toHeads(k4);
    let vh = toHeads(tf.reshape(v, [B, T, KV, hd]) as tf.Tensor4D);
    if (KV !== H) {
      kh = tf.gather(kh, kvHeadIds(H, KV), 1);
      vh = tf.gather(vh, kvHeadIds(H, KV), 1);
    }
    const q3 = tf.reshape(toHeads(q4), [B * H, T, hd]) as tf.Tensor3D;
    const k3 = tf.reshape(kh, [B * H, T, hd]) as tf.Tensor3D;
    const v3 = tf.reshape(vh, [B * H, T, hd]) as tf.Tensor3D;
    let scores = tf.mul(tf.matMul(q3, k3, false, true), scale);
    if (mask) scores = tf.add(scores, mask);
    const out = tf.matMul(tf.softmax(scores, -1), v3); // [B·H, T, hd]
    return tf.reshape(tf.transpose(tf.reshape(out, [B, H, T, hd]), [0, 2, 1, 3]), [B * T, H * hd]) as tf.Tensor2D;
  }
  // per-head: split rows by sequence and columns by head; all matmuls 2-D.
  const group = H / KV;
  const qRows = tf.split(tf.reshape(q4, [B * T, H * hd]), B, 0);
  const kRows = tf.split(tf.reshape(k4, [B * T, KV * hd]), B, 0);
  const vRows = tf.split(v, B, 0);
  const sequences: tf.Tensor[] = [];
  for (let b = 0; b < B; b++) {
    const qHeads = tf.split(qRows[b]!, H, 1);
    const kHeads = tf.split(kRows[b]!, KV, 1);
    const vHeads = tf.split(vRows[b]!, KV, 1);
    const outs: tf.Tensor[] = [];
    for (let h = 0; h < H; h++) {
      const kv = Math.floor(h / group);
      let scores = tf.mul(tf.matMul(qHeads[h]! as tf.Tensor2D, kHeads[kv]! as tf.Tensor2D, false, true), scale);
      if (mask) scores = tf.add(scores, mask);
      outs.push(tf.matMul(tf.softmax(scores, -1) as tf.Tensor2D, vHeads[kv]! as tf.Tensor2D));
    }
    sequences.push(tf.concat(outs, 1));
  }
  return tf.concat(sequences, 0) as tf.Tensor2D;
}

export function createAttentionWeights(layer: AttentionLayer, ctx: LayerBuildContext): AttentionWeights {
  const w = createDenseWeights(layer.path, attentionWeights(layer), ctx);
  return { wq: w.get("wq"), wk: w.get("wk"), wv: w.get("wv"), wo: w.get("wo"), bq: w.maybe("bq"), bk: w.maybe("bk"), bv: w.maybe("bv"), bo: w.maybe("bo") };
}

export function createAttentionLayer(layer: AttentionLayer, ctx: LayerBuildContext, path: AttentionPath = DEFAULT_ATTENTION_PATH): RuntimeLayer {
  if (layer.heads % layer.kvHeads !== 0) throw new Error(`${layer.path}: kv_heads ${layer.kvHeads} must divide heads ${layer.heads}`);
  if (layer.rope && layer.headDim % 2 !== 0) throw new Error(`${layer.path}: RoPE needs an even head_dim, got ${layer.headDim}`);
  const w = createAttentionWeights(layer, ctx);
  const variables = [w.wq, w.wk, w.wv, w.wo, w.bq, w.bk, w.bv, w.bo].filter((v): v is NamedVariable => v !== null);
  return {
    path: layer.path,
    kind: "attention",
    variables,
    sparseTables: [],
    buffers: () => [],
    apply(x: tf.Tensor, fctx: ForwardContext): tf.Tensor {
      const q = linear(x, w.wq.variable, w.bq?.variable ?? null);
      const k = linear(x, w.wk.variable, w.bk?.variable ?? null);
      const v = linear(x, w.wv.variable, w.bv?.variable ?? null);
      const shape = {
        batch: fctx.batch,
        seqLen: fctx.seqLen,
        heads: layer.heads,
        kvHeads: layer.kvHeads,
        headDim: layer.headDim,
        causal: layer.causal,
        ropeBase: layer.rope ? layer.rope.base : null,
      };
      return linear(attend(q, k, v, shape, path), w.wo.variable, w.bo?.variable ?? null);
    },
  };
}

export const attentionRuntime: KindRuntime<AttentionLayer> = { kind: "attention", weights: attentionWeights, create: (layer, ctx) => createAttentionLayer(layer, ctx) };
