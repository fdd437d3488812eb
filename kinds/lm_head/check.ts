/** `lm_head tied | untied (bias: false)`; tied shares the embedding table [vocab, d_model]. */
import { z } from "zod";
import { flag, word } from "../../compiler/check/args.js";
import { defineLayer } from "../../compiler/check/layers/layer.js";

export const lmHead = defineLayer({
  kind: "lm_head",
  schema: z.object({ value: word(["tied", "untied"]).optional(), bias: flag().optional() }),
  spec: { what: "`lm_head`", flags: ["bias"] },
  valueArg: "value",
  build: (data, ctx) => ({
    kind: "lm_head",
    dModel: ctx.dModel,
    vocab: ctx.vocab,
    tied: (data.value ?? "tied") === "tied",
    bias: data.bias ?? false,
  }),
});
