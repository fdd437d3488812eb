/** The LM head: logits = x·Eᵀ (tied: the embedding table, transposed in the matmul) or x·W (+ b). */
import type { LmHeadLayer } from "../../../ir/types.js";
import type { LayerEmission, LayerEmitEnv, WeightRef } from "./types.js";
import { lit } from "./common.js";

export function emitLmHead(layer: LmHeadLayer, env: LayerEmitEnv, embeddingName: string | null): LayerEmission {
  const fn = env.functions.claim(layer.path);
  const weights: WeightRef[] = [];
  let product: string;
  if (layer.tied) {
    const field = embeddingName ? env.weightField(embeddingName) : undefined;
    if (!field) throw new Error(`${layer.path}: a tied lm_head needs an embed layer before it`);
    product = `tf.matMul(x, w.${field}, false, true)`; // [n, ${layer.dModel}]·[${layer.vocab}, ${layer.dModel}]ᵀ
  } else {
    const matrix: WeightRef = { field: env.fields.claim(`${layer.path}.weight`), name: `${layer.path}.weight`, shape: [layer.dModel, layer.vocab] };
    weights.push(matrix);
    product = `tf.matMul(x, w.${matrix.field})`;
  }
  let body = `  return ${product}; // [n, ${lit(layer.vocab)}]`;
  if (layer.bias) {
    const bias: WeightRef = { field: env.fields.claim(`${layer.path}.bias`), name: `${layer.path}.bias`, shape: [layer.vocab] };
    weights.push(bias);
    body = `  return tf.add(${product}, w.${bias.field}); // [n, ${lit(layer.vocab)}]`;
  }
  const comment = layer.tied ? `  // tied: the embedding table, read transposed\n` : "";
  const code = `function ${fn}(w: Weights, x: tf.Tensor2D): tf.Tensor2D {
${comment}${body}
}`;
  return { weights, tables: [], buffers: [], fn, code, call: (x) => `${fn}(w, ${x})` };
}
