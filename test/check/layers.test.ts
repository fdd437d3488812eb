import { describe, expect, it } from "vitest";
import { check, codes, layer, modelWith, onlyModel } from "./helpers.js";

describe("layer defaults", () => {
  it("embed: dim is the model width; positions learned is a [context, d] layer", () => {
    const m = onlyModel(check(modelWith("", { head: "  positions learned\n", dim: 48 })));
    expect(m.dModel).toBe(48);
    expect(m.layers[0]).toMatchObject({ kind: "embed", vocab: 256, dim: 48, path: "embed" });
    expect(m.layers[1]).toMatchObject({ kind: "positions", type: "learned", context: 64, dim: 48 });
  });

  it("attention: head_dim = d/heads, kv_heads = heads, causal, no bias, rope from positions", () => {
    const a = layer("  attention(heads: 4)", "attention", { head: "  positions rope\n" });
    expect(a).toMatchObject({ dModel: 64, heads: 4, headDim: 16, kvHeads: 4, causal: true, bias: false, context: 64, rope: { base: 10000 } });
    const b = layer("  attention(heads: 8, head_dim: 32, kv_heads: 2, causal: false, bias)", "attention", { head: "  positions rope(base: 500000)\n" });
    expect(b).toMatchObject({ heads: 8, headDim: 32, kvHeads: 2, causal: false, bias: true, rope: { base: 500000 } });
    expect(layer("  attention(heads: 4)", "attention").rope).toBeNull();
  });

  it("norm, ffw and lm_head defaults", () => {
    expect(layer("  norm", "norm")).toMatchObject({ type: "rms", dim: 64, eps: 1e-5 });
    expect(layer("  norm layer(eps: 1e-6)", "norm")).toMatchObject({ type: "layer", eps: 1e-6 });
    expect(layer("  ffw(hidden: 256)", "ffw")).toMatchObject({ hidden: 256, act: "gelu", glu: false, bias: false, dModel: 64 });
    expect(layer("  ffw(hidden: 256, act: silu, glu, bias: true)", "ffw")).toMatchObject({ act: "silu", glu: true, bias: true });
    expect(layer("", "lm_head")).toMatchObject({ tied: true, bias: false, vocab: 256, dModel: 64 });
  });

  it("moe: token routing top-2 at capacity 1.25; expert routing at capacity 2.0", () => {
    expect(layer("  moe(experts: 8, hidden: 128)", "moe")).toMatchObject({
      experts: 8, hidden: 128, routing: "token", topk: 2, capacity: 1.25, act: "gelu", glu: false, bias: false, auxLoss: 0.01,
    });
    expect(layer("  moe(experts: 128, hidden: 128, routing: expert)", "moe")).toMatchObject({ routing: "expert", capacity: 2.0 });
    expect(codes(check(modelWith("  moe(experts: 4, hidden: 8, topk: 5)")))).toEqual(["E0308"]);
    expect(codes(check(modelWith("  moe(experts: 4, hidden: 8, capacity: 0)")))).toEqual(["E0210"]);
  });

  it("pkm: XLM-style defaults with value_dim = d_model", () => {
    expect(layer("  pkm(memories: 32^2)", "pkm")).toMatchObject({
      memories: 1024, subKeys: 32, heads: 4, topk: 32, subTopk: 32, keyDim: 256, valueDim: 64,
      queryNorm: "batch", keys: "per_head", scores: "softmax", queryBias: true,
    });
  });

  it("peer: the paper's defaults, keys shared", () => {
    expect(layer("  peer(experts: 1024^2)", "peer")).toMatchObject({
      experts: 1048576, subKeys: 1024, heads: 8, topk: 16, subTopk: 16, keyDim: 256, act: "gelu",
      queryNorm: "batch", keys: "shared", scores: "softmax", queryBias: true, glu: false,
    });
    expect(layer("  peer(experts: 64^2, glu: true, act: silu)", "peer")).toMatchObject({ glu: true, act: "silu" });
    expect(layer("  peer(experts: 64^2, glu)", "peer")).toMatchObject({ glu: true });
    expect(layer("  peer(experts: 64^2, keys: per_head, scores: sigmoid, query_norm: none, query_bias: false, act: relu, sub_topk: 32)", "peer"))
      .toMatchObject({ keys: "per_head", scores: "sigmoid", queryNorm: "none", queryBias: false, act: "relu", subTopk: 32 });
  });
});

