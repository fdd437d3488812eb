import { describe, expect, it } from "vitest";
import { costModel, layerCost, gradientParams } from "../../compiler/cost/index.js";
import { embed, lmHead, model, paperPeer, smallLm, peer, train } from "./ir-builder.js";

describe("the paper's PEER layer (peer-facts §4)", () => {
  const m = model({ dModel: 1024, layers: [paperPeer()] });
  const c = layerCost(m.layers[0]!, m);

  it("has 2,149,849,088 params, split by part", () => {
    const n = 1024n * 1024n;
    expect(c.paramsBreakdown).toEqual({
      experts_u: n * 1024n,
      experts_v: n * 1024n,
      sub_keys: 1024n * 256n, // √N · d_k: two halves of √N × d_k/2
      query: 1024n * 8n * 256n,
      query_bias: 8n * 256n,
      query_norm: 2n * 8n * 256n,
    });
    expect(c.params).toBe(2n * n * 1024n + 1024n * 256n + 1024n * 8n * 256n + 8n * 256n + 2n * 8n * 256n);
    expect(c.params).toBe(2_149_849_088n);
  });

  it("reports the BN running statistics as buffers, not params", () => {
    expect(c.buffersBreakdown).toEqual({ query_norm_running_stats: 2n * 8n * 256n });
  });

  it("does ≈ 8.91e6 matrix FLOPs per token forward", () => {
    const query = 2 * 1024 * 8 * 256; // 4,194,304
    const subKeys = 2 * 8 * 1024 * 256; // 4,194,304
    const down = 2 * 1024 * 8 * 16; // 262,144
    const up = 2 * 1024 * 8 * 16;
    expect(c.forward.matrix).toBe(query + subKeys + down + up);
    expect(Math.abs(c.forward.matrix - 8.91e6) / 8.91e6).toBeLessThan(0.001);
    // elementwise: bias h·dk, BN 7·h·dk, candidates h·k², softmax 3hk, σ hk, scale hk
    expect(c.forward.elementwise).toBe(2048 + 7 * 2048 + 8 * 16 * 16 + 3 * 128 + 128 + 128);
    expect(c.backward.matrix + c.backward.elementwise).toBe(2 * (c.forward.matrix + c.forward.elementwise));
  });

  it("counts the retrieved rows, all sub-keys and the query net as active", () => {
    expect(c.activeParams).toBe(2n * 128n * 1024n + 1024n * 256n + 1024n * 8n * 256n + 2048n + 4096n);
  });

  it("reads the gathered rows, not the table, per token", () => {
    expect(c.traffic.weightElementsPerToken).toBe(2 * 128 * 1024);
    expect(c.traffic.weightElementsPerPass).toBe(1024 * 256 + 1024 * 8 * 256 + 2048 + 4096);
    expect(c.nonFlop).toEqual({ topkCandidates: 2 * 8 * 1024 + 8 * 16 * 16, gatheredRows: 256, gatheredRowWidth: 1024 });
    // saved for backward: the gathered u and v rows, tokens·h·k·d·2
    expect(c.savedElementsPerToken).toBeGreaterThanOrEqual(2 * 128 * 1024);
  });

  it("gives gradients only to the rows a step can touch", () => {
    const dense = 1024n * 256n + 1024n * 8n * 256n + 2048n + 4096n;
    expect(gradientParams(c, 10)).toBe(dense + 2n * 10n * 128n * 1024n);
    expect(gradientParams(c, 1e9)).toBe(c.params); // capped at the table: min(N, tokens·h·k)
  });
});

