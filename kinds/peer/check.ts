/**
 * `peer(experts, heads = 8, topk = 16, sub_topk = topk, key_dim = 256,
 * act = gelu, query_norm = batch, scores = softmax, keys = shared,
 * query_bias = true)`: PEER (He 2024) with the paper's settings as defaults.
 */
import { z } from "zod";
import { flag, int, word } from "../args.js";
import { activation } from "./activations.js";
import { checkProductKeys, defineLayer } from "./layer.js";

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
    scores: word(["softmax", "sigmoid"]).optional(),
    keys: word(["shared", "per_head"]).optional(),
    query_bias: flag().optional(),
  }),
  spec: { what: "`peer`", flags: ["query_bias"] },
  build(data, ctx) {
    const topk = data.topk ?? 16;
    const subTopk = data.sub_topk ?? topk;
    const keyDim = data.key_dim ?? 256;
    const subKeys = checkProductKeys("peer", "experts", data.experts, keyDim, topk, subTopk, ctx);
    if (subKeys === null) return null;
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
      queryNorm: data.query_norm ?? "batch",
      keys: data.keys ?? "shared",
      scores: data.scores ?? "softmax",
      queryBias: data.query_bias ?? true,
    };
  },
});
