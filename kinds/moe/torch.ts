/** Mixture of FFW experts (token or expert choice), PyTorch target; routing in peerc_runtime.moe. */
import type { MoeLayer } from "../../ir/types.js";
import { normal, p, pyFloat, pyString, type TorchEmitter, type TorchPart } from "../../targets/torch/kind-types.js";
import { ffwParts } from "../ffw/torch.js";

export const torchMoe: TorchEmitter<MoeLayer> = (layer, ctx) => {
  const parts: TorchPart[] = [{ part: "router", shape: [layer.dModel, layer.experts], init: normal(), noDecay: false }];
  for (let e = 0; e < layer.experts; e++) parts.push(...ffwParts(`experts.${e}.`, layer, ctx.outputStd));
  const names = ["w_in", "w_out", ...(layer.glu ? ["w_gate"] : []), ...(layer.bias ? ["b_in", "b_out", ...(layer.glu ? ["b_gate"] : [])] : [])];
  return {
    parts,
    buffers: [],
    tables: [],
    body: [
      `experts = [{${names.map((n) => `${pyString(n)}: getattr(self, "experts_%d_${n}" % e)`).join(", ")}} for e in range(${layer.experts})]`,
      `return rt.moe(x, ${p("router")}, experts, ${pyString(layer.act)}, ${pyString(layer.routing)}, ${layer.topk}, ${pyFloat(layer.capacity)}, ${pyFloat(layer.auxLoss)}, ctx, ${pyString(layer.path)})`,
    ],
  };
};
