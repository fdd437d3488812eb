/**
 * `positions learned | rope(base: 10000) | none`. Only `learned` is a layer of
 * its own; `rope` is applied inside every attention layer (model.ts).
 */
import { z } from "zod";
import { num, word } from "../../compiler/check/args.js";
import { defineLayer } from "../../compiler/check/layers/layer.js";

export const positions = defineLayer({
  kind: "positions",
  schema: z.object({ value: word(["learned", "rope", "none"]), base: num({ gt: 0 }).optional() }),
  spec: { what: "`positions`" },
  valueArg: "value",
  build: (_data, ctx) => ({ kind: "positions", type: "learned" as const, context: ctx.context, dim: ctx.dModel }),
});
