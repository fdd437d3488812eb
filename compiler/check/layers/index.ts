/** The checker's view of the kind registry (kinds/index.ts): each kind's argument schema and IR builder. */
import { LAYER_KINDS, type LayerKind } from "../../../ir/types.js";
import { KINDS } from "../../../kinds/index.js";
import type { LayerDef } from "./layer.js";

export const LAYERS: Readonly<Record<LayerKind, LayerDef>> = Object.fromEntries(
  LAYER_KINDS.map((kind) => [kind, KINDS[kind].check as unknown as LayerDef]),
) as Record<LayerKind, LayerDef>;

export { isLayerKind } from "../../../kinds/index.js";
