/**
 * Attention, specialised: heads, kv heads, head size and the softmax scale are
 * literals; the score path is the runtime's batched one (one BatchMatMul over
 * B·H, measured faster than per-head 2-D matmuls on wasm, runtime/layers/attention.ts).
 */
import type { AttentionLayer } from "../../../ir/types.js";
import type { LayerEmission, LayerEmitEnv, WeightRef } from "./types.js";
import { linearExpr, lit } from "./common.js";

export function emitAttention(layer: AttentionLayer, env: LayerEmitEnv): LayerEmission {
  const { dModel, heads: H, kvHeads: KV, headDim: hd, path } = layer;
  const weight = (part: string, shape: number[]): WeightRef => ({ field: env.fields.claim(`${path}.${part}`), name: `${path}.${part}`, shape });
  const wq = weight("wq", [dModel, H * hd]);
  const wk = weight("wk", [dModel, KV * hd]);
  const wv = weight("wv", [dModel, KV * hd]);
  const wo = weight("wo", [H * hd, dModel]);
  const biases = layer.bias
    ? { bq: weight("bq", [H * hd]), bk: weight("bk", [KV * hd]), bv: weight("bv", [KV * hd]), bo: weight("bo", [dModel]) }
    : null;
  const b = (r: WeightRef | undefined) => (r ? `w.${r.field}` : null);
  const fn = env.functions.claim(path);
  const scale = 1 / Math.sqrt(hd);
  const rope = layer.rope ? layer.rope.base : null;
  // Three 2-D matmuls: one fused [wq | wk | wv] matmul (concat + split per step) measured 3–9 % slower
  // on wasm for tiny.peer (bench/emitted-vs-generic.ts, docs/benchmarks.md).
  const lines: string[] = [
    `  const B = ctx.batch;`,
    `  const T = ctx.seqLen;`,
    `  const q = ${linearExpr("x", `w.${wq.field}`, b(biases?.bq))}; // [B·T, ${H * hd}]`,
    `  const k = ${linearExpr("x", `w.${wk.field}`, b(biases?.bk))}; // [B·T, ${KV * hd}]`,
    `  const v = ${linearExpr("x", `w.${wv.field}`, b(biases?.bv))};`,
  ];
  // RoPE as x·cos + (x·P)·sin on the 2-D projections: P is a constant ±1 permutation (rotate-half per head),
  // cos and sin are [T, width] constants built once per seqLen; q's tables carry the 1/√hd softmax scale,
  // so the [B·H, T, T] scores need no scaling. Saves the split, concat and four of the runtime's multiplies.
  const scaleOnQ = rope === null && hd < layer.context;
  if (rope !== null) {
    lines.push(`  const qRope = ropeTables(T, ${lit(H)}, ${lit(hd)}, ${lit(rope)}, ${lit(scale)}); // q's tables carry 1/√${hd}`);
    lines.push(`  const kRope = ropeTables(T, ${lit(KV)}, ${lit(hd)}, ${lit(rope)}, 1);`);
    lines.push(`  const qr = tf.add(tf.mul(tf.reshape(q, [B, T, ${lit(H * hd)}]), qRope.cos), tf.mul(tf.reshape(tf.matMul(q, qRope.rotate), [B, T, ${lit(H * hd)}]), qRope.sin));`);
    lines.push(`  const kr = tf.add(tf.mul(tf.reshape(k, [B, T, ${lit(KV * hd)}]), kRope.cos), tf.mul(tf.reshape(tf.matMul(k, kRope.rotate), [B, T, ${lit(KV * hd)}]), kRope.sin));`);
    lines.push(`  const q4 = tf.reshape(qr, [B, T, ${lit(H)}, ${lit(hd)}]);`);
    lines.push(`  const k4 = tf.reshape(kr, [B, T, ${lit(KV)}, ${lit(hd)}]);`);
  } else {
    const qScaled = scaleOnQ ? `tf.mul(q, ${lit(scale)})` : "q";
    lines.push(`  const q4 = tf.reshape(${qScaled}, [B, T, ${lit(H)}, ${lit(hd)}]);${scaleOnQ ? ` // 1/√${hd} on q: fewer elements than the scores` : ""}`);
    lines.push(`  const k4 = tf.reshape(k, [B, T, ${lit(KV)}, ${lit(hd)}]);`);
  }
  // [B, T, n, hd] → [B, n, T, hd]
  const binding = KV !== H ? "let" : "const";
  lines.push(`  ${binding} kh = tf.transpose(k4, [0, 2, 1, 3]);`);
  lines.push(`  ${binding} vh = tf.transpose(tf.reshape(v, [B, T, ${lit(KV)}, ${lit(hd)}]), [0, 2, 1, 3]);`);
  if (KV !== H) {
    const ids = Array.from({ length: H }, (_, h) => Math.floor(h / (H / KV)));
    lines.push(`  // grouped-query: query head h reads kv head ⌊h / ${H / KV}⌋`);
    lines.push(`  const kvOfHead = kvHeadIndex(${JSON.stringify(ids)});`);
    lines.push(`  kh = tf.gather(kh, kvOfHead, 1);`);
    lines.push(`  vh = tf.gather(vh, kvOfHead, 1);`);
  }
  lines.push(`  const q3 = tf.reshape(tf.transpose(q4, [0, 2, 1, 3]), [B * ${lit(H)}, T, ${lit(hd)}]) as tf.Tensor3D;`);
  lines.push(`  const k3 = tf.reshape(kh, [B * ${lit(H)}, T, ${lit(hd)}]) as tf.Tensor3D;`);
  lines.push(`  const v3 = tf.reshape(vh, [B * ${lit(H)}, T, ${lit(hd)}]) as tf.Tensor3D;`);
  const scaled = rope !== null || scaleOnQ;
  lines.push(scaled
    ? `  const scores = tf.matMul(q3, k3, false, true); // already scaled by 1/√${hd}`
    : `  const scores = tf.mul(tf.matMul(q3, k3, false, true), ${lit(scale)}); // 1/√${hd}`);
  const masked = layer.causal ? `tf.add(scores, causalMask(T))` : `scores`;
  lines.push(`  const mixed = tf.matMul(tf.softmax(${masked}, -1), v3); // [B·${H}, T, ${hd}]`);
  lines.push(`  const heads = tf.reshape(tf.transpose(tf.reshape(mixed, [B, ${lit(H)}, T, ${lit(hd)}]), [0, 2, 1, 3]), [B * T, ${lit(H * hd)}]);`);
  lines.push(`  return ${linearExpr("heads", `w.${wo.field}`, b(biases?.bo))};`);
  const code = `function ${fn}(w: Weights, x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
${lines.join("\n")}
}`;
  const weights = [wq, wk, wv, wo, ...(biases ? [biases.bq, biases.bk, biases.bv, biases.bo] : [])];
  return { weights, tables: [], buffers: [], fn, code, call: (x) => `${fn}(w, ${x}, ctx)` };
}
