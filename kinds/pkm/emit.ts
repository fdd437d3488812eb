/** Emitter of pkm: the product-key retrieval (kinds/product-keys/emit.ts), then the runtime's fused value gather. */
import type { PkmLayer } from "../../ir/types.js";
import type { LayerEmission, LayerEmitEnv } from "../../compiler/emit/layer-types.js";
import { lit } from "../../compiler/emit/code.js";
import { retrieval } from "../product-keys/emit.js";

export function emitPkm(layer: PkmLayer, env: LayerEmitEnv): LayerEmission {
  const body = [
    ...retrieval(layer, env, layer.memories),
    `// Σ over ${lit(layer.heads)} heads × ${lit(layer.topk)} memories of g · value_id, fused over the table [${lit(layer.memories)}, ${lit(layer.valueDim)}]`,
    `return pkmValues(gates, hits.ids, w.values);`,
  ];
  return {
    name: "pkm",
    summary: `PKM: ${layer.memories} memories (${layer.subKeys}² product keys), ${layer.heads} heads, top-${layer.topk}, value dim ${layer.valueDim}`,
    input: "x",
    usesCtx: true,
    usesPath: true,
    tiedTo: null,
    body,
  };
}
