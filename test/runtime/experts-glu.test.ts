/**
 * GLU experts for PEER (`peer(..., glu: true)`): e_i(x) = σ(g_iᵀx)·(u_iᵀx)·v_i
 * with three row tables. Forward against plain JS over the routed ids, the
 * fused and gathered paths against each other, the manifest's tables in a
 * built model, and export / checkpoint state naming the gate table.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import type { IRLayer, IRModel, PeerLayer } from "../../ir/types.js";
import { peerWeights } from "../../kinds/peer/weights.js";
import { createPeerLayer } from "../../kinds/peer/runtime.js";
import { scalarActivation } from "../../runtime/experts/activations.js";
import { sparseTableBytes } from "../../runtime/experts/memory.js";
import type { RoutingRecord } from "../../runtime/layers/layer.js";
import { buildModel } from "../../runtime/model/model.js";
import { exportTensors } from "../../runtime/train/export.js";
import { tableStates } from "../../runtime/train/state.js";
import { denseModel } from "./core-helpers.js";
import { context, peerSpec, randomArray, seededRng, useWasm } from "./experts-fixtures.js";

beforeAll(useWasm);

const gluSpec = (over: Partial<PeerLayer> = {}): PeerLayer =>
  peerSpec({ subKeys: 5, heads: 3, topk: 4, subTopk: 4, dModel: 6, keyDim: 4, act: "silu", glu: true, ...over });

describe("PEER GLU experts", () => {
  it("the output is Σ_heads Σ_k w·σ(gᵀx)·(uᵀx)·v over the routed experts", () => {
    const spec = gluSpec();
    const layer = createPeerLayer(spec, { rng: seededRng(11), dModel: spec.dModel });
    const tokens = 5;
    const d = spec.dModel;
    const x = randomArray(tokens * d, seededRng(12));
    const records: RoutingRecord[] = [];
    const out = tf.tidy(() => layer.apply(tf.tensor2d(x, [tokens, d]), context(true, 1, tokens, records)).dataSync() as Float32Array);
    const { ids, weights } = records[0]!;
    const slots = spec.heads * spec.topk;
    const sigma = scalarActivation("silu");
    const U = layer.down.table, V = layer.up.table, G = layer.gate!.table;
    for (let t = 0; t < tokens; t++) {
      const expected = new Float64Array(d);
      for (let e = 0; e < slots; e++) {
        const id = ids[t * slots + e]!;
        let a = 0, b = 0;
        for (let c = 0; c < d; c++) {
          a += U[id * d + c]! * x[t * d + c]!;
          b += G[id * d + c]! * x[t * d + c]!;
        }
        const w = weights[t * slots + e]! * sigma.value(b) * a;
        for (let c = 0; c < d; c++) expected[c] += w * V[id * d + c]!;
      }
      for (let c = 0; c < d; c++) expect(out[t * d + c]).toBeCloseTo(expected[c]!, 5);
    }
    // Not the plain expert: σ(uᵀx)·v gives another output from the same u, v.
    const plain = createPeerLayer({ ...spec, glu: false }, { rng: seededRng(11), dModel: d });
    const plainOut = tf.tidy(() => plain.apply(tf.tensor2d(x, [tokens, d]), context(true, 1, tokens)).dataSync() as Float32Array);
    expect(Array.from(plain.down.table)).toEqual(Array.from(U));
    expect(Math.max(...Array.from(plainOut, (v, i) => Math.abs(v - out[i]!)))).toBeGreaterThan(1e-3);
  });

  it("fused and gathered expert paths agree on output and every gradient", () => {
    const spec = gluSpec({ queryNorm: "batch" });
    const tokens = 4;
    const x = randomArray(tokens * spec.dModel, seededRng(21));
    const run = (expertPath: "fused" | "gathered") => {
      const layer = createPeerLayer(spec, { rng: seededRng(22), dModel: spec.dModel, expertPath });
      const xv = tf.variable(tf.tensor2d(x, [tokens, spec.dModel]));
      const r = tf.tensor2d(randomArray(tokens * spec.dModel, seededRng(23)), [tokens, spec.dModel]);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(xv, context(true, 1, tokens)), r)) as tf.Scalar, [xv, ...layer.variables.map((v) => v.variable)]);
      const rows = [layer.down, layer.up, layer.gate!].map((t) => Array.from({ length: t.rows }, (_, row) => Array.from(t.rowGradient(row) ?? [])));
      return { loss: value.dataSync()[0]!, dx: Array.from(grads[xv.name]!.dataSync()), rows };
    };
    const fused = run("fused");
    const gathered = run("gathered");
    expect(fused.loss).toBeCloseTo(gathered.loss, 4);
    fused.dx.forEach((g, i) => expect(g).toBeCloseTo(gathered.dx[i]!, 4));
    fused.rows.forEach((table, t) => table.forEach((row, r) => row.forEach((g, c) => expect(g).toBeCloseTo(gathered.rows[t]![r]![c]!, 4))));
    expect(fused.rows[2]!.some((row) => row.some((g) => g !== 0))).toBe(true);
  });

  it("a model with a GLU PEER layer holds, checkpoints and exports the three tables of its manifest", () => {
    const base = denseModel({ vocab: 16, d: 16, blocks: 2, context: 8 });
    const peer = { ...peerSpec({ subKeys: 8, heads: 2, topk: 4, subTopk: 4, dModel: 16, keyDim: 8, queryNorm: "batch", glu: true }), path: "blocks.1.ff.peer" };
    const model: IRModel = { ...base, layers: base.layers.map((l): IRLayer => (l.path === "blocks.1.ff.ffw" ? { ...peer, index: l.index } : l)) };
    const built = buildModel(model, { seed: 5, backend: "wasm" });
    const manifestTables = peerWeights(peer).filter((w) => w.role === "expert_table");
    expect(manifestTables.map((w) => w.name)).toEqual(["experts.u", "experts.v", "experts.g"]);
    expect(built.sparseTables.map((t) => [t.name, t.rows, t.cols])).toEqual(manifestTables.map((w) => [`blocks.1.ff.peer.${w.name}`, ...w.shape]));
    const exported = new Map(exportTensors(built).map((t) => [t.name, t]));
    expect(exported.get("blocks.1.ff.peer.experts.g")!.shape).toEqual([64, 16]);
    expect(exported.get("blocks.1.ff.peer.experts.g")!.data).toBe(built.sparseTables[2]!.state()[0]!.data);
    expect(tableStates(built).map((s) => s.name).filter((n) => n.includes("experts.g")).length).toBeGreaterThan(1); // table + Adam moments
    // The memory preflight counts three tables of 64 × 16.
    expect(sparseTableBytes(peer)).toBe(3 * (3 * 64 * 16 * 4 + 2 * 64 * 4));
  });
});
