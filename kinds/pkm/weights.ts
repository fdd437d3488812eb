/** pkm: the product-key query side, then the value table values [N, value_dim] N(0, 1/value_dim) (XLM PKM). */
import type { PkmLayer } from "../../ir/types.js";
import { expertTable, type WeightManifest } from "../manifest.js";
import { queryWeights } from "../product-keys/weights.js";

export function pkmWeights(layer: Omit<PkmLayer, "path" | "index" | "span" | "argSpans" | "kind">): WeightManifest {
  return [
    ...queryWeights(layer),
    expertTable("values", layer.memories, layer.valueDim, { kind: "layer_normal", std: 1 / Math.sqrt(layer.valueDim) }, layer.heads * layer.topk),
  ];
}
