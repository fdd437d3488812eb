/**
 * GLU experts for PEER (`peer(..., glu: true)`), worked by hand:
 * e_i(x) = σ(g_iᵀx)·(u_iᵀx)·v_i, three [N, d] tables.
 */
import { describe, expect, it } from "vitest";
import { layerCost } from "../../compiler/cost/index.js";
import { keyArgs } from "../../compiler/report/rows.js";
import { model, paperPeer, peer } from "./ir-builder.js";

describe("PEER with GLU experts", () => {
  // d = 8, N = 16 (4 sub-keys per half), h = 2, k = 3 (hk = 6), key_dim 4, no bias, no query norm.
  const layer = peer({ dModel: 8, experts: 16, heads: 2, topk: 3, keyDim: 4, queryNorm: "none", queryBias: false, glu: true });
  const m = model({ dModel: 8, layers: [layer] });
  const c = layerCost(m.layers[0]!, m);

  it("has 3·N·d table params plus the query net and sub-keys", () => {
    expect(c.paramsBreakdown).toEqual({
      experts_u: 128n, // 16 × 8
      experts_v: 128n,
      experts_g: 128n,
      sub_keys: 16n, // 1 set × 4 sub-keys × key_dim 4
      query: 64n, // 8 × (2 heads × 4)
    });
    expect(c.params).toBe(3n * 16n * 8n + 16n + 64n); // 464
    expect(c.activeParams).toBe(3n * 6n * 8n + 16n + 64n); // 3 rows of 8 per retrieved expert: 224
  });

  it("does three hk·d dot products per token and two elementwise ops per expert more than σ", () => {
    const query = 2 * 8 * 8; // x · W_q: 128
    const subKeyScores = 2 * 2 * 4 * 4; // 2 heads × 2 halves × 4 sub-keys × 2 FLOPs × key_dim/2: 64
    const dot = 2 * 6 * 8; // one d-wide dot product per retrieved expert: 96
    expect(c.forward.matrix).toBe(query + subKeyScores + dot /* u·x */ + dot /* g·x */ + dot /* Σ w·v */); // 480
    // candidate sums h·k'² = 2·9, softmax 3·hk, then per expert σ, the GLU product and the score scale.
    expect(c.forward.elementwise).toBe(18 + 3 * 6 + 6 + 6 + 6); // 54
    expect(c.terms.map((t) => t.name)).toEqual(["query", "sub_key_scores", "candidate_sums", "router_scores", "down", "gate", "act", "glu_product", "score_scale", "up"]);
    expect(c.backward.matrix).toBe(2 * c.forward.matrix);
  });

  it("lists three sparse tables gathered hk rows per token each", () => {
    expect(c.sparseTables.map((t) => [t.name, t.rows, t.cols, t.rowsPerToken])).toEqual([
      ["experts_u", 16n, 8, 6],
      ["experts_v", 16n, 8, 6],
      ["experts_g", 16n, 8, 6],
    ]);
    expect(c.traffic.weightElementsPerToken).toBe(3 * 6 * 8);
    expect(c.nonFlop.gatheredRows).toBe(18);
    expect(c.args.glu).toBe(true);
    expect(keyArgs(c)).toBe("N 4², h 2, k 3, dk 4, glu");
  });

  it("at the paper's size adds exactly N·d params and 2·h·k·d FLOPs to the plain layer", () => {
    const plain = model({ dModel: 1024, layers: [paperPeer()] });
    const glu = model({ dModel: 1024, layers: [{ ...paperPeer(), glu: true }] });
    const a = layerCost(plain.layers[0]!, plain);
    const b = layerCost(glu.layers[0]!, glu);
    expect(b.params - a.params).toBe(1024n * 1024n * 1024n);
    expect(b.forward.matrix - a.forward.matrix).toBe(2 * 8 * 16 * 1024);
    expect(b.forward.elementwise - a.forward.elementwise).toBe(8 * 16);
    expect(keyArgs(a)).toBe("N 1024², h 8, k 16, dk 256");
  });
});
