/**
 * PEER and PKM, specialised. Every width, head, half and top-k is a literal;
 * the loops over heads and key halves are resolved here, at compile time:
 *
 *   query net   x·W (+ b), then the query norm (batch | layer | none) written out
 *               (its momentum and ε are the runtime's QUERY_BN_MOMENTUM and
 *               QUERY_NORM_EPS: running statistics are the runtime's convention,
 *               like the weights' initialisation)
 *   scores      per half, on a detached copy of q (they only choose):
 *               "batched"  — heads folded into rows, one 2-D matmul per half
 *                            (shared keys) or one 3-D matmul over heads (per-head keys)
 *               "unrolled" — one 2-D matmul per head and half, written out
 *   top-k       the runtime's exact product-key search (JS, gradient-free) with
 *               literal sizes: top-k′ per half, k′² candidate sums, top-k
 *   gates       the chosen scores recomputed differentiably from q and only the
 *               chosen sub-keys (selectedScoresFromKeys), softmax per head or sigmoid
 *   experts     the runtime's fused kernels over the expert tables
 *               (peerExperts: Σ g·σ(uᵀx)·v; pkmValues: Σ g·value)
 *
 * Op for op this is what runtime/layers/{peer,pkm}.ts compute through
 * runtime/experts (router.ts, query-net.ts), so both models give the same
 * logits, BatchNorm running statistics and routing records. Which score layout
 * is faster was measured with bench/emitted-vs-generic.ts (docs/compile.md).
 */
import type { PeerLayer, PkmLayer } from "../../../ir/types.js";
import type { HeadLayouts, LayerEmission, LayerEmitEnv, TableRef, WeightRef } from "./types.js";

export type { HeadLayout, HeadLayouts } from "./types.js";
import { lit } from "./common.js";
import { tsString } from "../strings.js";


/**
 * The layout emitted by default, per key sharing: batched for both. On wasm,
 * one matmul per head trained 15% slower with shared keys and 5% slower with
 * per-head keys (bench/emitted-vs-generic.ts --heads, figures in docs/compile.md).
 */
export const DEFAULT_HEAD_LAYOUT: HeadLayouts = { shared: "batched", per_head: "batched" };


function weight(env: LayerEmitEnv, name: string, shape: readonly number[]): WeightRef {
  return { field: env.fields.claim(name), name, shape };
}

function table(env: LayerEmitEnv, name: string, rows: number, cols: number): TableRef {
  return { field: env.fields.claim(name), name, rows, cols };
}

interface Retrieval {
  readonly weights: WeightRef[];
  readonly buffers: WeightRef[];
  /** Statements that bind `tokens`, `q`, `hits` and `gates`. */
  readonly lines: string[];
}

