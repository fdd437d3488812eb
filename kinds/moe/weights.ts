/** moe: router [d, E], then expert e's MLP as ffw under `experts.<e>.`. */
import type { MoeLayer } from "../../ir/types.js";
import { mlpWeights } from "../ffw/weights.js";
import { dense, NORMAL, type WeightManifest } from "../manifest.js";

export function moeWeights(layer: Pick<MoeLayer, "dModel" | "experts" | "hidden" | "glu" | "bias">): WeightManifest {
  const out = [dense("router", [layer.dModel, layer.experts], NORMAL)];
  for (let e = 0; e < layer.experts; e++) out.push(...mlpWeights(layer, `experts.${e}.`));
  return out;
}

/** Expert e's weights alone (the runtime builds them one expert at a time). */
export function moeExpertWeights(layer: Pick<MoeLayer, "dModel" | "hidden" | "glu" | "bias">, expert: number): WeightManifest {
  return mlpWeights(layer, `experts.${expert}.`);
}
