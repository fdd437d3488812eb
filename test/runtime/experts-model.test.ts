import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import type { IRLayer, IRModel } from "../../ir/types.js";
import { buildModel } from "../../runtime/model/model.js";
import { AdamW } from "../../runtime/train/adamw.js";
import { denseModel } from "./core-helpers.js";
import { peerSpec, useWasm } from "./experts-fixtures.js";

beforeAll(useWasm);

/** core's small dense model with block 1's feed-forward replaced by a PEER layer. */
function peerModel(): IRModel {
  const base = denseModel({ vocab: 16, d: 16, blocks: 2, context: 8 });
  const layers = base.layers.map((layer): IRLayer => {
    if (layer.path !== "blocks.1.ff.ffw") return layer;
    return { ...peerSpec({ subKeys: 8, heads: 2, topk: 4, subTopk: 4, dModel: 16, keyDim: 8, queryNorm: "batch" }), path: "blocks.1.ff.peer", index: layer.index };
  });
  return { ...base, layers };
}

describe("PEER inside a model built by runtime/model", () => {
  it("trains with the model's explicit variable list: loss falls, only retrieved rows move", () => {
    const model = buildModel(peerModel(), { seed: 3, backend: "wasm" });
    const [u, v] = model.sparseTables;
    expect([u.name, v.name]).toEqual(["blocks.1.ff.peer.experts.u", "blocks.1.ff.peer.experts.v"]);
    const before = (u.state()[0].data as Float32Array).slice();
    const ids = tf.tensor2d([[1, 2, 3, 4, 5, 6, 7, 8], [8, 7, 6, 5, 4, 3, 2, 1]], [2, 8], "int32");
    const targets = tf.tensor2d([[2, 3, 4, 5, 6, 7, 8, 9], [7, 6, 5, 4, 3, 2, 1, 0]], [2, 8], "int32");
    const varList = model.variables.map((n) => n.variable);
    const nameOf = new Map(model.variables.map((n) => [n.variable.name, n.name]));
    const optimizer = new AdamW(model.variables, model.sparseTables, { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, decayAll: false });
    const losses: number[] = [];
    const everTouched = new Set<number>();
    for (let step = 0; step < 15; step++) {
      const { value, grads } = tf.variableGrads(() => model.loss(ids, targets, "train").loss, varList);
      losses.push(value.dataSync()[0]);
      for (const row of (u as unknown as { touchedRowIds(): Int32Array }).touchedRowIds()) everTouched.add(row);
      expect(u.touchedRows).toBeGreaterThan(0);
      optimizer.apply(new Map(Object.entries(grads).map(([k, g]) => [nameOf.get(k)!, g])), 1e-2, 1e-2);
      tf.dispose([value, ...Object.values(grads)]);
    }
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.8);
    const after = u.state()[0].data;
    let unchanged = 0;
    for (let row = 0; row < u.rows; row++) {
      const same = after.subarray(row * 16, row * 16 + 16).every((x, c) => x === before[row * 16 + c]);
      if (everTouched.has(row)) expect(same).toBe(false);
      else {
        expect(same).toBe(true);
        unchanged++;
      }
    }
    expect(everTouched.size).toBeGreaterThan(0);
    expect(unchanged + everTouched.size).toBe(u.rows);
  });
});
