/**
 * Each layer kind's weight manifest and emitter, by kind. Temporary: once
 * kinds/index.ts carries one record per kind (with its `emit` field), this map
 * becomes a lookup into it.
 */
import type { IRLayer, LayerKind } from "../../ir/types.js";
import type { WeightManifest } from "../../kinds/manifest.js";
import type { LayerEmission, LayerEmitEnv } from "./layer-types.js";
import { attentionWeights } from "../../kinds/attention/weights.js";
import { embedWeights } from "../../kinds/embed/weights.js";
import { ffwWeights } from "../../kinds/ffw/weights.js";
import { lmHeadWeights } from "../../kinds/lm_head/weights.js";
import { moeWeights } from "../../kinds/moe/weights.js";
import { normWeights } from "../../kinds/norm/weights.js";
import { peerWeights } from "../../kinds/peer/weights.js";
import { pkmWeights } from "../../kinds/pkm/weights.js";
import { positionsWeights } from "../../kinds/positions/weights.js";
import { emitAttention } from "../../kinds/attention/emit.js";
import { emitEmbed } from "../../kinds/embed/emit.js";
import { emitFfw } from "../../kinds/ffw/emit.js";
import { emitLmHead } from "../../kinds/lm_head/emit.js";
import { emitMoe } from "../../kinds/moe/emit.js";
import { emitNorm } from "../../kinds/norm/emit.js";
import { emitPeer } from "../../kinds/peer/emit.js";
import { emitPkm } from "../../kinds/pkm/emit.js";
import { emitPositions } from "../../kinds/positions/emit.js";

interface EmitKind<L extends IRLayer> {
  readonly weights: (layer: L) => WeightManifest;
  readonly emit: (layer: L, env: LayerEmitEnv) => LayerEmission;
}

type Kinds = { readonly [K in LayerKind]: EmitKind<Extract<IRLayer, { kind: K }>> };

const KINDS: Kinds = {
  embed: { weights: embedWeights, emit: emitEmbed },
  positions: { weights: positionsWeights, emit: emitPositions },
  norm: { weights: normWeights, emit: emitNorm },
  attention: { weights: attentionWeights, emit: emitAttention },
  ffw: { weights: ffwWeights, emit: emitFfw },
  moe: { weights: moeWeights, emit: emitMoe },
  peer: { weights: peerWeights, emit: emitPeer },
  pkm: { weights: pkmWeights, emit: emitPkm },
  lm_head: { weights: lmHeadWeights, emit: emitLmHead },
};

function kindOf<L extends IRLayer>(layer: L): EmitKind<L> {
  return KINDS[layer.kind] as unknown as EmitKind<L>;
}

/** The layer's weights, relative to its path (kinds/<kind>/weights.ts). */
export function layerManifest(layer: IRLayer): WeightManifest {
  return kindOf(layer).weights(layer);
}

export function emitLayer(layer: IRLayer, env: LayerEmitEnv): LayerEmission {
  return kindOf(layer).emit(layer, env);
}