describe("layer constraints", () => {
  it("perfect squares, with the two nearest squares as help", () => {
    const r = check(modelWith("  peer(experts: 1_048_000)"));
    expect(codes(r)).toEqual(["E0301"]);
    expect(r.diagnostics[0]!.message).toBe("peer experts must be a perfect square (product keys need √N sub-keys per half)");
    expect(r.diagnostics[0]!.help).toBe("use 1023^2 = 1,046,529 or 1024^2 = 1,048,576");
    expect(codes(check(modelWith("  pkm(memories: 1000)")))).toEqual(["E0301"]);
  });

  it("key_dim even, sub_topk ≤ √N, topk ≤ sub_topk², warning when sub_topk < topk", () => {
    expect(codes(check(modelWith("  peer(experts: 64^2, key_dim: 31)")))).toEqual(["E0306"]);
    expect(codes(check(modelWith("  peer(experts: 8^2, topk: 4, sub_topk: 9)")))).toEqual(["E0307"]);
    expect(codes(check(modelWith("  peer(experts: 8^2, topk: 20, sub_topk: 4)")))).toEqual(["E0308"]);
    const w = check(modelWith("  peer(experts: 8^2, topk: 8, sub_topk: 4)"));
    expect(codes(w)).toEqual(["W0301"]);
    expect(w.program.models).toHaveLength(1);
  });

  it("attention divisibility and rope parity", () => {
    expect(codes(check(modelWith("  attention(heads: 5)")))).toEqual(["E0309"]);
    const kv = check(modelWith("  attention(heads: 8, kv_heads: 3)"));
    expect(codes(kv)).toEqual(["E0309"]);
    expect(kv.diagnostics[0]!.help).toBe("use one of 1, 2, 4, 8");
    expect(codes(check(modelWith("  attention(heads: 4, head_dim: 7)", { head: "  positions rope\n" })))).toEqual(["E0310"]);
    // Width may differ from d_model: the output projection maps back.
    expect(layer("  attention(heads: 3, head_dim: 10)", "attention").headDim).toBe(10);
  });

  it("pkm output width must be d_model", () => {
    expect(codes(check(modelWith("  pkm(memories: 64^2, value_dim: 32)")))).toEqual(["E0311"]);
  });

  it("unknown, missing, duplicate and positional arguments point at the argument", () => {
    const r = check(modelWith("  ffw(hiden: 8)"));
    // Sorted by position: the missing `hidden` is reported at the statement head, before the argument.
    expect(codes(r)).toEqual(["E0303", "E0302"]);
    expect(r.diagnostics[1]!.help).toBe("did you mean `hidden`?");
    expect(r.diagnostics[1]!.span!.column).toBe(7);
    expect(codes(check(modelWith("  ffw(hidden: 8, hidden: 9)")))).toEqual(["E0304"]);
    expect(codes(check(modelWith("  attention(heads: 4, casual)")))).toEqual(["E0312"]);
    expect(check(modelWith("  attention(heads: 4, casual)")).diagnostics[0]!.help).toBe("did you mean the flag `causal`?");
  });

  it("enum values, flags and values of the statement", () => {
    const r = check(modelWith("  ffw(hidden: 8, act: swish)"));
    expect(codes(r)).toEqual(["E0305"]);
    expect(r.diagnostics[0]!.help).toContain("`silu`");
    expect(codes(check(modelWith("  attention(heads: 4, causal: yes)")))).toEqual(["E0313"]);
    expect(codes(check(modelWith("  norm batch")))).toEqual(["E0305"]);
    expect(codes(check(modelWith("  ffw wide(hidden: 8)")))).toEqual(["E0312"]);
    expect(codes(check(modelWith("  atention(heads: 4)")))).toEqual(["E0314"]);
  });

  it("positions: base only with rope; none adds nothing", () => {
    expect(codes(check(modelWith("", { head: "  positions learned(base: 10)\n" })))).toEqual(["E0302"]);
    const m = onlyModel(check(modelWith("", { head: "  positions none\n" })));
    expect(m.layers.map((l) => l.kind)).toEqual(["embed", "norm", "lm_head"]);
  });
});

describe("model structure", () => {
  const bare = (body: string) => check(`model m {\n  vocab 256\n  context 64\n${body}\n}`);
  it("requires vocab and context, positive", () => {
    expect(codes(check("model m {\n context 8\n embed(dim: 8)\n lm_head\n}"))).toEqual(["E0405"]);
    expect(codes(check("model m {\n vocab 0\n context 8\n embed(dim: 8)\n lm_head\n}"))).toEqual(["E0210"]);
    expect(codes(check("model m {\n vocab 8\n vocab 9\n context 8\n embed(dim: 8)\n lm_head\n}"))).toEqual(["E0406"]);
  });

  it("orders embed first, positions second, lm_head last, each once", () => {
    expect(codes(bare(""))).toEqual(["E0407"]);
    expect(codes(bare("  norm\n  lm_head"))).toEqual(["E0401"]);
    expect(codes(bare("  norm\n  embed(dim: 8)\n  lm_head"))).toEqual(["E0401"]);
    expect(codes(bare("  embed(dim: 8)\n  embed(dim: 8)\n  lm_head"))).toEqual(["E0402"]);
    expect(codes(bare("  embed(dim: 8)\n  norm\n  positions rope\n  lm_head"))).toEqual(["E0403"]);
    expect(codes(bare("  embed(dim: 8)\n  norm"))).toEqual(["E0404"]);
    expect(codes(bare("  embed(dim: 8)\n  lm_head\n  norm"))).toEqual(["E0404"]);
    expect(onlyModel(bare("  embed(dim: 8)\n  lm_head untied(bias)")).layers[1]).toMatchObject({ tied: false, bias: true });
  });
});
