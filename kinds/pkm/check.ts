/**
 * `pkm(memories, heads = 4, topk = 32, sub_topk = topk, key_dim = 256,
 * value_dim = d_model, query_norm = batch, bn_momentum = runtime default
 * (batch norm only), keys = per_head, scores = softmax,
 * query_bias = true)`: product-key memory (Lample et al. 2019, XLM defaults).
 */
import { z } from "zod";
import { flag, int, num, word } from "../../compiler/check/args.js";
import { defineLayer } from "../../compiler/check/layers/layer.js";
import { checkBnMomentum, checkProductKeys } from "../product-keys/check.js";

export const pkm = defineLayer({
  kind: "pkm",
  schema: z.object({
    memories: int(),
    heads: int().optional(),
    topk: int().optional(),
    sub_topk: int().optional(),
    key_dim: int().optional(),
    value_dim: int().optional(),
    query_norm: word(["batch", "layer", "none"]).optional(),
    bn_momentum: num({ gt: 0, le: 1 }).optional(),
    keys: word(["per_head", "shared"]).optional(),
    scores: word(["softmax", "sigmoid"]).optional(),
    query_bias: flag().optional(),
  }),
  spec: { what: "`pkm`", flags: ["query_bias"] },
  build(data, ctx) {
    const topk = data.topk ?? 32;
    const subTopk = data.sub_topk ?? topk;
    const keyDim = data.key_dim ?? 256;
    const valueDim = data.value_dim ?? ctx.dModel;
    const subKeys = checkProductKeys("pkm", "memories", data.memories, keyDim, topk, subTopk, ctx);
    const queryNorm = data.query_norm ?? "batch";
    const momentumOk = checkBnMomentum("pkm", queryNorm, data.bn_momentum, ctx);
    if (valueDim !== ctx.dModel) {
      ctx.reporter.report({
        code: "E0311",
        message: `pkm value_dim ${valueDim} must equal d_model ${ctx.dModel}`,
        span: ctx.spans.value_dim ?? ctx.at,
        label: "the memory's output is added to the residual stream",
        help: `use value_dim: ${ctx.dModel} (or leave it out)`,
      });
      return null;
    }
    if (subKeys === null || !momentumOk) return null;
    return {
      kind: "pkm",
      dModel: ctx.dModel,
      memories: data.memories,
      subKeys,
      heads: data.heads ?? 4,
      topk,
      subTopk,
      keyDim,
      valueDim,
      queryNorm,
      ...(data.bn_momentum === undefined ? {} : { bnMomentum: data.bn_momentum }),
      keys: data.keys ?? "per_head",
      scores: data.scores ?? "softmax",
      queryBias: data.query_bias ?? true,
    };
  },
});
