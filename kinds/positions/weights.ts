/** positions learned: the table [context, dim] added to the embeddings. */
import type { PositionsLayer } from "../../ir/types.js";
import { NORMAL, noDecay, type WeightManifest } from "../manifest.js";

export function positionsWeights(layer: Pick<PositionsLayer, "context" | "dim">): WeightManifest {
  return [noDecay("weight", [layer.context, layer.dim], NORMAL)];
}
