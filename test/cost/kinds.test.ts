import { describe, expect, it } from "vitest";
import { costModel, layerCost } from "../../compiler/cost/index.js";
import { attention, embed, ffw, lmHead, model, moe, norm, paperPeer, peer, pkm, positions } from "./ir-builder.js";

const single = (l: Parameters<typeof layerCost>[0], d = 1024) => layerCost(model({ dModel: d, layers: [l] }).layers[0]!, model({ dModel: d, layers: [l] }));

describe("per-kind formulas", () => {
  it("embed: a vocab × dim table, one row active, no FLOPs", () => {
    const c = single(embed({ vocab: 32000, dim: 1024 }));
    expect(c.params).toBe(32000n * 1024n);
    expect(c.activeParams).toBe(1024n);
    expect(c.forward).toEqual({ matrix: 0, elementwise: 0 });
    expect(c.nonFlop.gatheredRows).toBe(1);
  });

  it("positions: context × dim, one add per element", () => {
    const c = single(positions({ type: "learned", context: 2048, dim: 1024 }));
    expect(c.params).toBe(2048n * 1024n);
    expect(c.forward.elementwise).toBe(1024);
  });

  it("norm: rms has a scale (4 FLOPs/element), layer a scale and shift (7)", () => {
    const rms = single(norm({ dim: 1024 }));
    expect(rms.params).toBe(1024n);
    expect(rms.forward.elementwise).toBe(4 * 1024);
    const ln = single(norm({ dim: 1024, type: "layer" }));
    expect(ln.params).toBe(2n * 1024n);
    expect(ln.forward.elementwise).toBe(7 * 1024);
  });

  it("attention: 4d² params, 8d² + 4·T·d matrix FLOPs (full T × T)", () => {
    const c = single(attention({ dModel: 1024, heads: 16, headDim: 64, context: 2048 }));
    expect(c.paramsBreakdown).toEqual({ wq: 1024n * 1024n, wk: 1024n * 1024n, wv: 1024n * 1024n, wo: 1024n * 1024n });
    expect(c.params).toBe(4n * 1024n * 1024n);
    // peer-facts §4: 8,388,608 + 8,388,608 at n_ctx 2048.
    expect(c.forward.matrix).toBe(8 * 1024 * 1024 + 4 * 2048 * 1024);
    expect(c.forward.matrix).toBe(16_777_216);
    // scale 1 + softmax 3 per score, 16 heads × 2048 scores.
    expect(c.forward.elementwise).toBe(4 * 16 * 2048);
    expect(c.macs).toBe(c.forward.matrix / 2);
    expect(c.backward.matrix).toBe(2 * c.forward.matrix);
  });

  it("attention: grouped-query kv heads, biases and rope", () => {
    const c = single(attention({ dModel: 512, heads: 8, headDim: 64, kvHeads: 2, context: 256, bias: true, rope: { base: 10000 } }));
    expect(c.paramsBreakdown.wk).toBe(512n * 128n);
    expect(c.paramsBreakdown.biases).toBe(BigInt(512 + 2 * 128 + 512));
    const rope = c.terms.find((t) => t.name === "rope")!;
    expect(rope.elementwise).toBe(3 * (512 + 128));
    expect(c.forward.matrix).toBe(2 * 512 * (512 + 256) + 4 * 512 * 256 + 2 * 512 * 512);
  });

  it("ffw: 2·d·f params and 4·d·f FLOPs; GLU 3·d·f and 6·d·f", () => {
    const c = single(ffw({ dModel: 1024, hidden: 4096 }));
    expect(c.params).toBe(2n * 1024n * 4096n); // 8,388,608 (peer-facts §4)
    expect(c.forward.matrix).toBe(4 * 1024 * 4096); // 16,777,216
    expect(c.forward.elementwise).toBe(4096); // the activation
    const glu = single(ffw({ dModel: 1024, hidden: 4096, glu: true, bias: true }));
    expect(glu.params).toBe(3n * 1024n * 4096n + 2n * 4096n + 1024n);
    expect(glu.forward.matrix).toBe(6 * 1024 * 4096);
  });

  it("moe: token choice runs topk experts, expert choice c experts, plus the router", () => {
    const expert = 2n * 1024n * 4096n;
    const token = single(moe({ dModel: 1024, experts: 8, hidden: 4096, topk: 2 }));
    expect(token.params).toBe(1024n * 8n + 8n * expert);
    expect(token.activeParams).toBe(1024n * 8n + 2n * expert);
    expect(token.forward.matrix).toBe(2 * 1024 * 8 + 2 * 4 * 1024 * 4096);
    const choice = single(moe({ dModel: 1024, experts: 128, hidden: 4096, routing: "expert", capacity: 2 }));
    expect(choice.paramsBreakdown.experts).toBe(128n * expert); // 1,073,741,824
    expect(choice.paramsBreakdown.experts).toBe(1_073_741_824n);
    expect(choice.forward.matrix).toBe(2 * 1024 * 128 + 2 * 16_777_216);
    expect(choice.activeParams).toBe(1024n * 128n + 2n * expert);
  });

  it("lm_head: tied counts 0 params but its 2·d·V FLOPs; untied counts V·d", () => {
    const tied = single(lmHead({ dModel: 1024, vocab: 32000 }));
    expect(tied.params).toBe(0n);
    expect(tied.sharedParams).toBe(32000n * 1024n);
    expect(tied.forward.matrix).toBe(2 * 1024 * 32000);
    const untied = single(lmHead({ dModel: 1024, vocab: 32000, tied: false }));
    expect(untied.params).toBe(32000n * 1024n);
  });

  it("pkm: values N·d_v plus product-key retrieval", () => {
    const c = single(pkm({ dModel: 1024, memories: 1024 ** 2, heads: 8, topk: 32, keyDim: 256 }));
    expect(c.paramsBreakdown.values).toBe(1024n * 1024n * 1024n); // 1,073,741,824
    expect(c.paramsBreakdown.sub_keys).toBe(1024n * 256n);
    expect(c.paramsBreakdown.query).toBe(1024n * 8n * 256n);
    // query 2·d·h·dk + sub-keys 2·h·√N·dk + values 2·h·k·d_v
    expect(c.forward.matrix).toBe(2 * 1024 * 8 * 256 + 2 * 8 * 1024 * 256 + 2 * 8 * 32 * 1024);
    // peer-facts §4: ≈ 8.92e6 (matrix + candidate sums + softmax)
    expect(Math.abs(c.forward.matrix + 8 * 32 * 32 + 3 * 8 * 32 - 8.92e6) / 8.92e6).toBeLessThan(0.001);
  });

  it("peer: per-head keys cost h× the sub-keys; sigmoid scores 1 FLOP per expert", () => {
    const shared = single(paperPeer());
    const perHead = single(peer({ dModel: 1024, experts: 1024 ** 2, heads: 8, topk: 16, keyDim: 256, keys: "per_head", scores: "sigmoid" }));
    expect(perHead.paramsBreakdown.sub_keys).toBe(8n * 1024n * 256n); // 2,097,152
    expect(perHead.params).toBe(2_151_684_096n); // peer-facts §4, per-head keys
    expect(perHead.forward.matrix).toBe(shared.forward.matrix); // scoring cost is per head either way
    expect(perHead.terms.find((t) => t.name === "router_scores")!.elementwise).toBe(8 * 16);
  });

  it("residual adds are counted on the layer that closes the residual", () => {
    const layers = [norm({ dim: 64, path: "a.norm" }), ffw({ dModel: 64, hidden: 256, path: "a.ffw" })];
    const m = model({ dModel: 64, layers, residuals: [{ path: "a", start: 0, end: 2, span: layers[0]!.span }] });
    const c = costModel(m);
    expect(c.layers[1]!.terms.find((t) => t.name === "residual_add")!.elementwise).toBe(64);
    expect(c.layers[0]!.terms.some((t) => t.name === "residual_add")).toBe(false);
  });

  it("an unknown kind is an internal error with its location, never a silent zero", () => {
    const bogus = { ...norm({ dim: 8 }), kind: "conv" } as unknown as Parameters<typeof layerCost>[0];
    expect(() => single(bogus)).toThrowError(/no formula for layer kind 'conv'/);
    try {
      single(bogus);
    } catch (e) {
      expect((e as { diagnostic: { code: string; span: unknown } }).diagnostic.code).toBe("E0690");
      expect((e as { diagnostic: { span: unknown } }).diagnostic.span).toEqual(bogus.span);
    }
  });
});
