/** Dense feed-forward: act(x·W_in + b_in) [⊙ (x·W_gate + b_gate)] · W_out + b_out. */
import * as tf from "@tensorflow/tfjs";
import type { Activation, FfwLayer } from "../../ir/types.js";
import type { LayerBuildContext } from "../../runtime/model/init.js";
import { createDenseWeights, type DenseWeights, type KindRuntime } from "../../runtime/layers/kind.js";
import { ffwWeights, mlpWeights } from "./weights.js";
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
  return ffwWeightsFrom(createDenseWeights(prefix, mlpWeights(shape), ctx));
}

/** The FfwWeights of manifest entries `${prefix}w_in`, … (prefix "experts.3." for a MoE expert). */
export function ffwWeightsFrom(w: DenseWeights, prefix = ""): FfwWeights {
  return {
    wIn: w.get(`${prefix}w_in`),
    wGate: w.maybe(`${prefix}w_gate`),
    wOut: w.get(`${prefix}w_out`),
    bIn: w.maybe(`${prefix}b_in`),
    bGate: w.maybe(`${prefix}b_gate`),
    bOut: w.maybe(`${prefix}b_out`),
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

export const ffwRuntime: KindRuntime<FfwLayer> = { kind: "ffw", weights: ffwWeights, create: (layer, ctx) => createFfwLayer(layer, ctx) };
