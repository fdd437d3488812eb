import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import type { PeerLayer } from "../../ir/types.js";
import type { RoutingRecord, SparseStepConfig } from "../../runtime/layers/layer.js";
import { createPeerLayer, type PeerRuntimeLayer } from "../../kinds/peer/runtime.js";
import { context, peerSpec, randomArray, seededRng, useWasm } from "./experts-fixtures.js";

beforeAll(useWasm);

const HYPER = { lr: 0.05, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.2 };

/** Sparse path: fused kernels + ExpertTable lazy AdamW. Query net frozen so routing is the tables' only input. */
function sparseStep(layer: PeerRuntimeLayer, x: tf.Tensor2D, r: tf.Tensor2D, step: number): RoutingRecord {
  const records: RoutingRecord[] = [];
  const tokens = x.shape[0];
  tf.tidy(() => {
    tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x, context(true, 1, tokens, records)), r)) as tf.Scalar, [layer.variables[0].variable]);
  });
  const config: SparseStepConfig = { ...HYPER, step };
  layer.down.step(config);
  layer.up.step(config);
  return records[0];
}

/** Dense reference: tf.gather of tfjs Variable tables, tfjs autodiff, AdamW written out over every row. */
class DenseReference {
  readonly U: tf.Variable;
  readonly V: tf.Variable;
  private readonly m = new Map<tf.Variable, Float32Array>();
  private readonly v = new Map<tf.Variable, Float32Array>();
  private readonly last = new Map<tf.Variable, Int32Array>();
  constructor(u: Float32Array, v: Float32Array, readonly rows: number, readonly d: number, readonly lazy: boolean) {
    this.U = tf.variable(tf.tensor2d(u.slice(), [rows, d]));
    this.V = tf.variable(tf.tensor2d(v.slice(), [rows, d]));
    for (const t of [this.U, this.V]) {
      this.m.set(t, new Float32Array(rows * d));
      this.v.set(t, new Float32Array(rows * d));
      this.last.set(t, new Int32Array(rows));
    }
  }

  step(x: tf.Tensor2D, r: tf.Tensor2D, record: RoutingRecord, slots: number, step: number): void {
    const tokens = x.shape[0];
    const { d } = this;
    const { grads } = tf.variableGrads(() => {
      const ids = tf.tensor1d(record.ids, "int32");
      const g = tf.tensor2d(record.weights, [tokens, slots]);
      const u = tf.reshape(tf.gather(this.U, ids), [tokens, slots, d]);
      const v = tf.reshape(tf.gather(this.V, ids), [tokens, slots, d]);
      const z = tf.sigmoid(tf.sum(tf.mul(u, tf.expandDims(x, 1)), 2));
      const out = tf.sum(tf.mul(v, tf.expandDims(tf.mul(g, z), 2)), 1);
      return tf.sum(tf.mul(out, r)) as tf.Scalar;
    }, [this.U, this.V]);
    const touched = new Set(record.ids);
    for (const t of [this.U, this.V]) {
      const grad = grads[t.name].dataSync();
      const w = t.dataSync().slice() as Float32Array;
      const m = this.m.get(t)!;
      const v = this.v.get(t)!;
      const last = this.last.get(t)!;
      const { lr, beta1, beta2, eps, weightDecay } = HYPER;
      for (let row = 0; row < this.rows; row++) {
        if (this.lazy && !touched.has(row)) continue;
        // Standard AdamW: decay every step. Lazy: the steps missed since the last update are caught up now.
        const decaySteps = this.lazy ? step - last[row] : 1;
        last[row] = step;
        for (let c = 0; c < d; c++) {
          const i = row * d + c;
          m[i] = beta1 * m[i] + (1 - beta1) * grad[i];
          v[i] = beta2 * v[i] + (1 - beta2) * grad[i] * grad[i];
          const mHat = m[i] / (1 - beta1 ** step);
          const vHat = v[i] / (1 - beta2 ** step);
          w[i] = w[i] * (1 - lr * weightDecay) ** decaySteps - (lr * mHat) / (Math.sqrt(vHat) + eps);
        }
      }
      t.assign(tf.tensor2d(w, [this.rows, d]));
      grads[t.name].dispose();
    }
  }
}

