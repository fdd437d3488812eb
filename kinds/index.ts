/**
 * The compiler's registry of layer kinds: one line per kind (docs/adding-a-kind.md).
 * The runtime's registry is kinds/runtime.ts (runtime code may not import this one).
 */
import type { IRLayer, LayerKind } from "../ir/types.js";
import type { WeightManifest } from "./manifest.js";
import type { KindModule } from "./kind.js";
import { attentionKind } from "./attention/index.js";
import { embedKind } from "./embed/index.js";
import { ffwKind } from "./ffw/index.js";
import { lmHeadKind } from "./lm_head/index.js";
import { moeKind } from "./moe/index.js";
import { normKind } from "./norm/index.js";
import { peerKind } from "./peer/index.js";
import { pkmKind } from "./pkm/index.js";
import { positionsKind } from "./positions/index.js";

export const KINDS: { readonly [K in LayerKind]: KindModule<K> } = {
  embed: embedKind,
  positions: positionsKind,
  attention: attentionKind,
  norm: normKind,
  ffw: ffwKind,
  moe: moeKind,
  pkm: pkmKind,
  peer: peerKind,
  lm_head: lmHeadKind,
};

/** The record of a layer's kind, typed for any layer (the methods take IRLayer). */
export function kindOf(layer: Pick<IRLayer, "kind">): KindModule {
  return KINDS[layer.kind] as unknown as KindModule;
}

export function isLayerKind(name: string): name is LayerKind {
  return Object.prototype.hasOwnProperty.call(KINDS, name);
}

/** The weight manifest of any IR layer. */
export function layerWeights(layer: IRLayer): WeightManifest {
  return kindOf(layer).weights(layer);
}
