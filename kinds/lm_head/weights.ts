/** lm_head: weight [d, vocab] unless tied (then the embedding's table, listed there), bias [vocab]. */
import type { LmHeadLayer } from "../../ir/types.js";
import { dense, NORMAL, noDecay, ZEROS, type WeightManifest, type WeightSpec } from "../manifest.js";

export function lmHeadWeights(layer: Pick<LmHeadLayer, "dModel" | "vocab" | "tied" | "bias">): WeightManifest {
  const out: WeightSpec[] = [];
  if (!layer.tied) out.push(dense("weight", [layer.dModel, layer.vocab], NORMAL));
  if (layer.bias) out.push(noDecay("bias", [layer.vocab], ZEROS));
  return out;
}
