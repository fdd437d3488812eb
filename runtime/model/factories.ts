/**
 * One factory per layer kind: dense kinds from runtime/layers, PEER and PKM
 * (sparse expert tables) from runtime/layers/{peer,pkm}.ts. Those two take a
 * seeded uniform generator; it is seeded by (model seed, layer path) like every
 * other parameter. `registerLayerFactory` swaps in another implementation
 * (tests, experiments).
 */
import type { IRLayer, LayerKind, PeerLayer, PkmLayer } from "../../ir/types.js";
import { createAttentionLayer } from "../../kinds/attention/runtime.js";
import { createEmbedLayer } from "../../kinds/embed/runtime.js";
import { createFfwLayer } from "../../kinds/ffw/runtime.js";
import type { RuntimeLayer } from "../layers/layer.js";
import { createLmHeadLayer } from "../../kinds/lm_head/runtime.js";
import { createMoeLayer } from "../../kinds/moe/runtime.js";
import { createNormLayer } from "../../kinds/norm/runtime.js";
import { createPeerLayer } from "../../kinds/peer/runtime.js";
import { createPkmLayer } from "../../kinds/pkm/runtime.js";
import { createPositionsLayer } from "../../kinds/positions/runtime.js";
import { Rng } from "../data/rng.js";
import { streamSeed, type LayerBuildContext } from "./init.js";

export type SparseLayerFactory<L extends PeerLayer | PkmLayer> = (layer: L, ctx: LayerBuildContext) => RuntimeLayer;

/** Uniform [0, 1) stream of (seed, layer path). */
function layerRng(ctx: LayerBuildContext, path: string): () => number {
  const rng = Rng.fromSeed(streamSeed(ctx.seed, path));
  return () => rng.nextFloat();
}

const sparseFactories: { peer?: SparseLayerFactory<PeerLayer>; pkm?: SparseLayerFactory<PkmLayer> } = {
  peer: (layer, ctx) => createPeerLayer(layer, { rng: layerRng(ctx, layer.path), dModel: layer.dModel }),
  pkm: (layer, ctx) => createPkmLayer(layer, { rng: layerRng(ctx, layer.path), dModel: layer.dModel }),
};

export function registerLayerFactory(kind: "peer", factory: SparseLayerFactory<PeerLayer>): void;
export function registerLayerFactory(kind: "pkm", factory: SparseLayerFactory<PkmLayer>): void;
export function registerLayerFactory(kind: "peer" | "pkm", factory: SparseLayerFactory<never>): void {
  (sparseFactories as Record<string, unknown>)[kind] = factory;
}

export function hasLayerFactory(kind: LayerKind): boolean {
  return kind === "peer" || kind === "pkm" ? sparseFactories[kind] !== undefined : true;
}

/** Builds the runtime layer of one IR layer. `embeddingName` is the embed weight's name (for a tied head). */
export function createLayer(layer: IRLayer, ctx: LayerBuildContext, embeddingName: string | null): RuntimeLayer {
  switch (layer.kind) {
    case "embed":
      return createEmbedLayer(layer, ctx);
    case "positions":
      return createPositionsLayer(layer, ctx);
    case "attention":
      return createAttentionLayer(layer, ctx);
    case "norm":
      return createNormLayer(layer, ctx);
    case "ffw":
      return createFfwLayer(layer, ctx);
    case "moe":
      return createMoeLayer(layer, ctx);
    case "lm_head":
      return createLmHeadLayer(layer, ctx, embeddingName);
    case "peer": {
      const factory = sparseFactories.peer;
      if (!factory) throw new Error(`${layer.path}: no runtime for peer layers is registered (runtime/layers/peer.ts)`);
      return factory(layer, ctx);
    }
    case "pkm": {
      const factory = sparseFactories.pkm;
      if (!factory) throw new Error(`${layer.path}: no runtime for pkm layers is registered (runtime/layers/pkm.ts)`);
      return factory(layer, ctx);
    }
  }
}
