/** Learned positions, PyTorch target: row t of weight [context, d] added to token t of every sequence. */
import type { PositionsLayer } from "../../ir/types.js";
import { normal, p, type TorchEmitter } from "../../targets/torch/kind-types.js";

export const torchPositions: TorchEmitter<PositionsLayer> = (layer) => ({
  parts: [{ part: "weight", shape: [layer.context, layer.dim], init: normal(), noDecay: true }],
  buffers: [],
  tables: [],
  body: [`return x + ${p("weight")}[:ctx.seq_len].repeat(ctx.batch, 1)`],
});
