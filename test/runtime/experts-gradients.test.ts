import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import type { PeerLayer, PkmLayer } from "../../ir/types.js";
import type { RoutingRecord, RuntimeLayer } from "../../runtime/layers/layer.js";
import { createPeerLayer } from "../../kinds/peer/runtime.js";
import { createPkmLayer } from "../../kinds/pkm/runtime.js";
import type { ExpertTable } from "../../runtime/experts/sparse-table.js";
import { context, peerSpec, pkmSpec, randomArray, seededRng, useWasm } from "./experts-fixtures.js";

beforeAll(useWasm);

/**
 * Central finite differences of loss = Σ out·R against the layer's analytic
 * gradients, for the input, every dense variable entry and every table entry.
 */
function sortedRows(ids: Int32Array, k: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < ids.length; r += k) out.push(...Array.from(ids.subarray(r, r + k)).sort((a, b) => a - b));
  return out;
}

/** stableRouting: 0 when every expert is selected anyway, else the layer's top-k (routing must not change). */
function checkGradients(layer: RuntimeLayer, tables: ExpertTable[], width: number, tokens: number, seed: number, stableRouting: number): void {
  const rng = seededRng(seed);
  const xVar = tf.variable(tf.tensor2d(randomArray(tokens * width, rng), [tokens, width]));
  const outWidth = layer.sparseTables[layer.sparseTables.length - 1].cols;
  const r = tf.tensor2d(randomArray(tokens * outWidth, rng), [tokens, outWidth]);
  const records: RoutingRecord[] = [];
  const loss = (record: boolean): tf.Scalar =>
    tf.sum(tf.mul(layer.apply(xVar, context(true, 1, tokens, record ? records : undefined)), r)) as tf.Scalar;
  const lossValue = (): number => tf.tidy(() => loss(true).dataSync()[0]);

  for (const t of tables) t.zeroGrads();
  const dense = [xVar, ...layer.variables.map((v) => v.variable)];
  const { grads } = tf.variableGrads(() => loss(false), dense);
  lossValue();
  const baseIds = records[0].ids.slice();
  records.length = 0;

  const eps = stableRouting > 0 ? 1e-3 : 1e-2;
  const compare = (analytic: number, bump: (delta: number) => void, what: string): void => {
    bump(eps);
    const up = lossValue();
    bump(-2 * eps);
    const down = lossValue();
    bump(eps);
    if (stableRouting > 0) {
      // The perturbations are too small to change which experts are selected.
      // The same expert sets per row (order within a row does not matter: the output sums over it).
      for (const rec of records) expect(sortedRows(rec.ids, stableRouting), what).toEqual(sortedRows(baseIds, stableRouting));
    }
    records.length = 0;
    const numeric = (up - down) / (2 * eps);
    expect(Math.abs(numeric - analytic), `${what}: numeric ${numeric} vs analytic ${analytic}`).toBeLessThan(2e-3 + 2e-2 * Math.abs(analytic));
  };

  for (const v of dense) {
    const g = grads[v.name].dataSync();
    const size = v.size;
    for (let i = 0; i < size; i++) {
      compare(g[i], (delta) => {
        const values = v.dataSync().slice();
        values[i] += delta;
        v.assign(tf.tensor(values, v.shape));
      }, `${v.name}[${i}]`);
    }
  }
  for (const table of tables) {
    for (let row = 0; row < table.rows; row++) {
      const rowGrad = table.rowGradient(row);
      for (let c = 0; c < table.cols; c++) {
        compare(rowGrad === null ? 0 : rowGrad[c], (delta) => {
          table.table[row * table.cols + c] += delta;
        }, `${table.name}[${row},${c}]`);
      }
    }
  }
  xVar.dispose();
}

