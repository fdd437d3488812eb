/** embed: the token table [vocab, dim] (not decayed: an embedding). */
import type { EmbedLayer } from "../../ir/types.js";
import { NORMAL, noDecay, type WeightManifest } from "../manifest.js";

export function embedWeights(layer: Pick<EmbedLayer, "vocab" | "dim">): WeightManifest {
  return [noDecay("weight", [layer.vocab, layer.dim], NORMAL)];
}
