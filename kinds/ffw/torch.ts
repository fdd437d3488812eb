/** Dense feed-forward (plain or GLU, optional biases), PyTorch target; the parts are shared with MoE experts. */
import type { FfwLayer } from "../../ir/types.js";
import { normal, p, pyString, zeros, type TorchEmitter, type TorchPart } from "../../targets/torch/kind-types.js";

export function ffwParts(prefix: string, l: { dModel: number; hidden: number; glu: boolean; bias: boolean }, outputStd: number): TorchPart[] {
  const parts: TorchPart[] = [{ part: `${prefix}w_in`, shape: [l.dModel, l.hidden], init: normal(), noDecay: false }];
  if (l.glu) parts.push({ part: `${prefix}w_gate`, shape: [l.dModel, l.hidden], init: normal(), noDecay: false });
  parts.push({ part: `${prefix}w_out`, shape: [l.hidden, l.dModel], init: normal(outputStd), noDecay: false });
  if (l.bias) {
    parts.push({ part: `${prefix}b_in`, shape: [l.hidden], init: zeros, noDecay: true });
    if (l.glu) parts.push({ part: `${prefix}b_gate`, shape: [l.hidden], init: zeros, noDecay: true });
    parts.push({ part: `${prefix}b_out`, shape: [l.dModel], init: zeros, noDecay: true });
  }
  return parts;
}

export const torchFfw: TorchEmitter<FfwLayer> = (layer, ctx) => {
  const opt = (name: string, on: boolean) => (on ? p(name) : "None");
  return {
    parts: ffwParts("", layer, ctx.outputStd),
    buffers: [],
    tables: [],
    body: [`return rt.ffw(x, ${p("w_in")}, ${p("w_out")}, ${pyString(layer.act)}, ${opt("w_gate", layer.glu)}, ${opt("b_in", layer.bias)}, ${opt("b_gate", layer.glu && layer.bias)}, ${opt("b_out", layer.bias)})`],
  };
};
