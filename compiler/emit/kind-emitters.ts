/** Each layer kind's weight manifest and emitter, from the kinds' registry (kinds/index.ts). */
import type { IRLayer } from "../../ir/types.js";
import type { WeightManifest } from "../../kinds/manifest.js";
import { kindOf, layerWeights } from "../../kinds/index.js";
import type { LayerEmission, LayerEmitEnv, LayerEmitter } from "./layer-types.js";

/** The layer's weights, relative to its path (kinds/<kind>/weights.ts). */
export function layerManifest(layer: IRLayer): WeightManifest {
  return layerWeights(layer);
}

/** The layer's emission (kinds/<kind>/emit.ts). */
export function emitLayer(layer: IRLayer, env: LayerEmitEnv): LayerEmission {
  return (kindOf(layer).emit as LayerEmitter)(layer, env);
}
