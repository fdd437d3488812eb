/**
 * `peer(experts, heads = 8, topk = 16, sub_topk = topk, key_dim = 256,
 * act = gelu, query_norm = batch, bn_momentum = runtime default (batch norm
 * only), scores = softmax, keys = shared,
 * query_bias = true, glu = false)`: PEER (He 2024) with the paper's settings as
 * defaults; `glu` gives GLU experts σ(g_iᵀx)·(u_iᵀx)·v_i (the paper's §2).
 */
import { z } from "zod";
import { flag, int, num, word } from "../../compiler/check/args.js";
import { activation } from "../../compiler/check/layers/activations.js";
import { defineLayer } from "../../compiler/check/layers/layer.js";
import { checkBnMomentum, checkProductKeys } from "../product-keys/check.js";

export const peer = defineLayer({
  kind: "peer",
  schema: z.object({
    experts: int(),
    heads: int().optional(),
    topk: int().optional(),
    sub_topk: int().optional(),
    key_dim: int().optional(),
    act: activation().optional(),
    query_norm: word(["batch", "layer", "none"]).optional(),
    bn_momentum: num({ gt: 0, le: 1 }).optional(),
    scores: word(["softmax", "sigmoid"]).optional(),
    keys: word(["shared", "per_head"]).optional(),
    query_bias: flag().optional(),
    glu: flag().optional(),
  }),
  spec: { what: "`peer`", flags: ["query_bias", "glu"] },
  build(data, ctx) {
    const topk = data.topk ?? 16;
    const subTopk = data.sub_topk ?? topk;
    const keyDim = data.key_dim ?? 256;
    const subKeys = checkProductKeys("peer", "experts", data.experts, keyDim, topk, subTopk, ctx);
    const queryNorm = data.query_norm ?? "batch";
    const momentumOk = checkBnMomentum("peer", queryNorm, data.bn_momentum, ctx);
    if (subKeys === null || !momentumOk) return null;
    return {
      kind: "peer",
      dModel: ctx.dModel,
      experts: data.experts,
      subKeys,
      heads: data.heads ?? 8,
      topk,
      subTopk,
      keyDim,
      act: data.act ?? "gelu",
      glu: data.glu ?? false,
      queryNorm,
      ...(data.bn_momentum === undefined ? {} : { bnMomentum: data.bn_momentum }),
      keys: data.keys ?? "shared",
      scores: data.scores ?? "softmax",
      queryBias: data.query_bias ?? true,
    };
  },
});