describe("expert layer gradients against finite differences", () => {
  it("PEER, all experts selected, batch-norm queries with bias (x, query, keys, BN, u, v)", () => {
    const spec: PeerLayer = peerSpec({ subKeys: 3, heads: 2, topk: 9, subTopk: 3, dModel: 5, keyDim: 4, queryNorm: "batch", queryBias: true, act: "gelu" });
    const layer = createPeerLayer(spec, { rng: seededRng(41), dModel: 5 });
    checkGradients(layer, [layer.down, layer.up], 5, 4, 42, 0);
  });

  it("PEER, top-k < N with per-head keys, layer norm and sigmoid scores (routing held fixed)", () => {
    const spec: PeerLayer = peerSpec({ subKeys: 4, heads: 2, topk: 3, subTopk: 3, dModel: 4, keyDim: 4, queryNorm: "layer", keys: "per_head", scores: "sigmoid", act: "tanh" });
    const layer = createPeerLayer(spec, { rng: seededRng(51), dModel: 4 });
    checkGradients(layer, [layer.down, layer.up], 4, 3, 52, 3);
  });

  it("PEER with the score-tensor gradient path (flat gathers of the per-half scores)", () => {
    const spec: PeerLayer = peerSpec({ subKeys: 3, heads: 2, topk: 4, subTopk: 3, dModel: 4, keyDim: 4, queryNorm: "batch", keys: "per_head" });
    const layer = createPeerLayer(spec, { rng: seededRng(45), dModel: 4, scoreGradient: "scores" });
    checkGradients(layer, [layer.down, layer.up], 4, 3, 46, 4);
  });

  it("PEER with the gathered expert path (tfjs ops on gathered rows)", () => {
    const spec: PeerLayer = peerSpec({ subKeys: 3, heads: 2, topk: 9, subTopk: 3, dModel: 4, keyDim: 4, queryNorm: "batch", act: "gelu_tanh" });
    const layer = createPeerLayer(spec, { rng: seededRng(47), dModel: 4, expertPath: "gathered" });
    checkGradients(layer, [layer.down, layer.up], 4, 3, 48, 0);
  });

  it("PEER GLU experts, all experts selected (x, query, keys, BN, u, v, g)", () => {
    const spec: PeerLayer = peerSpec({ subKeys: 3, heads: 2, topk: 9, subTopk: 3, dModel: 5, keyDim: 4, queryNorm: "batch", queryBias: true, act: "silu", glu: true });
    const layer = createPeerLayer(spec, { rng: seededRng(71), dModel: 5 });
    expect(layer.gate).not.toBeNull();
    checkGradients(layer, [layer.down, layer.up, layer.gate!], 5, 4, 72, 0);
  });

  it("PEER GLU experts, top-k < N with per-head keys (routing held fixed)", () => {
    const spec: PeerLayer = peerSpec({ subKeys: 4, heads: 2, topk: 3, subTopk: 3, dModel: 4, keyDim: 4, queryNorm: "layer", keys: "per_head", scores: "sigmoid", act: "gelu", glu: true });
    // The routing test's seeds above: the same queries, so no expert sits at a top-k tie.
    const layer = createPeerLayer(spec, { rng: seededRng(51), dModel: 4 });
    checkGradients(layer, [layer.down, layer.up, layer.gate!], 4, 3, 52, 3);
  });

  it("PEER GLU experts on the gathered expert path", () => {
    const spec: PeerLayer = peerSpec({ subKeys: 3, heads: 2, topk: 9, subTopk: 3, dModel: 4, keyDim: 4, queryNorm: "batch", act: "sigmoid", glu: true });
    const layer = createPeerLayer(spec, { rng: seededRng(75), dModel: 4, expertPath: "gathered" });
    checkGradients(layer, [layer.down, layer.up, layer.gate!], 4, 3, 76, 0);
  });

  it("PKM, all memories selected, batch-norm queries", () => {
    const spec: PkmLayer = pkmSpec({ subKeys: 3, heads: 2, topk: 9, subTopk: 3, dModel: 4, keyDim: 4, valueDim: 3, queryNorm: "batch" });
    const layer = createPkmLayer(spec, { rng: seededRng(61), dModel: 4 });
    checkGradients(layer, [layer.values], 4, 4, 62, 0);
  });
});
