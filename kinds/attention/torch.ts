/** Causal attention with GQA, optional bias and RoPE, PyTorch target. */
import type { AttentionLayer } from "../../ir/types.js";
import { normal, p, pyFloat, zeros, type TorchEmitter, type TorchPart } from "../../targets/torch/kind-types.js";

export const torchAttention: TorchEmitter<AttentionLayer> = (layer, ctx) => {
  const { dModel: d, heads: H, kvHeads: KV, headDim: hd } = layer;
  const parts: TorchPart[] = [
    { part: "wq", shape: [d, H * hd], init: normal(), noDecay: false },
    { part: "wk", shape: [d, KV * hd], init: normal(), noDecay: false },
    { part: "wv", shape: [d, KV * hd], init: normal(), noDecay: false },
    { part: "wo", shape: [H * hd, d], init: normal(ctx.outputStd), noDecay: false },
  ];
  if (layer.bias) {
    parts.push({ part: "bq", shape: [H * hd], init: zeros, noDecay: true }, { part: "bk", shape: [KV * hd], init: zeros, noDecay: true });
    parts.push({ part: "bv", shape: [KV * hd], init: zeros, noDecay: true }, { part: "bo", shape: [d], init: zeros, noDecay: true });
  }
  const b = (name: string) => (layer.bias ? p(name) : "None");
  return {
    parts,
    buffers: [],
    tables: [],
    body: [
      `q = rt.linear(x, ${p("wq")}, ${b("bq")})`,
      `k = rt.linear(x, ${p("wk")}, ${b("bk")})`,
      `v = rt.linear(x, ${p("wv")}, ${b("bv")})`,
      `out = rt.attend(q, k, v, ctx.batch, ctx.seq_len, ${H}, ${KV}, ${hd}, ${layer.causal ? "True" : "False"}, ${layer.rope ? pyFloat(layer.rope.base) : "None"})`,
      `return rt.linear(out, ${p("wo")}, ${b("bo")})`,
    ],
  };
};