function runBoth(spec: PeerLayer, tokens: number, steps: number, lazy: boolean) {
  const layer = createPeerLayer(spec, { rng: seededRng(71), dModel: spec.dModel });
  const initialU = layer.down.table.slice();
  const initialV = layer.up.table.slice();
  const dense = new DenseReference(initialU, initialV, spec.experts, spec.dModel, lazy);
  const rng = seededRng(72);
  const everTouched = new Set<number>();
  const perStep: { record: RoutingRecord; touchedU: number[] }[] = [];
  for (let step = 1; step <= steps; step++) {
    const x = tf.tensor2d(randomArray(tokens * spec.dModel, rng), [tokens, spec.dModel]);
    const r = tf.tensor2d(randomArray(tokens * spec.dModel, rng), [tokens, spec.dModel]);
    // The touched rows are read before step() clears them.
    const records: RoutingRecord[] = [];
    tf.tidy(() => {
      tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x, context(true, 1, tokens, records)), r)) as tf.Scalar, [layer.variables[0].variable]);
    });
    const touchedU = Array.from(layer.down.touchedRowIds()).sort((a, b) => a - b);
    const config: SparseStepConfig = { ...HYPER, step };
    layer.down.step(config);
    layer.up.step(config);
    dense.step(x, r, records[0], spec.heads * spec.topk, step);
    for (const id of records[0].ids) everTouched.add(id);
    perStep.push({ record: records[0], touchedU });
    x.dispose();
    r.dispose();
  }
  return { layer, dense, initialU, initialV, everTouched, perStep };
}

describe("sparse expert training against a dense reference", () => {
  it("lazy AdamW equals standard dense AdamW when every row is retrieved every step", () => {
    const spec = peerSpec({ subKeys: 2, heads: 1, topk: 4, subTopk: 2, dModel: 5, act: "sigmoid" });
    const { layer, dense } = runBoth(spec, 3, 4, false);
    expectClose(layer.down.table, dense.U.dataSync() as Float32Array);
    expectClose(layer.up.table, dense.V.dataSync() as Float32Array);
  });

  it("with partial retrieval: equals dense gradients + AdamW masked to retrieved rows with decay catch-up", () => {
    const spec = peerSpec({ subKeys: 5, heads: 2, topk: 2, subTopk: 2, dModel: 6, act: "sigmoid" });
    const { layer, dense, initialU, initialV, everTouched, perStep } = runBoth(spec, 2, 5, true);
    expectClose(layer.down.table, dense.U.dataSync() as Float32Array);
    expectClose(layer.up.table, dense.V.dataSync() as Float32Array);
    // Only retrieved rows got gradient, every step.
    for (const { record, touchedU } of perStep) expect(touchedU).toEqual([...new Set(record.ids)].sort((a, b) => a - b));
    // The setting leaves some rows untouched and some skipped for a while (so the catch-up is exercised).
    expect(everTouched.size).toBeLessThan(spec.experts);
    const touchedTwiceWithGap = [...everTouched].some((id) => {
      const steps = perStep.map((s, i) => (s.record.ids.includes(id) ? i : -1)).filter((i) => i >= 0);
      return steps.length >= 2 && steps.some((s, i) => i > 0 && s - steps[i - 1] > 1);
    });
    expect(touchedTwiceWithGap).toBe(true);
    // Rows never retrieved are bit-identical to their initial values.
    const d = spec.dModel;
    for (let row = 0; row < spec.experts; row++) {
      if (everTouched.has(row)) continue;
      expect(layer.down.table.subarray(row * d, (row + 1) * d)).toEqual(initialU.subarray(row * d, (row + 1) * d));
      expect(layer.up.table.subarray(row * d, (row + 1) * d)).toEqual(initialV.subarray(row * d, (row + 1) * d));
      expect(layer.down.lastStep[row]).toBe(0);
    }
  });

  it("sparseStep: after settleDecay every untouched row carries exactly (1 − lr·wd)^steps", () => {
    const spec = peerSpec({ subKeys: 5, heads: 1, topk: 1, subTopk: 1, dModel: 4, act: "sigmoid" });
    const layer = createPeerLayer(spec, { rng: seededRng(81), dModel: 4 });
    const initial = layer.down.table.slice();
    const rng = seededRng(82);
    const touched = new Set<number>();
    for (let step = 1; step <= 3; step++) {
      const x = tf.tensor2d(randomArray(2 * 4, rng), [2, 4]);
      const r = tf.tensor2d(randomArray(2 * 4, rng), [2, 4]);
      for (const id of sparseStep(layer, x, r, step).ids) touched.add(id);
    }
    layer.down.settleDecay(3, HYPER.lr, HYPER.weightDecay);
    const factor = (1 - HYPER.lr * HYPER.weightDecay) ** 3;
    let checked = 0;
    for (let row = 0; row < spec.experts; row++) {
      if (touched.has(row)) continue;
      for (let c = 0; c < 4; c++) expect(layer.down.table[row * 4 + c]).toBeCloseTo(initial[row * 4 + c] * factor, 6);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});

function expectClose(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  expect(worst).toBeLessThan(1e-5);
}
