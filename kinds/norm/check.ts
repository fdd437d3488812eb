/** `norm rms | layer (eps: 1e-5)`; rms when no type is written. */
import { z } from "zod";
import { num, word } from "../../compiler/check/args.js";
import { defineLayer } from "../../compiler/check/layers/layer.js";

export const norm = defineLayer({
  kind: "norm",
  schema: z.object({ value: word(["rms", "layer"]).optional(), eps: num({ gt: 0 }).optional() }),
  spec: { what: "`norm`" },
  valueArg: "value",
  build: (data, ctx) => ({ kind: "norm", type: data.value ?? "rms", dim: ctx.dModel, eps: data.eps ?? 1e-5 }),
});
