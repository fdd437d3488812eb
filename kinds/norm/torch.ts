/** RMSNorm / LayerNorm, PyTorch target: the layer's eps as a literal; LayerNorm with the population variance. */
import type { NormLayer } from "../../ir/types.js";
import { ones, p, pyFloat, zeros, type TorchEmitter, type TorchPart } from "../../targets/torch/kind-types.js";

export const torchNorm: TorchEmitter<NormLayer> = (layer) => {
  const parts: TorchPart[] = [{ part: "gain", shape: [layer.dim], init: ones, noDecay: true }];
  if (layer.type === "layer") parts.push({ part: "bias", shape: [layer.dim], init: zeros, noDecay: true });
  const body = layer.type === "rms" ? `return rt.rms_norm(x, ${p("gain")}, ${pyFloat(layer.eps)})` : `return rt.layer_norm(x, ${p("gain")}, ${p("bias")}, ${pyFloat(layer.eps)})`;
  return { parts, buffers: [], tables: [], body: [body] };
};
