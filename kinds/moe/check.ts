/**
 * `moe(experts, hidden, routing = token | expert, topk = 2, capacity = 1.25
 * (token) / 2.0 (expert), act = gelu, glu = false, bias = false, aux_loss = 0.01)`.
 */
import { z } from "zod";
import { flag, int, num, word } from "../../compiler/check/args.js";
import { activation } from "../../compiler/check/layers/activations.js";
import { defineLayer } from "../../compiler/check/layers/layer.js";

export const moe = defineLayer({
  kind: "moe",
  schema: z.object({
    experts: int(),
    hidden: int(),
    routing: word(["token", "expert"]).optional(),
    topk: int().optional(),
    capacity: num({ gt: 0 }).optional(),
    act: activation().optional(),
    glu: flag().optional(),
    bias: flag().optional(),
    aux_loss: num({ ge: 0 }).optional(),
  }),
  spec: { what: "`moe`", flags: ["glu", "bias"] },
  build(data, ctx) {
    const routing = data.routing ?? "token";
    const topk = data.topk ?? 2;
    if (routing === "token" && topk > data.experts) {
      ctx.reporter.report({
        code: "E0308",
        message: `moe topk ${topk} is larger than the ${data.experts} experts`,
        span: ctx.spans.topk ?? ctx.spans.experts ?? ctx.at,
        label: `at most ${data.experts}`,
        help: `use topk ≤ ${data.experts}`,
      });
      return null;
    }
    return {
      kind: "moe",
      dModel: ctx.dModel,
      experts: data.experts,
      topk,
      hidden: data.hidden,
      act: data.act ?? "gelu",
      glu: data.glu ?? false,
      bias: data.bias ?? false,
      routing,
      capacity: data.capacity ?? (routing === "token" ? 1.25 : 2.0),
      auxLoss: data.aux_loss ?? 0.01,
    };
  },
});
