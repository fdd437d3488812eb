/**
 * Emitter of moe, specialised: expert count, top-k, capacity factor, routing
 * kind and the expert network (act, GLU, biases) are literals; the balancing
 * loss is emitted only when its weight is non-zero. Routing decisions stay on
 * the host with the runtime's helpers (routeTokenChoice, capacities), exactly
 * as kinds/moe/runtime.ts makes them, so both models pick the same experts.
 */
import type { MoeLayer } from "../../ir/types.js";
import type { LayerEmission } from "../../compiler/emit/layer-types.js";
import { lit } from "../../compiler/emit/code.js";
import { mlpBody } from "../ffw/emit.js";

export function emitMoe(layer: MoeLayer): LayerEmission {
  const { experts: E } = layer;
  const lines: string[] = [
    `// one expert: ${layer.dModel} → ${layer.hidden} → ${layer.dModel}, ${layer.act}${layer.glu ? ", GLU" : ""}`,
    `const expert = (ex: (typeof w.experts)[number], x: tf.Tensor2D): tf.Tensor2D => {`,
    ...mlpBody(layer, "ex").map((l) => "  " + l),
    `};`,
    `const tokens = x.shape[0];`,
    `const probs = tf.softmax(tf.matMul(x, w.router)) as tf.Tensor2D; // [T, ${lit(E)}]`,
    `const probsFlat = tf.reshape(probs, [-1]);`,
    `const fixed = detach(probs); // choices are made on scores the tape cannot see`,
  ];
  const k = Math.min(layer.topk, E);
  if (layer.routing === "token") {
    lines.push(`// token choice: top-${k} of ${E} experts, at most ⌈${layer.capacity}·${k}·T/${E}⌉ tokens per expert`);
    lines.push(`const topIds = tf.topk(fixed, ${lit(k)}).indices;`);
    lines.push(`const routing = routeTokenChoice(topIds.dataSync() as Int32Array, tokens, ${lit(k)}, ${lit(E)}, tokenChoiceCapacity(${lit(layer.capacity)}, ${lit(k)}, tokens, ${lit(E)}));`);
    if (k > 1) {
      lines.push(`// gates renormalised over each token's ${k} choices`);
      lines.push(`const chosenIds = topIds.dataSync();`);
      lines.push(`const flat = new Int32Array(tokens * ${lit(k)});`);
      lines.push(`for (let t = 0; t < tokens; t++) for (let j = 0; j < ${lit(k)}; j++) flat[t * ${lit(k)} + j] = t * ${lit(E)} + chosenIds[t * ${lit(k)} + j]!;`);
      lines.push(`const denominators = tf.sum(tf.reshape(tf.gather(probsFlat, tf.tensor1d(flat, "int32")), [tokens, ${lit(k)}]), 1);`);
    }
    if (layer.auxLoss > 0) {
      lines.push(`if (ctx.training) ctx.addAuxLoss(tf.mul(loadBalancingLoss(probs, routing.chosen), ${lit(layer.auxLoss)}) as tf.Scalar);`);
    }
  } else {
    lines.push(`// expert choice: each of ${E} experts takes its top ⌊${layer.capacity}·T/${E}⌋ tokens`);
    lines.push(`const capacity = expertChoiceCapacity(${lit(layer.capacity)}, tokens, ${lit(E)});`);
    lines.push(`const top = tf.topk(tf.transpose(fixed), capacity).indices.dataSync(); // [${E}, capacity] token ids`);
    lines.push(`const lists = Array.from({ length: ${lit(E)} }, (_, e) => Int32Array.from(top.subarray(e * capacity, (e + 1) * capacity)).sort());`);
    lines.push(`const routing = { tokens: lists, chosen: Float64Array.from(lists, (l) => l.length), capacity };`);
  }
  const renormalised = layer.routing === "token" && k > 1;
  lines.push(`// each expert on its routed rows, weighted by its gate, summed back into token rows (runtime's combineExperts)`);
  lines.push(`return combineExperts(x, probsFlat, routing, ${renormalised ? "denominators" : "null"}, (e, rows) => expert(w.experts[e]!, rows), { path, recordRouting: ctx.recordRouting });`);
  return {
    name: "moe",
    summary: `MoE: ${E} experts of ${layer.hidden}, ${layer.routing} choice, top-${layer.topk}, capacity ${layer.capacity}`,
    input: "x",
    usesCtx: true,
    usesPath: true,
    tiedTo: null,
    body: lines,
  };
}
