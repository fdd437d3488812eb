/** The registry of layer kinds: one module each. */
import type { LayerKind } from "../../../ir/types.js";
import { attention } from "./attention.js";
import { embed } from "./embed.js";
import { ffw } from "./ffw.js";
import type { LayerDef } from "./layer.js";
import { lmHead } from "./lm_head.js";
import { moe } from "./moe.js";
import { norm } from "./norm.js";
import { peer } from "./peer.js";
import { pkm } from "./pkm.js";
import { positions } from "./positions.js";

export const LAYERS: Readonly<Record<LayerKind, LayerDef>> = {
  embed: embed as unknown as LayerDef,
  positions: positions as unknown as LayerDef,
  attention: attention as unknown as LayerDef,
  norm: norm as unknown as LayerDef,
  ffw: ffw as unknown as LayerDef,
  moe: moe as unknown as LayerDef,
  pkm: pkm as unknown as LayerDef,
  peer: peer as unknown as LayerDef,
  lm_head: lmHead as unknown as LayerDef,
};

export function isLayerKind(name: string): name is LayerKind {
  return Object.prototype.hasOwnProperty.call(LAYERS, name);
}
