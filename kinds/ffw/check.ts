/** `ffw(hidden, act = gelu, glu = false, bias = false)`: the dense feed-forward. */
import { z } from "zod";
import { flag, int } from "../../compiler/check/args.js";
import { activation } from "../../compiler/check/layers/activations.js";
import { defineLayer } from "../../compiler/check/layers/layer.js";

export const ffw = defineLayer({
  kind: "ffw",
  schema: z.object({ hidden: int(), act: activation().optional(), glu: flag().optional(), bias: flag().optional() }),
  spec: { what: "`ffw`", flags: ["glu", "bias"] },
  build: (data, ctx) => ({
    kind: "ffw",
    dModel: ctx.dModel,
    hidden: data.hidden,
    act: data.act ?? "gelu",
    glu: data.glu ?? false,
    bias: data.bias ?? false,
  }),
});
