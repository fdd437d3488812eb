/**
 * The retrieval shared by the PEER and PKM emitters, specialised: every width,
 * head, half and top-k is a literal; the loops over heads and key halves are
 * resolved here, at compile time:
 *
 *   query net   x·W (+ b), then the runtime's queryBatchNorm / queryLayerNorm
 *   scores      per half, on a detached copy of q (they only choose):
 *               "batched"  — heads folded into rows, one 2-D matmul per half
 *                            (shared keys) or one 3-D matmul over heads (per-head keys)
 *               "unrolled" — one 2-D matmul per head and half, written out
 *   top-k       the runtime's exact product-key search (JS, gradient-free)
 *   gates       the chosen scores recomputed differentiably from q and only the
 *               chosen sub-keys (selectedScoresFromKeys), softmax per head or sigmoid
 *
 * Op for op what kinds/{peer,pkm}/runtime.ts compute through runtime/experts,
 * so both models give the same logits, BatchNorm running statistics and
 * routing records. Which score layout is faster was measured with
 * bench/emitted-vs-generic.ts (docs/compile.md).
 */
import type { PeerLayer, PkmLayer } from "../../ir/types.js";
import { DEFAULT_HEAD_LAYOUT, type LayerEmitEnv } from "../../compiler/emit/layer-types.js";
import { access, lit } from "../../compiler/emit/code.js";
import { subKeyNames } from "./weights.js";

/** Statements that bind `tokens`, `q`, `hits` and `gates` for one product-key layer. */
export function retrieval(layer: PeerLayer | PkmLayer, env: LayerEmitEnv, numExperts: number): string[] {
  const { heads: H, keyDim: DK, subKeys: SQ, topk: K, subTopk } = layer;
  const width = H * DK;
  const half = DK / 2;
  const layout = env.headLayout?.[layer.keys] ?? DEFAULT_HEAD_LAYOUT[layer.keys];
  const keyOf = (head: number, p: number) => access("w", subKeyNames(layer, layer.keys === "shared" ? 0 : head)[p]!);

  const lines: string[] = [`const tokens = x.shape[0];`];
  const product = `tf.matMul(x, w.query.w)`;
  const projected = layer.queryBias ? `tf.add(${product}, w.query.b)` : product;
  lines.push(`// query network: [T, ${lit(layer.dModel)}] → [T, ${lit(H)} heads × ${lit(DK)}]`);
  if (layer.queryNorm === "none") lines.push(`const q: tf.Tensor2D = ${projected};`);
  // The running-statistics momentum only when the spec sets one: otherwise the runtime default.
  const momentum = layer.bnMomentum === undefined ? "" : `, ${lit(layer.bnMomentum)}`;
  if (layer.queryNorm === "batch") lines.push(`const q = queryBatchNorm(${projected}, w.query.bn, ctx.training${momentum});`);
  if (layer.queryNorm === "layer") lines.push(`const q = queryLayerNorm(${projected}, w.query.ln, { heads: ${lit(H)}, keyDim: ${lit(DK)} });`);

  lines.push(`// sub-key scores [T·${lit(H)}, ${lit(SQ)}] per half (row t·${lit(H)} + head), on a detached copy of q: they only choose`);
  lines.push(`const frozen = detach(q);`);
  const rows = `tokens * ${lit(H)}`;
  if (layout === "batched" && layer.keys === "shared") {
    lines.push(`const frozenRows = tf.reshape(frozen, [${rows}, ${lit(DK)}]);`);
    for (const p of [0, 1]) {
      lines.push(`const scores${p + 1}: tf.Tensor2D = tf.matMul(tf.slice(frozenRows, [0, ${lit(p * half)}], [-1, ${lit(half)}]), ${keyOf(0, p)});`);
    }
  } else if (layout === "batched") {
    lines.push(`// heads as the batch of one 3-D matmul per half: [${lit(H)}, T, ${lit(half)}] × [${lit(H)}, ${lit(half)}, ${lit(SQ)}]`);
    lines.push(`const frozenHeads = tf.transpose(tf.reshape(frozen, [tokens, ${lit(H)}, ${lit(DK)}]), [1, 0, 2]);`);
    for (const p of [0, 1]) {
      const stacked = `tf.stack([${Array.from({ length: H }, (_, h) => keyOf(h, p)).join(", ")}])`;
      const perHead = `tf.matMul(tf.slice(frozenHeads, [0, 0, ${lit(p * half)}], [-1, -1, ${lit(half)}]), ${stacked})`;
      lines.push(`const scores${p + 1} = tf.reshape(tf.transpose(${perHead}, [1, 0, 2]), [${rows}, ${lit(SQ)}]) as tf.Tensor2D;`);
    }
  } else {
    lines.push(`// one matmul per head and half; concatenated heads are rows t·${lit(H)} + head after the reshape`);
    for (const p of [0, 1]) {
      lines.push(`const scores${p + 1} = tf.reshape(tf.concat([`);
      for (let h = 0; h < H; h++) {
        lines.push(`  tf.matMul(tf.slice(frozen, [0, ${lit(h * DK + p * half)}], [-1, ${lit(half)}]), ${keyOf(h, p)}), // head ${h}`);
      }
      lines.push(`], 1), [${rows}, ${lit(SQ)}]) as tf.Tensor2D;`);
    }
  }
  lines.push(`// exact top-${lit(K)} of ${lit(numExperts)} = ${lit(SQ)}² product keys (JS, gradient-free): top-${lit(subTopk)} per half, ${lit(subTopk * subTopk)} candidate sums`);
  lines.push(`const hits = productKeySearch(scores1, scores2, { subTopk: ${lit(subTopk)}, topk: ${lit(K)} });`);
  lines.push(`tf.dispose([frozen, scores1, scores2]);`);
  const keyList = layer.keys === "shared" ? `[[w.keys[1], w.keys[2]]]` : `w.keys.map((set) => [set[1], set[2]])`;
  lines.push(`// the ${lit(K)} chosen scores per head, recomputed differentiably from q and only the chosen sub-keys`);
  lines.push(`const selected = selectedScoresFromKeys(q, ${keyList}, hits, { heads: ${lit(H)}, keyDim: ${lit(DK)}, subKeys: ${lit(SQ)} });`);
  const router = layer.scores === "softmax" ? `tf.softmax(selected)` : `tf.sigmoid(selected)`;
  lines.push(`// router weights: ${layer.scores === "softmax" ? `softmax over each head's ${lit(K)} scores` : "sigmoid of each score"} → [T, ${lit(H)}·${lit(K)}]`);
  lines.push(`const gates = tf.reshape(${router}, [tokens, ${lit(H * K)}]) as tf.Tensor2D;`);
  lines.push(`if (ctx.recordRouting !== null) {`);
  lines.push(`  ctx.recordRouting({ path, numExperts: ${lit(numExperts)}, ids: hits.ids, weights: Float32Array.from(gates.dataSync()) });`);
  lines.push(`}`);
  return lines;
}
