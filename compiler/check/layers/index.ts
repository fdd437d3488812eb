/** The registry of layer kinds: one module each. */
import type { LayerKind } from "../../../ir/types.js";
import { attention } from "../../../kinds/attention/check.js";
import { embed } from "../../../kinds/embed/check.js";
import { ffw } from "../../../kinds/ffw/check.js";
import type { LayerDef } from "./layer.js";
import { lmHead } from "../../../kinds/lm_head/check.js";
import { moe } from "../../../kinds/moe/check.js";
import { norm } from "../../../kinds/norm/check.js";
import { peer } from "../../../kinds/peer/check.js";
import { pkm } from "../../../kinds/pkm/check.js";
import { positions } from "../../../kinds/positions/check.js";

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
