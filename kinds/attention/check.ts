/** `attention(heads, head_dim = d_model / heads, kv_heads = heads, causal = true, bias = false)`. */
import { z } from "zod";
import { flag, int } from "../../compiler/check/args.js";
import { groupDigits } from "../../compiler/check/values.js";
import { defineLayer } from "../../compiler/check/layers/layer.js";

export const attention = defineLayer({
  kind: "attention",
  schema: z.object({
    heads: int(),
    head_dim: int().optional(),
    kv_heads: int().optional(),
    causal: flag().optional(),
    bias: flag().optional(),
  }),
  spec: { what: "`attention`", flags: ["causal", "bias"] },
  build(data, ctx) {
    const heads = data.heads;
    let ok = true;
    let headDim = data.head_dim;
    if (headDim === undefined) {
      if (ctx.dModel % heads !== 0) {
        ctx.reporter.report({
          code: "E0309",
          message: `d_model ${groupDigits(ctx.dModel)} does not divide into ${heads} heads`,
          span: ctx.spans.heads ?? ctx.at,
          label: `${groupDigits(ctx.dModel)} / ${heads} is not a whole number`,
          help: `give \`head_dim\` explicitly, or use a number of heads that divides ${groupDigits(ctx.dModel)}`,
        });
        ok = false;
      }
      headDim = Math.floor(ctx.dModel / heads);
    }
    const kvHeads = data.kv_heads ?? heads;
    if (heads % kvHeads !== 0) {
      const divisors = [...Array(heads).keys()].map((i) => i + 1).filter((k) => heads % k === 0);
      ctx.reporter.report({
        code: "E0309",
        message: `kv_heads ${kvHeads} does not divide heads ${heads}`,
        span: ctx.spans.kv_heads ?? ctx.at,
        label: "each key/value head must serve the same number of query heads",
        help: `use one of ${divisors.join(", ")}`,
      });
      ok = false;
    }
    if (ok && ctx.rope && headDim % 2 !== 0) {
      ctx.reporter.report({
        code: "E0310",
        message: `rope needs an even head_dim, found ${headDim}`,
        span: ctx.spans.head_dim ?? ctx.spans.heads ?? ctx.at,
        label: "rotary embedding rotates pairs of channels",
        help: `use head_dim ${headDim - 1} or ${headDim + 1}, or \`positions learned\``,
      });
      ok = false;
    }
    if (!ok) return null;
    return {
      kind: "attention",
      dModel: ctx.dModel,
      heads,
      headDim,
      kvHeads,
      causal: data.causal ?? true,
      bias: data.bias ?? false,
      context: ctx.context,
      rope: ctx.rope,
    };
  },
});
