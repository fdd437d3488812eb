/** norm: gain [dim] (rms and layer), bias [dim] (layer only). */
import type { NormLayer } from "../../ir/types.js";
import { noDecay, ONES, ZEROS, type WeightManifest } from "../manifest.js";

export function normWeights(layer: Pick<NormLayer, "type" | "dim">): WeightManifest {
  const gain = noDecay("gain", [layer.dim], ONES);
  return layer.type === "layer" ? [gain, noDecay("bias", [layer.dim], ZEROS)] : [gain];
}
