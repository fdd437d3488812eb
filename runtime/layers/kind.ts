/**
 * The runtime side of a layer kind (kinds/<kind>/runtime.ts), registered in
 * kinds/runtime.ts, and the one helper every kind uses to create its dense
 * tensors from its weight manifest (kinds/<kind>/weights.ts) rather than
 * retyping their names.
 */
import type { IRLayer } from "../../ir/types.js";
import { weightName, type WeightInit, type WeightManifest, type WeightSpec } from "../../kinds/manifest.js";
import { normal, ones, zeros, type InitKind, type LayerBuildContext } from "../model/init.js";
import type { NamedVariable, RuntimeLayer } from "./layer.js";

export interface KindBuildEnv {
  /** Uniform [0, 1) stream of (model seed, layer path): the `layer_*` inits, drawn in manifest order. */
  readonly rng: () => number;
  /** Name of the embedding weight, for a tied lm_head; null when the model has none. */
  readonly embeddingName: string | null;
}

export interface KindRuntime<L extends IRLayer = IRLayer> {
  readonly kind: L["kind"];
  /** The kind's weight manifest (the same function the compiler's record holds). */
  weights(layer: L): WeightManifest;
  /** The host implementation of one IR layer. */
  create(layer: L, ctx: LayerBuildContext, env: KindBuildEnv): RuntimeLayer;
}

/** The dense tensors of one manifest, created in manifest order, looked up by relative name. */
export interface DenseWeights {
  readonly variables: readonly NamedVariable[];
  /** The variable of a manifest entry; an internal error when the manifest has none. */
  get(name: string): NamedVariable;
  /** The variable, or null when the manifest leaves it out (a bias that is off). */
  maybe(name: string): NamedVariable | null;
}

function initKind(init: WeightInit, ctx: LayerBuildContext, name: string): InitKind {
  switch (init.kind) {
    case "zeros":
      return zeros;
    case "ones":
      return ones;
    case "normal":
      return normal(init.std === "output" ? ctx.outputStd : init.std);
    default:
      throw new Error(`internal error: ${name} has a layer-stream init (${init.kind}); the layer draws it itself`);
  }
}

/** Creates the `dense` entries of `manifest` under `prefix` (the layer path) through `ctx.variable`. */
export function createDenseWeights(prefix: string, manifest: readonly WeightSpec[], ctx: LayerBuildContext): DenseWeights {
  const byName = new Map<string, NamedVariable>();
  const variables: NamedVariable[] = [];
  for (const spec of manifest) {
    if (spec.role !== "dense") continue;
    const name = weightName(prefix, spec);
    const v = ctx.variable(name, spec.shape, initKind(spec.init, ctx, name), { noDecay: !spec.decay });
    byName.set(spec.name, v);
    variables.push(v);
  }
  return {
    variables,
    get(name) {
      const v = byName.get(name);
      if (!v) throw new Error(`internal error: ${prefix} has no weight '${name}' in its manifest`);
      return v;
    },
    maybe: (name) => byName.get(name) ?? null,
  };
}
