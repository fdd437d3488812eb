/** PKM, PyTorch target: product-key retrieval, then the weighted sum of value rows. */
import type { PkmLayer } from "../../ir/types.js";
import { p, type TorchEmitter } from "../../targets/torch/kind-types.js";
import { queryParts, routeLines } from "../product-keys/torch.js";

export const torchPkm: TorchEmitter<PkmLayer> = (layer) => {
  const { parts, buffers } = queryParts(layer);
  return {
    parts,
    buffers,
    tables: [{ part: "values", rows: layer.memories, cols: layer.valueDim, std: 1 / Math.sqrt(layer.valueDim) }],
    body: [...routeLines(layer, layer.memories), `return rt.pkm_values(gates, ids, ${p("values")}, ctx.training)`],
  };
};
