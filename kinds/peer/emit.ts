/** Emitter of peer: the product-key retrieval (kinds/product-keys/emit.ts), then the runtime's fused expert kernel over the tables. */
import type { PeerLayer } from "../../ir/types.js";
import type { LayerEmission, LayerEmitEnv } from "../../compiler/emit/layer-types.js";
import { lit } from "../../compiler/emit/code.js";
import { tsString } from "../../compiler/emit/strings.js";
import { retrieval } from "../product-keys/emit.js";

export function emitPeer(layer: PeerLayer, env: LayerEmitEnv): LayerEmission {
  const { heads: H, topk: K, experts: N, dModel: d } = layer;
  const expert = layer.glu ? `${layer.act}(g_idᵀx) · (u_idᵀx) · v_id` : `${layer.act}(u_idᵀx) · v_id`;
  const tables = layer.glu ? "u, v, g" : "u, v";
  const body = [
    ...retrieval(layer, env, N),
    `// Σ over ${lit(H)} heads × ${lit(K)} experts of g · ${expert}, fused over the tables ${tables} [${lit(N)}, ${lit(d)}]`,
    `return peerExperts(x, gates, hits.ids, w.experts.u, w.experts.v, ${tsString(layer.act)}${layer.glu ? ", w.experts.g" : ""});`,
  ];
  return {
    name: layer.glu ? "gluPeer" : "peer",
    summary: `PEER: ${N} experts (${layer.subKeys}² product keys), ${H} heads × top-${K}, key dim ${layer.keyDim}, ${layer.act}${layer.glu ? " GLU" : ""}, ${layer.scores} scores, query norm ${layer.queryNorm}, ${layer.keys} keys`,
    input: "x",
    usesCtx: true,
    usesPath: true,
    tiedTo: null,
    body,
  };
}
