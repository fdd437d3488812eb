import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { sparseTableBytes, runtimeExpertBytes } from "../../runtime/experts/memory.js";
import { ExpertTable } from "../../runtime/experts/sparse-table.js";
import { createPeerLayer } from "../../kinds/peer/runtime.js";
import { createPkmLayer } from "../../kinds/pkm/runtime.js";
import { context, peerSpec, pkmSpec, randomArray, seededRng, useWasm } from "./experts-fixtures.js";

beforeAll(useWasm);

function table(rows: number, cols: number, seed = 1): ExpertTable {
  const rng = seededRng(seed);
  return new ExpertTable("t", rows, cols, (t) => t.set(randomArray(t.length, rng)));
}

describe("ExpertTable.gather", () => {
  it("copies rows and accumulates duplicate-row gradients through the anchor (default variable list)", () => {
    const t = table(5, 3);
    const ids = tf.tensor1d([2, 0, 2], "int32");
    const weights = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9], [3, 3]);
    const rows = t.gather(ids);
    expect(Array.from(rows.dataSync())).toEqual([...t.table.subarray(6, 9), ...t.table.subarray(0, 3), ...t.table.subarray(6, 9)]);
    tf.variableGrads(() => tf.sum(tf.mul(t.gather(ids), weights)) as tf.Scalar);
    expect(t.touchedRows).toBe(2);
    expect(Array.from(t.rowGradient(2)!)).toEqual([1 + 7, 2 + 8, 3 + 9]);
    expect(Array.from(t.rowGradient(0)!)).toEqual([4, 5, 6]);
    expect(t.rowGradient(1)).toBeNull();
    // A second backward adds to the pending gradients (gradient accumulation).
    tf.variableGrads(() => tf.sum(tf.mul(t.gather(ids), weights)) as tf.Scalar, [t.anchor]);
    expect(Array.from(t.rowGradient(0)!)).toEqual([8, 10, 12]);
    expect(t.gradSquaredNorm()).toBeCloseTo(16 ** 2 + 20 ** 2 + 24 ** 2 + 8 ** 2 + 10 ** 2 + 12 ** 2, 3);
    t.scaleGrads(0.5);
    expect(Array.from(t.rowGradient(0)!)).toEqual([4, 5, 6]);
    t.zeroGrads();
    expect(t.touchedRows).toBe(0);
    expect(t.rowGradient(0)).toBeNull();
  });

  it("says which table did not fit when its arrays cannot be allocated", () => {
    expect(() => new ExpertTable("blocks.6.peer.experts.u", 2 ** 20, 2 ** 20, () => undefined)).toThrow(
      /blocks\.6\.peer\.experts\.u: cannot allocate 4096\.00 GiB for a \[1048576, 1048576\] expert table/,
    );
  });

  it("rejects out-of-range ids with the table name", () => {
    const t = table(4, 2);
    expect(() => t.gather(tf.tensor1d([1, 4], "int32"))).toThrow(/t: row id 4 out of range \[0, 4\)/);
  });
});

describe("ExpertTable lazy AdamW", () => {
  it("decays a row skipped for s steps by (1 − lr·wd)^(s+1) at its next update", () => {
    const t = table(3, 2, 5);
    const before = t.table.slice();
    const config = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.5 };
    const grad = new Int32Array([0]);
    // Step 1: row 0 gets gradient g.
    let off = t.reserveGradRows(grad);
    t.gradients[off[0]] = 1;
    t.gradients[off[0] + 1] = -2;
    t.step({ ...config, step: 1 });
    const afterFirst = t.table.slice();
    // Row 0: decay once, then Adam's first step moves it by −lr·sign(g) (m̂/√v̂ = ±1).
    expect(afterFirst[0]).toBeCloseTo(before[0] * 0.95 - 0.1, 5);
    expect(afterFirst[1]).toBeCloseTo(before[1] * 0.95 + 0.1, 5);
    // Steps 2–4 touch only row 1; row 0 stays exactly as it was.
    for (let step = 2; step <= 4; step++) {
      off = t.reserveGradRows(new Int32Array([1]));
      t.gradients[off[0]] = 0.5;
      t.step({ ...config, step });
    }
    expect(t.table.subarray(0, 2)).toEqual(afterFirst.subarray(0, 2));
    expect(t.table.subarray(4, 6)).toEqual(before.subarray(4, 6));
    // Step 5: row 0 again with zero gradient: three skipped steps plus this one.
    off = t.reserveGradRows(grad);
    t.step({ ...config, step: 5 });
    const m = [0.9 * 0.1 * 1, 0.9 * 0.1 * -2];
    const v = [0.999 * 0.001 * 1, 0.999 * 0.001 * 4];
    for (let c = 0; c < 2; c++) {
      const update = (0.1 * (m[c] / (1 - 0.9 ** 5))) / (Math.sqrt(v[c] / (1 - 0.999 ** 5)) + 1e-8);
      expect(t.table[c]).toBeCloseTo(afterFirst[c] * 0.95 ** 4 - update, 5);
    }
    expect(Array.from(t.lastStep)).toEqual([5, 4, 0]);
  });

  it("round-trips its state through state()/loadState() and rejects a wrong entry", () => {
    const a = table(4, 3, 1);
    const off = a.reserveGradRows(new Int32Array([1, 3]));
    a.gradients.fill(0.3, off[0], off[0] + 3);
    a.step({ lr: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, step: 7 });
    const b = table(4, 3, 2);
    for (const entry of a.state()) b.loadState(entry.name, entry.data);
    expect(b.table).toEqual(a.table);
    expect(b.m).toEqual(a.m);
    expect(b.v).toEqual(a.v);
    expect(Array.from(b.lastStep)).toEqual([0, 7, 0, 7]);
    expect(a.state().map((s) => s.name)).toEqual(["t", "t.adam_m", "t.adam_v", "t.last_step"]);
    expect(() => b.loadState("t.adam_m", new Float32Array(5))).toThrow(/has 5 values; expert table "t" expects 12/);
    expect(() => b.loadState("other", new Float32Array(12))).toThrow(/does not belong/);
  });
});

describe("expert-path memory accounting", () => {
  it("the runtime's bytes agree with the static estimate within 10% after a step", () => {
    const spec = peerSpec({ subKeys: 64, heads: 4, topk: 8, subTopk: 8, dModel: 16, keyDim: 8 });
    const layer = createPeerLayer(spec, { rng: seededRng(3), dModel: 16 });
    const tokens = 64;
    const x = tf.tensor2d(randomArray(tokens * 16, seededRng(4)), [tokens, 16]);
    tf.variableGrads(() => tf.sum(layer.apply(x, context(true, 1, tokens))) as tf.Scalar, [layer.variables[0].variable]);
    const live = runtimeExpertBytes(layer);
    const predicted = sparseTableBytes(spec, tokens);
    expect(Math.abs(live - predicted) / predicted).toBeLessThan(0.1);
    // Tables, m and v dominate: 3 × 2 tables × N × d × 4 bytes.
    expect(live).toBeGreaterThanOrEqual(3 * 2 * spec.experts * 16 * 4);
  });

  it("PKM counts one value table", () => {
    const spec = pkmSpec({ subKeys: 8, valueDim: 5 });
    const layer = createPkmLayer(spec, { rng: seededRng(3), dModel: 8 });
    expect(sparseTableBytes(spec)).toBe(3 * 64 * 5 * 4 + 2 * 64 * 4);
    expect(runtimeExpertBytes(layer)).toBeGreaterThanOrEqual(sparseTableBytes(spec));
  });
});
