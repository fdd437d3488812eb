/**
 * MoE, specialised: expert count, top-k, capacity factor, routing kind and the
 * expert network (act, GLU, biases) are literals; the balancing loss is emitted
 * only when its weight is non-zero. Routing decisions stay on the host with
 * the runtime's helpers (routeTokenChoice, capacities), exactly as
 * runtime/layers/moe.ts makes them, so both models pick the same experts.
 */
import type { MoeLayer } from "../../../ir/types.js";
import type { LayerEmission, LayerEmitEnv, WeightGroup, WeightRef } from "./types.js";
import { activation, linearExpr, lit } from "./common.js";
import { commentText, tsString } from "../strings.js";

export function emitMoe(layer: MoeLayer, env: LayerEmitEnv): LayerEmission {
  const { path, dModel, hidden, experts: E } = layer;
  const router: WeightRef = { field: env.fields.claim(`${path}.router`), name: `${path}.router`, shape: [dModel, E] };
  const parts: { property: string; part: string; shape: number[] }[] = [{ property: "wIn", part: "w_in", shape: [dModel, hidden] }];
  if (layer.glu) parts.push({ property: "wGate", part: "w_gate", shape: [dModel, hidden] });
  parts.push({ property: "wOut", part: "w_out", shape: [hidden, dModel] });
  if (layer.bias) {
    parts.push({ property: "bIn", part: "b_in", shape: [hidden] });
    if (layer.glu) parts.push({ property: "bGate", part: "b_gate", shape: [hidden] });
    parts.push({ property: "bOut", part: "b_out", shape: [dModel] });
  }
  const group: WeightGroup = {
    field: env.fields.claim(`${path}.experts`),
    typeName: env.functions.claim(`${path}.expert.weights`, "pascal"),
    prefix: `${path}.experts.`,
    count: E,
    parts,
  };
  const fn = env.functions.claim(path);
  const expertFn = env.functions.claim(`${path}.expert`);
  const bias = (p: string) => (layer.bias ? `ex.${p}` : null);

  const expert = [`  const up = ${linearExpr("x", "ex.wIn", bias("bIn"))}; // [n, ${lit(hidden)}]`];
  if (layer.glu) {
    expert.push(`  const gate = ${linearExpr("x", "ex.wGate", bias("bGate"))};`);
    expert.push(`  ${activation(layer.act, "gate", "gated")}`);
    expert.push(`  const h = tf.mul(gated, up);`);
  } else {
    expert.push(`  ${activation(layer.act, "up", "h")}`);
  }
  expert.push(`  return ${linearExpr("h", "ex.wOut", bias("bOut"))};`);
  const expertCode = `/** One expert of ${commentText(path)}: ${dModel} → ${hidden} → ${dModel}, ${layer.act}${layer.glu ? ", GLU" : ""}. */
function ${expertFn}(ex: ${group.typeName}, x: tf.Tensor2D): tf.Tensor2D {
${expert.join("\n")}
}`;

  const lines: string[] = [
    `  const tokens = x.shape[0];`,
    `  const probs = tf.softmax(tf.matMul(x, w.${router.field})) as tf.Tensor2D; // [T, ${lit(E)}]`,
    `  const probsFlat = tf.reshape(probs, [-1]);`,
    `  const fixed = detach(probs); // choices are made on scores the tape cannot see`,
  ];
  if (layer.routing === "token") {
    const k = Math.min(layer.topk, E);
    lines.push(`  // token choice: top-${k} of ${E} experts, at most ⌈${layer.capacity}·${k}·T/${E}⌉ tokens per expert`);
    lines.push(`  const topIds = tf.topk(fixed, ${lit(k)}).indices;`);
    lines.push(`  const routing = routeTokenChoice(topIds.dataSync() as Int32Array, tokens, ${lit(k)}, ${lit(E)}, tokenChoiceCapacity(${lit(layer.capacity)}, ${lit(k)}, tokens, ${lit(E)}));`);
    if (k > 1) {
      lines.push(`  // gates renormalised over each token's ${k} choices`);
      lines.push(`  const chosenIds = topIds.dataSync();`);
      lines.push(`  const flat = new Int32Array(tokens * ${lit(k)});`);
      lines.push(`  for (let t = 0; t < tokens; t++) for (let j = 0; j < ${lit(k)}; j++) flat[t * ${lit(k)} + j] = t * ${lit(E)} + chosenIds[t * ${lit(k)} + j]!;`);
      lines.push(`  const denominators = tf.sum(tf.reshape(tf.gather(probsFlat, tf.tensor1d(flat, "int32")), [tokens, ${lit(k)}]), 1);`);
    }
    if (layer.auxLoss > 0) {
      lines.push(`  if (ctx.training) ctx.addAuxLoss(tf.mul(loadBalancingLoss(probs, routing.chosen), ${lit(layer.auxLoss)}) as tf.Scalar);`);
    }
  } else {
    lines.push(`  // expert choice: each of ${E} experts takes its top ⌊${layer.capacity}·T/${E}⌋ tokens`);
    lines.push(`  const capacity = expertChoiceCapacity(${lit(layer.capacity)}, tokens, ${lit(E)});`);
    lines.push(`  const top = tf.topk(tf.transpose(fixed), capacity).indices.dataSync(); // [${E}, capacity] token ids`);
    lines.push(`  const lists = Array.from({ length: ${lit(E)} }, (_, e) => Int32Array.from(top.subarray(e * capacity, (e + 1) * capacity)).sort());`);
    lines.push(`  const routing = { tokens: lists, chosen: Float64Array.from(lists, (l) => l.length), capacity };`);
  }
  const renormalised = layer.routing === "token" && Math.min(layer.topk, E) > 1;
  lines.push(`  // each expert on its routed rows, weighted by its gate, summed back into token rows (runtime's combineExperts)`);
  lines.push(
    `  return combineExperts(x, probsFlat, routing, ${renormalised ? "denominators" : "null"}, (e, rows) => ${expertFn}(w.${group.field}[e]!, rows), { path: ${tsString(path)}, recordRouting: ctx.recordRouting });`,
  );
  const code = `function ${fn}(w: Weights, x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
${lines.join("\n")}
}

${expertCode}`;
  return { weights: [router], groups: [group], tables: [], buffers: [], fn, code, call: (x) => `${fn}(w, ${x}, ctx)` };
}
