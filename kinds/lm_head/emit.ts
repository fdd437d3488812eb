/** Emitter of lm_head: logits = x·Eᵀ (tied: the embedding table `e`, transposed in the matmul) or x·W, plus an optional bias. */
import type { LmHeadLayer } from "../../ir/types.js";
import type { LayerEmission, LayerEmitEnv } from "../../compiler/emit/layer-types.js";
import { lit } from "../../compiler/emit/code.js";

export function emitLmHead(layer: LmHeadLayer, env: LayerEmitEnv): LayerEmission {
  let tiedTo: string | null = null;
  let product = `tf.matMul(x, w.weight)`;
  if (layer.tied) {
    const embed = env.model.layers.find((l) => l.kind === "embed");
    if (!embed) throw new Error(`${layer.path}: a tied lm_head needs an embed layer`);
    tiedTo = embed.path;
    product = `tf.matMul(x, e.weight, false, true)`;
  }
  const body = [
    ...(layer.tied ? [`// tied: the embedding table [${lit(layer.vocab)}, ${lit(layer.dModel)}], read transposed`] : []),
    `return ${layer.bias ? `tf.add(${product}, w.bias)` : product}; // [n, ${lit(layer.vocab)}]`,
  ];
  return {
    name: layer.tied ? "tiedLmHead" : "lmHead",
    summary: `LM head ${layer.dModel} → ${layer.vocab}${layer.tied ? ", tied to the embedding" : ""}`,
    input: "x",
    usesCtx: false,
    usesPath: false,
    tiedTo,
    body,
  };
}
