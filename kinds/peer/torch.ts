/** PEER, PyTorch target: product-key retrieval, then single-neuron (or GLU) experts gathered row-sparsely from the tables. */
import type { PeerLayer } from "../../ir/types.js";
import { p, pyString, type TorchEmitter } from "../../targets/torch/kind-types.js";
import { queryParts, routeLines } from "../product-keys/torch.js";

export const torchPeer: TorchEmitter<PeerLayer> = (layer) => {
  const { parts, buffers } = queryParts(layer);
  return {
    parts,
    buffers,
    tables: [
      { part: "experts.u", rows: layer.experts, cols: layer.dModel, std: 1 / Math.sqrt(layer.dModel) },
      { part: "experts.v", rows: layer.experts, cols: layer.dModel, std: 1 / Math.sqrt(layer.heads * layer.topk) },
      ...(layer.glu ? [{ part: "experts.g", rows: layer.experts, cols: layer.dModel, std: 1 / Math.sqrt(layer.dModel) }] : []),
    ],
    body: [
      ...routeLines(layer, layer.experts),
      `return rt.peer_experts(x, gates, ids, ${p("experts.u")}, ${p("experts.v")}, ${pyString(layer.act)}, ctx.training${layer.glu ? `, ${p("experts.g")}` : ""})`,
    ],
  };
};
