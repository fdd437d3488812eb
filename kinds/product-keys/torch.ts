/**
 * The query side of PEER and PKM, PyTorch target: query projection (+ bias),
 * query norm, sub-keys (shared or per head) and the retrieval call with h, k,
 * k′ and √N as literals (peerc_runtime.route: never all N scores).
 */
import type { PeerLayer, PkmLayer } from "../../ir/types.js";
import { ones, p, pyFloat, pyString, zeros, type TorchPart } from "../../targets/torch/kind-types.js";

type ProductKeyLayer = PeerLayer | PkmLayer;

export function queryParts(l: ProductKeyLayer): { parts: TorchPart[]; buffers: TorchPart[] } {
  const width = l.heads * l.keyDim;
  const half = l.keyDim / 2;
  const parts: TorchPart[] = [{ part: "query.w", shape: [l.dModel, width], init: { kind: "uniform", bound: 1 / Math.sqrt(l.dModel) }, noDecay: false }];
  if (l.queryBias) parts.push({ part: "query.b", shape: [width], init: zeros, noDecay: true });
  const buffers: TorchPart[] = [];
  if (l.queryNorm !== "none") {
    const n = l.queryNorm === "batch" ? "bn" : "ln";
    parts.push({ part: `query.${n}.gamma`, shape: [width], init: ones, noDecay: true });
    parts.push({ part: `query.${n}.beta`, shape: [width], init: zeros, noDecay: true });
  }
  if (l.queryNorm === "batch") {
    buffers.push({ part: "query.bn.running_mean", shape: [width], init: zeros, noDecay: true });
    buffers.push({ part: "query.bn.running_var", shape: [width], init: ones, noDecay: true });
  }
  const sets = l.keys === "shared" ? [""] : Array.from({ length: l.heads }, (_, h) => `${h}.`);
  for (const set of sets) {
    for (const which of [1, 2]) parts.push({ part: `keys.${set}${which}`, shape: [half, l.subKeys], init: { kind: "uniform", bound: 1 / Math.sqrt(half) }, noDecay: false });
  }
  return { parts, buffers };
}

/** Lines computing `ids, gates` from x: query, norm, product-key top-k with its constants. */
export function routeLines(l: ProductKeyLayer, numExperts: number): string[] {
  const lines = [
    `# retrieval: h = ${l.heads} heads, k = ${l.topk}, sub-top-k k' = ${l.subTopk}, √N = ${l.subKeys} sub-keys per half, key_dim ${l.keyDim}`,
    `q = ${l.queryBias ? `rt.linear(x, ${p("query.w")}, ${p("query.b")})` : `x @ ${p("query.w")}`}`,
  ];
  if (l.queryNorm === "batch") {
    // The spec's bn_momentum only when written: otherwise the runtime default (BN_MOMENTUM).
    const momentum = l.bnMomentum === undefined ? "" : `, momentum=${pyFloat(l.bnMomentum)}`;
    lines.push(`q = rt.query_batch_norm(q, ${p("query.bn.gamma")}, ${p("query.bn.beta")}, ${p("query.bn.running_mean")}, ${p("query.bn.running_var")}, ctx.training${momentum})`);
  } else if (l.queryNorm === "layer") {
    lines.push(`q = rt.query_layer_norm(q, ${p("query.ln.gamma")}, ${p("query.ln.beta")}, ${l.heads}, ${l.keyDim})`);
  }
  const keys = l.keys === "shared" ? `[(${p("keys.1")}, ${p("keys.2")})]` : `[${Array.from({ length: l.heads }, (_, h) => `(${p(`keys.${h}.1`)}, ${p(`keys.${h}.2`)})`).join(", ")}]`;
  lines.push(`ids, gates = rt.route(q, ${keys}, ${l.heads}, ${l.keyDim}, ${l.subKeys}, ${l.subTopk}, ${l.topk}, ${pyString(l.scores)}, ctx, ${pyString(l.path)}, ${numExperts})`);
  return lines;
}
