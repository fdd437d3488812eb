/** LM head, PyTorch target: tied (the embedding, transposed) or its own [d, vocab]; optional bias. */
import type { LmHeadLayer } from "../../ir/types.js";
import { normal, p, zeros, type TorchEmitter, type TorchPart } from "../../targets/torch/kind-types.js";

export const torchLmHead: TorchEmitter<LmHeadLayer> = (layer) => {
  const parts: TorchPart[] = [];
  if (!layer.tied) parts.push({ part: "weight", shape: [layer.dModel, layer.vocab], init: normal(), noDecay: false });
  if (layer.bias) parts.push({ part: "bias", shape: [layer.vocab], init: zeros, noDecay: true });
  const matmul = layer.tied ? "x @ embedding.t()" : `x @ ${p("weight")}`;
  return { parts, buffers: [], tables: [], body: [`return ${matmul}${layer.bias ? ` + ${p("bias")}` : ""}`], needsEmbedding: layer.tied };
};
