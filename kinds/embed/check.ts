/** `embed tokens(dim: d)`: the token table [vocab, dim]; its dim is the model width. */
import { z } from "zod";
import { int, word } from "../../compiler/check/args.js";
import { defineLayer } from "../../compiler/check/layers/layer.js";

export const embed = defineLayer({
  kind: "embed",
  schema: z.object({ value: word(["tokens"]).optional(), dim: int() }),
  spec: { what: "`embed`" },
  valueArg: "value",
  build: (data, ctx) => ({ kind: "embed", vocab: ctx.vocab, dim: data.dim }),
});