describe("model totals", () => {
  it("counts tied weights once and the tied head's FLOPs", () => {
    const m = model({ dModel: 64, layers: [embed({ vocab: 1000, dim: 64 }), lmHead({ dModel: 64, vocab: 1000 })] });
    const c = costModel(m);
    expect(c.totals.params).toBe(1000n * 64n);
    expect(c.totals.forward.matrix).toBe(2 * 64 * 1000);
    expect(c.totals.activeParams).toBe(1000n * 64n); // the whole table, once
    const untied = costModel(model({ dModel: 64, layers: [embed({ vocab: 1000, dim: 64 }), lmHead({ dModel: 64, vocab: 1000, tied: false })] }));
    expect(untied.totals.params).toBe(2n * 1000n * 64n);
  });

  it("sums layers, trains at 3 × forward, and derives steps from a FLOP budget", () => {
    const m = smallLm({ train: train({ batch: 4, microBatch: 2, context: 128, horizon: { kind: "flops", flops: 1e12 } }) });
    const c = costModel(m);
    const sum = c.layers.reduce((s, l) => s + l.forward.matrix + l.forward.elementwise, 0);
    expect(c.totals.flopsPerToken.forward).toBe(sum);
    expect(c.totals.flopsPerToken.train).toBeCloseTo(3 * sum, 6);
    const t = c.train!;
    expect(t.tokensPerStep).toBe(4 * 128);
    expect(t.tokensPerPass).toBe(2 * 128);
    expect(t.flopsPerStep).toBeCloseTo(3 * sum * 512, 0);
    expect(t.steps).toBe(Math.floor(1e12 / t.flopsPerStep));
    expect(t.totalFlops).toBeLessThanOrEqual(1e12);
    expect(t.stepsFrom).toBe("flops");
  });

  it("rounds a token horizon up to whole steps", () => {
    const c = costModel(smallLm({ train: train({ batch: 4, context: 128, horizon: { kind: "tokens", tokens: 1000 } }) }));
    expect(c.train!.steps).toBe(Math.ceil(1000 / 512));
  });

  it("peak training memory = weights + grads + AdamW + activations at the micro-batch", () => {
    const c = costModel(smallLm({ train: train({ batch: 8, microBatch: 8, context: 128 }) }));
    const p = Number(c.totals.params);
    const fp32 = c.train!.peakMemory.fp32;
    expect(fp32.weights).toBe(4 * p);
    expect(fp32.grads).toBe(4 * p);
    expect(fp32.optimizer).toBe(8 * p);
    const saved = c.layers.reduce((s, l) => s + 4 * l.savedElementsPerToken + 4 * l.savedIndicesPerToken, 0);
    expect(fp32.activations).toBe(saved * 8 * 128);
    const bf16 = c.train!.peakMemory.bf16;
    expect(bf16.weights + bf16.grads + bf16.optimizer).toBe(16 * p); // ZeRO's 16 bytes/param
  });

  it("sparse tables keep Adam moments for every row but gradients for touched rows", () => {
    const m = smallLm({ d: 64, ffn: (i, d) => (i === 0 ? peer({ dModel: d, experts: 256 ** 2, heads: 4, topk: 8, keyDim: 32 }) : peer({ dModel: d, experts: 16, heads: 1, topk: 2, keyDim: 8 })), train: train({ batch: 1, context: 16 }) });
    const c = costModel(m);
    const peerLayer = c.layers.find((l) => l.kind === "peer")!;
    const mem = c.train!.peakMemory.fp32;
    const tables = 2 * 256 ** 2 * 64;
    expect(mem.optimizer).toBe(8 * Number(c.totals.params));
    // 16 tokens × 32 rows per table touched, not 65,536
    expect(Number(gradientParams(peerLayer, 16))).toBe(Number(peerLayer.params) - tables + 2 * 16 * 32 * 64);
  });

  it("estimates a roofline per target: Σ max(flops/peak, bytes/bw)", () => {
    const c = costModel(smallLm({ train: train() }), { cpuPeakFlops: 1e11, cpuBandwidth: 2e10 });
    expect(c.roofline.map((r) => r.target)).toEqual(["h100", "a100", "cpu"]);
    for (const r of c.roofline) {
      const sum = r.layers.reduce((s, l) => s + Math.max(l.flops / r.peakFlops, l.bytes / r.bandwidth), 0) + r.optimizerSeconds;
      expect(r.stepSeconds).toBeCloseTo(sum, 12);
      for (const l of r.layers) expect(l.bound).toBe(l.bytes / r.bandwidth > l.flops / r.peakFlops ? "memory" : "compute");
      expect(r.trainSeconds).toBeCloseTo(r.stepSeconds * 100, 9);
    }
    expect(costModel(smallLm()).roofline.map((r) => r.target)).toEqual(["h100", "a100"]);
  });
});