/** Query network, norm, sub-key scores, product-key top-k and router weights of one layer. */
function retrieval(layer: PeerLayer | PkmLayer, env: LayerEmitEnv, numExperts: number): Retrieval {
  const { path, dModel, heads: H, keyDim: DK, subKeys: SQ, topk: K, subTopk } = layer;
  const width = H * DK;
  const half = DK / 2;
  const layout = env.headLayout?.[layer.keys] ?? DEFAULT_HEAD_LAYOUT[layer.keys];
  const w = weight(env, `${path}.query.w`, [dModel, width]);
  const b = layer.queryBias ? weight(env, `${path}.query.b`, [width]) : null;
  const normName = layer.queryNorm === "batch" ? "bn" : "ln";
  const gamma = layer.queryNorm === "none" ? null : weight(env, `${path}.query.${normName}.gamma`, [width]);
  const beta = layer.queryNorm === "none" ? null : weight(env, `${path}.query.${normName}.beta`, [width]);
  const buffers = layer.queryNorm === "batch" ? [weight(env, `${path}.query.bn.running_mean`, [width]), weight(env, `${path}.query.bn.running_var`, [width])] : [];
  const keySets = layer.keys === "shared" ? [`${path}.keys`] : Array.from({ length: H }, (_, h) => `${path}.keys.${h}`);
  const keys = keySets.map((prefix) => [1, 2].map((p) => weight(env, `${prefix}.${p}`, [half, SQ])));
  const keyOf = (head: number, p: number) => `w.${keys[layer.keys === "shared" ? 0 : head]![p]!.field}`;

  const lines: string[] = [`  const tokens = x.shape[0];`];
  const product = `tf.matMul(x, w.${w.field})`;
  const normTarget = layer.queryNorm === "none" ? "q" : "projected";
  lines.push(`  // query network: [T, ${lit(dModel)}] → [T, ${lit(H)} heads × ${lit(DK)}]`);
  lines.push(`  const ${normTarget}: tf.Tensor2D = ${b ? `tf.add(${product}, w.${b.field})` : product};`);
  if (layer.queryNorm === "layer") {
    lines.push(`  // LayerNorm over each head's ${lit(DK)} values`);
    lines.push(`  const headRows = tf.reshape(projected, [tokens * ${lit(H)}, ${lit(DK)}]);`);
    lines.push(`  const mean = tf.mean(headRows, 1, true);`);
    lines.push(`  const centred = tf.sub(headRows, mean);`);
    lines.push(`  const variance = tf.mean(tf.square(centred), 1, true);`);
    lines.push(`  const normalised = tf.reshape(tf.mul(centred, tf.rsqrt(tf.add(variance, QUERY_NORM_EPS))), [tokens, ${lit(width)}]);`);
    lines.push(`  const q: tf.Tensor2D = tf.add(tf.mul(normalised, w.${gamma!.field}), w.${beta!.field});`);
  } else if (layer.queryNorm === "batch") {
    const [mean, variance] = buffers.map((r) => `w.${r.field}`);
    lines.push(`  // BatchNorm: the pass's token statistics in training, the running ones in evaluation
  let normalised: tf.Tensor2D;
  if (ctx.training) {
    const mean = tf.mean(projected, 0);
    const centred = tf.sub(projected, mean);
    const variance = tf.mean(tf.square(centred), 0);
    normalised = tf.mul(centred, tf.rsqrt(tf.add(variance, QUERY_NORM_EPS)));
    // running ← (1 − m)·running + m·batch, m the runtime's momentum (the running variance takes the unbiased batch variance)
    const unbiased = tokens > 1 ? tokens / (tokens - 1) : 1;
    tf.tidy(() => {
      ${mean}.assign(tf.add(tf.mul(${mean}, 1 - QUERY_BN_MOMENTUM), tf.mul(mean, QUERY_BN_MOMENTUM)));
      ${variance}.assign(tf.add(tf.mul(${variance}, 1 - QUERY_BN_MOMENTUM), tf.mul(variance, QUERY_BN_MOMENTUM * unbiased)));
    });
  } else {
    normalised = tf.mul(tf.sub(projected, ${mean}), tf.rsqrt(tf.add(${variance}, QUERY_NORM_EPS)));
  }
  const q: tf.Tensor2D = tf.add(tf.mul(normalised, w.${gamma!.field}), w.${beta!.field});`);
  }

  lines.push(`  // sub-key scores [T·${lit(H)}, ${lit(SQ)}] per half (row t·${lit(H)} + head), on a detached copy of q: they only choose`);
  lines.push(`  const frozen = detach(q);`);
  const rows = `tokens * ${lit(H)}`;
  if (layout === "batched" && layer.keys === "shared") {
    lines.push(`  const frozenRows = tf.reshape(frozen, [${rows}, ${lit(DK)}]);`);
    for (const p of [0, 1]) {
      lines.push(`  const scores${p + 1}: tf.Tensor2D = tf.matMul(tf.slice(frozenRows, [0, ${lit(p * half)}], [-1, ${lit(half)}]), ${keyOf(0, p)});`);
    }
  } else if (layout === "batched") {
    lines.push(`  // heads as the batch of one 3-D matmul per half: [${lit(H)}, T, ${lit(half)}] × [${lit(H)}, ${lit(half)}, ${lit(SQ)}]`);
    lines.push(`  const frozenHeads = tf.transpose(tf.reshape(frozen, [tokens, ${lit(H)}, ${lit(DK)}]), [1, 0, 2]);`);
    for (const p of [0, 1]) {
      const stacked = `tf.stack([${Array.from({ length: H }, (_, h) => keyOf(h, p)).join(", ")}])`;
      const perHead = `tf.matMul(tf.slice(frozenHeads, [0, 0, ${lit(p * half)}], [-1, -1, ${lit(half)}]), ${stacked})`;
      lines.push(`  const scores${p + 1} = tf.reshape(tf.transpose(${perHead}, [1, 0, 2]), [${rows}, ${lit(SQ)}]) as tf.Tensor2D;`);
    }
  } else {
    lines.push(`  // one matmul per head and half; concatenated heads are rows t·${lit(H)} + head after the reshape`);
    for (const p of [0, 1]) {
      lines.push(`  const scores${p + 1} = tf.reshape(tf.concat([`);
      for (let h = 0; h < H; h++) {
        lines.push(`    tf.matMul(tf.slice(frozen, [0, ${lit(h * DK + p * half)}], [-1, ${lit(half)}]), ${keyOf(h, p)}), // head ${h}`);
      }
      lines.push(`  ], 1), [${rows}, ${lit(SQ)}]) as tf.Tensor2D;`);
    }
  }
  lines.push(`  // exact top-${lit(K)} of ${lit(numExperts)} = ${lit(SQ)}² product keys (JS, gradient-free): top-${lit(subTopk)} per half, ${lit(subTopk * subTopk)} candidate sums`);
  lines.push(`  const hits = productKeyTopk(readHost(scores1), readHost(scores2), ${rows}, ${lit(SQ)}, ${lit(subTopk)}, ${lit(K)});`);
  lines.push(`  tf.dispose([frozen, scores1, scores2]);`);
  const keyList = `[${keys.map((set) => `[${set.map((r) => `w.${r.field}`).join(", ")}]`).join(", ")}]`;
  lines.push(`  // the ${lit(K)} chosen scores per head, recomputed differentiably from q and only the chosen sub-keys`);
  lines.push(`  const selected = selectedScoresFromKeys(q, ${keyList}, hits, { heads: ${lit(H)}, keyDim: ${lit(DK)}, subKeys: ${lit(SQ)} });`);
  const router = layer.scores === "softmax" ? `tf.softmax(selected)` : `tf.sigmoid(selected)`;
  lines.push(`  // router weights: ${layer.scores === "softmax" ? `softmax over each head's ${lit(K)} scores` : "sigmoid of each score"} → [T, ${lit(H)}·${lit(K)}]`);
  lines.push(`  const gates = tf.reshape(${router}, [tokens, ${lit(H * K)}]) as tf.Tensor2D;`);
  lines.push(`  if (ctx.recordRouting !== null) {`);
  lines.push(`    ctx.recordRouting({ path: ${tsString(path)}, numExperts: ${lit(numExperts)}, ids: hits.ids, weights: Float32Array.from(gates.dataSync()) });`);
  lines.push(`  }`);
  const weights = [w, b, gamma, beta, ...keys.flat()].filter((r): r is WeightRef => r !== null);
  return { weights, buffers, lines };
}

function finish(fn: string, lines: readonly string[], retrieved: Retrieval, tables: TableRef[]): LayerEmission {
  const code = `function ${fn}(w: Weights, x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
${[...retrieved.lines, ...lines].join("\n")}
}`;
  return { weights: retrieved.weights, tables, buffers: retrieved.buffers, fn, code, call: (x) => `${fn}(w, ${x}, ctx)` };
}

export function emitPeer(layer: PeerLayer, env: LayerEmitEnv): LayerEmission {
  const fn = env.functions.claim(layer.path);
  const retrieved = retrieval(layer, env, layer.experts);
  const u = table(env, `${layer.path}.experts.u`, layer.experts, layer.dModel);
  const v = table(env, `${layer.path}.experts.v`, layer.experts, layer.dModel);
  const lines = [
    `  // Σ over ${lit(layer.heads)} heads × ${lit(layer.topk)} experts of g · ${layer.act}(u_idᵀx) · v_id, fused over the tables u, v [${lit(layer.experts)}, ${lit(layer.dModel)}]`,
    `  return peerExperts(x, gates, hits.ids, w.${u.field}, w.${v.field}, ${tsString(layer.act)});`,
  ];
  return finish(fn, lines, retrieved, [u, v]);
}

export function emitPkm(layer: PkmLayer, env: LayerEmitEnv): LayerEmission {
  const fn = env.functions.claim(layer.path);
  const retrieved = retrieval(layer, env, layer.memories);
  const values = table(env, `${layer.path}.values`, layer.memories, layer.valueDim);
  const lines = [
    `  // Σ over ${lit(layer.heads)} heads × ${lit(layer.topk)} memories of g · value_id, fused over the table [${lit(layer.memories)}, ${lit(layer.valueDim)}]`,
    `  return pkmValues(gates, hits.ids, w.${values.field});`,
  ];
  return finish(fn, lines, retrieved, [values]);
}
