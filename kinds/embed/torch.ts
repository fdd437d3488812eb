/** embed, PyTorch target: rows of weight [vocab, d]. */
import type { EmbedLayer } from "../../ir/types.js";
import { normal, p, type TorchEmitter } from "../../targets/torch/kind-types.js";

export const torchEmbed: TorchEmitter<EmbedLayer> = (layer) => ({
  parts: [{ part: "weight", shape: [layer.vocab, layer.dim], init: normal(), noDecay: true }],
  buffers: [],
  tables: [],
  body: [`return ${p("weight")}[x.reshape(-1)]`],
});
