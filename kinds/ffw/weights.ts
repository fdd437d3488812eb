/**
 * ffw: w_in [d, hidden], w_gate [d, hidden] (GLU), w_out [hidden, d] (output
 * init), biases b_in, b_gate, b_out. `mlpWeights` is shared with each MoE expert.
 */
import type { FfwLayer } from "../../ir/types.js";
import { dense, NORMAL, noDecay, OUTPUT_NORMAL, ZEROS, type WeightManifest, type WeightSpec } from "../manifest.js";

export interface MlpShape {
  readonly dModel: number;
  readonly hidden: number;
  readonly glu: boolean;
  readonly bias: boolean;
}

/** One MLP's weights, names prefixed by `prefix` ("" for a dense ffw, "experts.3." for a MoE expert). */
export function mlpWeights(shape: MlpShape, prefix = ""): WeightSpec[] {
  const { dModel, hidden, glu, bias } = shape;
  const out: WeightSpec[] = [dense(`${prefix}w_in`, [dModel, hidden], NORMAL)];
  if (glu) out.push(dense(`${prefix}w_gate`, [dModel, hidden], NORMAL));
  out.push(dense(`${prefix}w_out`, [hidden, dModel], OUTPUT_NORMAL));
  if (bias) {
    out.push(noDecay(`${prefix}b_in`, [hidden], ZEROS));
    if (glu) out.push(noDecay(`${prefix}b_gate`, [hidden], ZEROS));
    out.push(noDecay(`${prefix}b_out`, [dModel], ZEROS));
  }
  return out;
}

export function ffwWeights(layer: Pick<FfwLayer, "dModel" | "hidden" | "glu" | "bias">): WeightManifest {
  return mlpWeights(layer);
}
