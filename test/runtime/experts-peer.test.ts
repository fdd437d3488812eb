import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import type { PeerLayer } from "../../ir/types.js";
import { scalarActivation } from "../../runtime/experts/activations.js";
import type { RoutingRecord } from "../../runtime/layers/layer.js";
import { createPeerLayer } from "../../kinds/peer/runtime.js";
import { context, peerSpec, randomArray, seededRng, useWasm } from "./experts-fixtures.js";
import { referencePeer } from "./experts-reference.js";

beforeAll(useWasm);

function build(spec: PeerLayer, seed = 1) {
  return createPeerLayer(spec, { rng: seededRng(seed), dModel: spec.dModel });
}

function forward(layer: ReturnType<typeof build>, x: Float32Array, tokens: number, training: boolean, records?: RoutingRecord[]): Float32Array {
  return tf.tidy(() => {
    const out = layer.apply(tf.tensor2d(x, [tokens, layer.down.cols]), context(training, 1, tokens, records));
    return out.dataSync() as Float32Array;
  });
}

describe("PEER layer forward", () => {
  const configs: { name: string; spec: PeerLayer }[] = [
    { name: "shared keys, softmax", spec: peerSpec({ subKeys: 6, heads: 2, topk: 3, subTopk: 3 }) },
    { name: "per-head keys, bias, sigmoid, relu", spec: peerSpec({ subKeys: 5, heads: 3, topk: 4, subTopk: 4, keys: "per_head", queryBias: true, scores: "sigmoid", act: "relu" }) },
    { name: "batch norm (train mode)", spec: peerSpec({ subKeys: 4, heads: 2, topk: 2, subTopk: 3, queryNorm: "batch" }) },
  ];
  for (const { name, spec } of configs) {
    it(`matches a brute-force reference over all N keys: ${name}`, () => {
      const layer = build(spec);
      const tokens = 7;
      const x = randomArray(tokens * spec.dModel, seededRng(3));
      const records: RoutingRecord[] = [];
      const out = forward(layer, x, tokens, true, records);
      const ref = referencePeer(spec, layer.variables, layer.down.table, layer.up.table, x, tokens);
      for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo(ref.out[i], 4);
      expect(records).toHaveLength(1);
      const { ids, weights } = records[0];
      expect(ids.length).toBe(tokens * spec.heads * spec.topk);
      for (let r = 0; r < tokens * spec.heads; r++) {
        const row = Array.from(ids.subarray(r * spec.topk, (r + 1) * spec.topk));
        expect(new Set(row)).toEqual(new Set(ref.ids[r]));
        expect(new Set(row).size).toBe(spec.topk);
        for (const id of row) expect(id >= 0 && id < spec.experts).toBe(true);
        if (spec.scores === "softmax") {
          const sum = Array.from(weights.subarray(r * spec.topk, (r + 1) * spec.topk)).reduce((a, b) => a + b, 0);
          expect(sum).toBeCloseTo(1, 5);
        }
      }
    });
  }

  it("k = 1: output is Σ_h σ(u·x)·v over the h retrieved experts (weights 1)", () => {
    const spec = peerSpec({ subKeys: 8, heads: 3, topk: 1, subTopk: 1, dModel: 6, act: "silu" });
    const layer = build(spec, 5);
    const tokens = 4;
    const d = spec.dModel;
    const x = randomArray(tokens * d, seededRng(9));
    const records: RoutingRecord[] = [];
    const out = forward(layer, x, tokens, true, records);
    const { ids, weights } = records[0];
    for (const w of weights) expect(w).toBeCloseTo(1, 6);
    const sigma = scalarActivation("silu");
    for (let t = 0; t < tokens; t++) {
      for (let c = 0; c < d; c++) {
        let expected = 0;
        for (let h = 0; h < spec.heads; h++) {
          const id = ids[t * spec.heads + h];
          let a = 0;
          for (let e = 0; e < d; e++) a += layer.down.table[id * d + e] * x[t * d + e];
          expected += sigma.value(a) * layer.up.table[id * d + c];
        }
        expect(out[t * d + c]).toBeCloseTo(expected, 5);
      }
    }
  });

  it("sub top-k = √N and top-k = N: a dense width-N MLP weighted by softmax over all N scores", () => {
    const spec = peerSpec({ subKeys: 3, heads: 2, topk: 9, subTopk: 3, dModel: 5 });
    const layer = build(spec, 11);
    const tokens = 3;
    const x = randomArray(tokens * spec.dModel, seededRng(12));
    const records: RoutingRecord[] = [];
    const out = forward(layer, x, tokens, true, records);
    // Every expert is used once per head; the reference's softmax then runs over all N.
    const ref = referencePeer(spec, layer.variables, layer.down.table, layer.up.table, x, tokens);
    for (const row of ref.ids) expect(row.length).toBe(spec.experts);
    for (let r = 0; r < tokens * spec.heads; r++) {
      expect(new Set(records[0].ids.subarray(r * 9, r * 9 + 9)).size).toBe(9);
    }
    for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo(ref.out[i], 5);
  });

  it("is invariant to permuting the first-half sub-keys together with the expert rows", () => {
    const spec = peerSpec({ subKeys: 4, heads: 2, topk: 3, subTopk: 3, dModel: 6 });
    const layer = build(spec, 21);
    const tokens = 5;
    const x = randomArray(tokens * spec.dModel, seededRng(22));
    const before = forward(layer, x, tokens, true);
    const perm = [2, 0, 3, 1]; // new column p holds old sub-key perm[p]
    const k1 = layer.variables.find((v) => v.name === `${spec.path}.keys.1`)!.variable;
    const old = k1.dataSync().slice();
    const half = spec.keyDim / 2;
    const permuted = new Float32Array(old.length);
    for (let c = 0; c < half; c++) for (let p = 0; p < 4; p++) permuted[c * 4 + p] = old[c * 4 + perm[p]];
    k1.assign(tf.tensor2d(permuted, [half, 4]));
    for (const table of [layer.down, layer.up]) {
      const copy = table.table.slice();
      const d = table.cols;
      for (let p = 0; p < 4; p++) {
        for (let j = 0; j < 4; j++) {
          table.table.set(copy.subarray((perm[p] * 4 + j) * d, (perm[p] * 4 + j + 1) * d), (p * 4 + j) * d);
        }
      }
    }
    const after = forward(layer, x, tokens, true);
    for (let i = 0; i < before.length; i++) expect(after[i]).toBeCloseTo(before[i], 5);
  });
});

