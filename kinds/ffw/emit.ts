/** Emitters of the dense kinds: embed, positions, norm, ffw. Weight names follow runtime/layers/*.ts. */
import type { EmbedLayer, FfwLayer, NormLayer, PositionsLayer } from "../../../ir/types.js";
import type { LayerEmission, LayerEmitEnv, WeightRef } from "./types.js";
import { activation, linearExpr, lit, shapeLit } from "./common.js";

function weight(env: LayerEmitEnv, name: string, shape: readonly number[]): WeightRef {
  return { field: env.fields.claim(name), name, shape };
}

export function emitEmbed(layer: EmbedLayer, env: LayerEmitEnv): LayerEmission {
  const table = weight(env, `${layer.path}.weight`, [layer.vocab, layer.dim]);
  const fn = env.functions.claim(layer.path);
  const code = `function ${fn}(w: Weights, ids: tf.Tensor1D): tf.Tensor2D {
  return tf.gather(w.${table.field}, ids, 0) as tf.Tensor2D; // [batch·seqLen, ${lit(layer.dim)}]
}`;
  return { weights: [table], tables: [], buffers: [], fn, code, call: (x) => `${fn}(w, ${x})` };
}

export function emitPositions(layer: PositionsLayer, env: LayerEmitEnv): LayerEmission {
  const table = weight(env, `${layer.path}.weight`, [layer.context, layer.dim]);
  const fn = env.functions.claim(layer.path);
  const code = `function ${fn}(w: Weights, x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
  if (ctx.seqLen > ${lit(layer.context)}) throw new Error(\`sequence length \${ctx.seqLen} exceeds the context ${lit(layer.context)}\`);
  return tf.add(x, tf.gather(w.${table.field}, positionIdsFor(ctx.batch, ctx.seqLen), 0));
}`;
  return { weights: [table], tables: [], buffers: [], fn, code, call: (x) => `${fn}(w, ${x}, ctx)` };
}

export function emitNorm(layer: NormLayer, env: LayerEmitEnv): LayerEmission {
  const gain = weight(env, `${layer.path}.gain`, [layer.dim]);
  const fn = env.functions.claim(layer.path);
  let body: string;
  let weights: WeightRef[];
  if (layer.type === "rms") {
    weights = [gain];
    body = `  const meanSquare = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, ${lit(layer.eps)}))), w.${gain.field});`;
  } else {
    const bias = weight(env, `${layer.path}.bias`, [layer.dim]);
    weights = [gain, bias];
    body = `  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, ${lit(layer.eps)}))), w.${gain.field}), w.${bias.field});`;
  }
  const code = `function ${fn}(w: Weights, x: tf.Tensor2D): tf.Tensor2D {
${body}
}`;
  return { weights, tables: [], buffers: [], fn, code, call: (x) => `${fn}(w, ${x})` };
}

export function emitFfw(layer: FfwLayer, env: LayerEmitEnv): LayerEmission {
  const { dModel, hidden } = layer;
  const wIn = weight(env, `${layer.path}.w_in`, [dModel, hidden]);
  const wGate = layer.glu ? weight(env, `${layer.path}.w_gate`, [dModel, hidden]) : null;
  const wOut = weight(env, `${layer.path}.w_out`, [hidden, dModel]);
  const bIn = layer.bias ? weight(env, `${layer.path}.b_in`, [hidden]) : null;
  const bGate = layer.bias && layer.glu ? weight(env, `${layer.path}.b_gate`, [hidden]) : null;
  const bOut = layer.bias ? weight(env, `${layer.path}.b_out`, [dModel]) : null;
  const f = (r: { field: string } | null) => (r ? `w.${r.field}` : null);
  const fn = env.functions.claim(layer.path);
  const lines = [`  const up = ${linearExpr("x", `w.${wIn.field}`, f(bIn))}; // [n, ${lit(hidden)}]`];
  if (wGate) {
    lines.push(`  const gate = ${linearExpr("x", `w.${wGate.field}`, f(bGate))};`);
    lines.push(`  ${activation(layer.act, "gate", "gated")}`);
    lines.push(`  const hidden = tf.mul(gated, up);`);
  } else {
    lines.push(`  ${activation(layer.act, "up", "hidden")}`);
  }
  lines.push(`  return ${linearExpr("hidden", `w.${wOut.field}`, f(bOut))}; // [n, ${lit(dModel)}]`);
  const code = `function ${fn}(w: Weights, x: tf.Tensor2D): tf.Tensor2D {
${lines.join("\n")}
}`;
  const weights = [wIn, wGate, wOut, bIn, bGate, bOut].filter((r): r is WeightRef => r !== null);
  return { weights, tables: [], buffers: [], fn, code, call: (x) => `${fn}(w, ${x})` };
}

export { shapeLit };
