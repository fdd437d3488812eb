/** Dense feed-forward: act(x·W_in + b_in) [⊙ (x·W_gate + b_gate)] · W_out + b_out. */
import * as tf from "@tensorflow/tfjs";
import type { Activation, FfwLayer } from "../../ir/types.js";
import { normal, zeros, type LayerBuildContext } from "../../runtime/model/init.js";
import type { NamedVariable, RuntimeLayer } from "../../runtime/layers/layer.js";
import { activate, linear } from "../../runtime/layers/ops.js";

/** The weights of one feed-forward network (a dense FFW or one MoE expert). */
export interface FfwWeights {
  readonly wIn: NamedVariable;
  readonly wGate: NamedVariable | null;
  readonly wOut: NamedVariable;
  readonly bIn: NamedVariable | null;
  readonly bGate: NamedVariable | null;
  readonly bOut: NamedVariable | null;
}

export function createFfwWeights(
  prefix: string,
  shape: { dModel: number; hidden: number; glu: boolean; bias: boolean },
  ctx: LayerBuildContext,
): FfwWeights {
  const { dModel, hidden, glu, bias } = shape;
  const bias1 = (name: string, size: number): NamedVariable | null => (bias ? ctx.variable(`${prefix}.${name}`, [size], zeros, { noDecay: true }) : null);
  return {
    wIn: ctx.variable(`${prefix}.w_in`, [dModel, hidden], normal()),
    wGate: glu ? ctx.variable(`${prefix}.w_gate`, [dModel, hidden], normal()) : null,
    wOut: ctx.variable(`${prefix}.w_out`, [hidden, dModel], normal(ctx.outputStd)),
    bIn: bias1("b_in", hidden),
    bGate: glu ? bias1("b_gate", hidden) : null,
    bOut: bias1("b_out", dModel),
  };
}

export function ffwVariables(w: FfwWeights): NamedVariable[] {
  return [w.wIn, w.wGate, w.wOut, w.bIn, w.bGate, w.bOut].filter((v): v is NamedVariable => v !== null);
}

/** x [n, dModel] → [n, dModel]. GLU: act(gate) ⊙ up, the SwiGLU/GeGLU convention. */
export function applyFfw(x: tf.Tensor, w: FfwWeights, act: Activation): tf.Tensor2D {
  const up = linear(x, w.wIn.variable, w.bIn?.variable ?? null);
  const hidden = w.wGate ? tf.mul(activate(linear(x, w.wGate.variable, w.bGate?.variable ?? null), act), up) : activate(up, act);
  return linear(hidden, w.wOut.variable, w.bOut?.variable ?? null);
}

export function createFfwLayer(layer: FfwLayer, ctx: LayerBuildContext): RuntimeLayer {
  const weights = createFfwWeights(layer.path, layer, ctx);
  return {
    path: layer.path,
    kind: "ffw",
    variables: ffwVariables(weights),
    sparseTables: [],
    buffers: () => [],
    apply: (x) => applyFfw(x, weights, layer.act),
  };
}
