/**
 * Runtime layers from IR layers through the kind registry (kinds/runtime.ts):
 * one `create` per kind. Product-key kinds draw their tables from a seeded
 * uniform stream of (model seed, layer path), like every other parameter is
 * seeded by its name. `registerLayerFactory` swaps in another implementation of
 * a kind (tests, experiments).
 */
import type { IRLayer, LayerKind } from "../../ir/types.js";
import { RUNTIME_KINDS, runtimeKindOf } from "../../kinds/runtime.js";
import type { RuntimeLayer } from "../layers/layer.js";
import { Rng } from "../data/rng.js";
import { streamSeed, type LayerBuildContext } from "./init.js";

export type LayerFactory<L extends IRLayer = IRLayer> = (layer: L, ctx: LayerBuildContext) => RuntimeLayer;
/** Kept for callers that replace the PEER or PKM implementation. */
export type SparseLayerFactory<L extends Extract<IRLayer, { kind: "peer" | "pkm" }>> = LayerFactory<L>;

/** Uniform [0, 1) stream of (seed, layer path). */
function layerRng(ctx: LayerBuildContext, path: string): () => number {
  const rng = Rng.fromSeed(streamSeed(ctx.seed, path));
  return () => rng.nextFloat();
}

const overrides = new Map<LayerKind, LayerFactory>();

/** Replaces the implementation of one kind (the registry's stays for every other kind). */
export function registerLayerFactory<K extends LayerKind>(kind: K, factory: LayerFactory<Extract<IRLayer, { kind: K }>>): void {
  overrides.set(kind, factory as LayerFactory);
}

export function hasLayerFactory(kind: LayerKind): boolean {
  return overrides.has(kind) || Object.prototype.hasOwnProperty.call(RUNTIME_KINDS, kind);
}

/** Builds the runtime layer of one IR layer. `embeddingName` is the embed weight's name (for a tied head). */
export function createLayer(layer: IRLayer, ctx: LayerBuildContext, embeddingName: string | null): RuntimeLayer {
  const override = overrides.get(layer.kind);
  if (override) return override(layer, ctx);
  return runtimeKindOf(layer).create(layer, ctx, { rng: layerRng(ctx, layer.path), embeddingName });
}
