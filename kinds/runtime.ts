/**
 * The runtime's registry of layer kinds: one line per kind (docs/adding-a-kind.md).
 * A second registry beside the compiler's kinds/index.ts because runtime code
 * (trainers, emitted models) may not import compiler code: this one holds only
 * each kind's host implementation and weight manifest.
 */
import type { IRLayer, LayerArchitecture, LayerKind } from "../ir/types.js";
import type { KindRuntime } from "../runtime/layers/kind.js";
import type { WeightManifest } from "./manifest.js";
import { attentionRuntime } from "./attention/runtime.js";
import { embedRuntime } from "./embed/runtime.js";
import { ffwRuntime } from "./ffw/runtime.js";
import { lmHeadRuntime } from "./lm_head/runtime.js";
import { moeRuntime } from "./moe/runtime.js";
import { normRuntime } from "./norm/runtime.js";
import { peerRuntime } from "./peer/runtime.js";
import { pkmRuntime } from "./pkm/runtime.js";
import { positionsRuntime } from "./positions/runtime.js";

export const RUNTIME_KINDS: { readonly [K in LayerKind]: KindRuntime<Extract<IRLayer, { kind: K }>> } = {
  embed: embedRuntime,
  positions: positionsRuntime,
  attention: attentionRuntime,
  norm: normRuntime,
  ffw: ffwRuntime,
  moe: moeRuntime,
  pkm: pkmRuntime,
  peer: peerRuntime,
  lm_head: lmHeadRuntime,
};

/** The runtime record of a layer's kind, typed for any layer. */
export function runtimeKindOf(layer: Pick<IRLayer, "kind">): KindRuntime {
  const kind = Object.prototype.hasOwnProperty.call(RUNTIME_KINDS, layer.kind) ? RUNTIME_KINDS[layer.kind] : undefined;
  if (!kind) throw new Error(`internal error: no runtime for layer kind '${String(layer.kind)}'`);
  return kind as unknown as KindRuntime;
}

/** The weight manifest of any layer (an IR layer or its span-free architecture). */
export function runtimeLayerWeights(layer: IRLayer | LayerArchitecture): WeightManifest {
  // Manifests read sizes only, never source locations.
  return runtimeKindOf(layer).weights(layer as IRLayer);
}

/**
 * Whether the layer holds expert tables (an `expert_table` in its manifest:
 * PEER and PKM today). Those run on the host expert kernels on a CPU backend
 * and as device tables on a device backend, whatever the kind.
 */
export function hasExpertTables(layer: IRLayer | LayerArchitecture): boolean {
  return runtimeLayerWeights(layer).some((w) => w.role === "expert_table");
}