describe("PEER query BatchNorm", () => {
  it("train mode looks across the batch; eval mode (running stats) is causal", () => {
    const spec = peerSpec({ subKeys: 4, heads: 2, topk: 2, subTopk: 2, queryNorm: "batch", dModel: 6 });
    const layer = build(spec, 31);
    const tokens = 6;
    const d = spec.dModel;
    const x = randomArray(tokens * d, seededRng(32));
    const changed = x.slice();
    for (let c = 0; c < d; c++) changed[(tokens - 1) * d + c] += 3;
    // Train mode: the last token moves the batch statistics, so token 0 changes.
    const a = forward(layer, x, tokens, true);
    const b = forward(layer, changed, tokens, true);
    const token0Diff = Math.max(...Array.from({ length: d }, (_, c) => Math.abs(a[c] - b[c])));
    expect(token0Diff).toBeGreaterThan(1e-4);
    // The running statistics moved towards the batch statistics.
    const runningMean = layer.buffers()[0].tensor.dataSync();
    expect(Math.max(...Array.from(runningMean, Math.abs))).toBeGreaterThan(0);
    // Eval mode: tokens before the change are unaffected.
    const c0 = forward(layer, x, tokens, false);
    const c1 = forward(layer, changed, tokens, false);
    for (let i = 0; i < (tokens - 1) * d; i++) expect(c1[i]).toBe(c0[i]);
    expect(layer.buffers().map((b) => b.name)).toEqual([`${spec.path}.query.bn.running_mean`, `${spec.path}.query.bn.running_var`]);
  });
});
