/**
 * Emitter of attention, specialised: heads, kv heads, head size and the
 * softmax scale are literals; the score path is the runtime's batched one (one
 * BatchMatMul over B·H, measured faster than per-head 2-D matmuls on wasm,
 * kinds/attention/runtime.ts). RoPE is the runtime's `rotary` (x·cos +
 * swap(x)·sin, halves swapped by slices: no permutation matmul) with q's
 * tables carrying the 1/√hd scale, so the [B·H, T, T] scores need no scaling.
 */
import type { AttentionLayer } from "../../ir/types.js";
import type { LayerEmission } from "../../compiler/emit/layer-types.js";
import { linearExpr, lit } from "../../compiler/emit/code.js";

export function emitAttention(layer: AttentionLayer): LayerEmission {
  const { heads: H, kvHeads: KV, headDim: hd } = layer;
  const b = (part: string) => (layer.bias ? `w.${part}` : null);
  const scale = 1 / Math.sqrt(hd);
  const rope = layer.rope ? layer.rope.base : null;
  // Three 2-D matmuls: one fused [wq | wk | wv] matmul (concat + split per step) measured 3–9 % slower
  // on wasm for tiny.peer (bench/emitted-vs-generic.ts, docs/benchmarks.md).
  const lines: string[] = [
    `const B = ctx.batch;`,
    `const T = ctx.seqLen;`,
    `const q = ${linearExpr("x", "w.wq", b("bq"))}; // [B·T, ${lit(H * hd)}]`,
    `const k = ${linearExpr("x", "w.wk", b("bk"))}; // [B·T, ${lit(KV * hd)}]`,
    `const v = ${linearExpr("x", "w.wv", b("bv"))};`,
  ];
  // Without RoPE the scale goes on q when that is fewer elements than the scores.
  const scaleOnQ = rope === null && hd < layer.context;
  if (rope !== null) {
    const shape = (n: number) => `{ batch: B, seqLen: T, heads: ${lit(n)}, headDim: ${lit(hd)} }`;
    const tables = (n: number, s: number) => `ropeTables(T, { heads: ${lit(n)}, headDim: ${lit(hd)}, base: ${lit(rope)}, scale: ${lit(s)} })`;
    lines.push(`// RoPE, rotate-half; q's tables carry the 1/√${hd} score scale`);
    lines.push(`const q4 = rotary(q, ${tables(H, scale)}, ${shape(H)});`);
    lines.push(`const k4 = rotary(k, ${tables(KV, 1)}, ${shape(KV)});`);
  } else {
    const qScaled = scaleOnQ ? `tf.mul(q, ${lit(scale)})` : "q";
    lines.push(`const q4 = tf.reshape(${qScaled}, [B, T, ${lit(H)}, ${lit(hd)}]);${scaleOnQ ? ` // 1/√${hd} on q: fewer elements than the scores` : ""}`);
    lines.push(`const k4 = tf.reshape(k, [B, T, ${lit(KV)}, ${lit(hd)}]);`);
  }
  // [B, T, n, hd] → [B, n, T, hd]
  const binding = KV !== H ? "let" : "const";
  lines.push(`${binding} kh = tf.transpose(k4, [0, 2, 1, 3]);`);
  lines.push(`${binding} vh = tf.transpose(tf.reshape(v, [B, T, ${lit(KV)}, ${lit(hd)}]), [0, 2, 1, 3]);`);
  if (KV !== H) {
    lines.push(`// grouped-query: query head h reads kv head ⌊h / ${H / KV}⌋`);
    lines.push(`const kvOfHead = kvHeadIndex({ heads: ${lit(H)}, kvHeads: ${lit(KV)} });`);
    lines.push(`kh = tf.gather(kh, kvOfHead, 1);`);
    lines.push(`vh = tf.gather(vh, kvOfHead, 1);`);
  }
  lines.push(`const q3 = tf.reshape(tf.transpose(q4, [0, 2, 1, 3]), [B * ${lit(H)}, T, ${lit(hd)}]) as tf.Tensor3D;`);
  lines.push(`const k3 = tf.reshape(kh, [B * ${lit(H)}, T, ${lit(hd)}]) as tf.Tensor3D;`);
  lines.push(`const v3 = tf.reshape(vh, [B * ${lit(H)}, T, ${lit(hd)}]) as tf.Tensor3D;`);
  const scaled = rope !== null || scaleOnQ;
  lines.push(scaled
    ? `const scores = tf.matMul(q3, k3, false, true); // already scaled by 1/√${hd}`
    : `const scores = tf.mul(tf.matMul(q3, k3, false, true), ${lit(scale)}); // 1/√${hd}`);
  const masked = layer.causal ? `tf.add(scores, causalMask(T))` : `scores`;
  lines.push(`const mixed = tf.matMul(tf.softmax(${masked}, -1), v3); // [B·${H}, T, ${hd}]`);
  lines.push(`const heads = tf.reshape(tf.transpose(tf.reshape(mixed, [B, ${lit(H)}, T, ${lit(hd)}]), [0, 2, 1, 3]), [B * T, ${lit(H * hd)}]);`);
  lines.push(`return ${linearExpr("heads", "w.wo", b("bo"))};`);
  return {
    name: "attention",
    summary: `attention: ${H} heads × ${hd}${KV !== H ? `, ${KV} kv heads` : ""}${layer.causal ? ", causal" : ""}${rope !== null ? `, RoPE base ${rope}` : ""}`,
    input: "x",
    usesCtx: true,
    usesPath: false,
    tiedTo: null,
    body: lines,
    // The model counts the 1/√hd multiply on the [T] scores per head; the code folds it into q's RoPE
    // tables (no FLOPs) or puts it on q (H·hd per token).
    ...(rope !== null
      ? { flops: { folded: ["scale"], extra: [], note: "its score scale is folded into q's RoPE tables" } }
      : scaleOnQ
        ? { flops: { folded: ["scale"], extra: [{ name: "scale q", matrix: 0, elementwise: H * hd }], note: "its score scale is applied to q instead" } }
        : {}),
  };
}
