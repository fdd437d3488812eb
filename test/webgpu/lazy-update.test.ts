/**
 * Device expert tables (DeviceTable, kinds/product-keys/device.ts) updated by
 * the trainer's AdamW with the host tables' lazy semantics
 * (runtime/experts/lazy-adamw.ts): only rows a backward retrieved move, with
 * the weight decay they owe since their last update; other rows and their
 * moments stay exactly as they were. Runs as tf ops on the cpu backend (the
 * same ops every device backend runs) and, where an adapter exists, on webgpu.
 */
import * as tf from "@tensorflow/tfjs";
import { afterAll, describe, expect, it } from "vitest";
import { DeviceTable, markRetrievedOnBackward } from "../../kinds/product-keys/device.js";
import { selectBackend } from "../../runtime/backend/select.js";
import { shutdownWebGpu } from "../../runtime/backend/webgpu.js";
import { Rng } from "../../runtime/data/rng.js";
import { lazyAdamwRows } from "../../runtime/experts/lazy-adamw.js";
import { AdamW } from "../../runtime/train/adamw.js";
import { noAdapter, skipNote } from "./adapter.js";

const ROWS = 12;
const COLS = 4;
const ADAM = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, decayAll: true };
const LR = 3e-3;
const TABLE_LR = 5e-2;
/** Retrieved ids per step; row 5 at step 2 has a zero coefficient (retrieved, zero gradient). */
const STEPS: { ids: number[]; coef: number[] }[] = [
  { ids: [1, 3, 3, 7], coef: [0.5, -1, 0.25, 2] },
  { ids: [3, 5, 10], coef: [1.5, 0, -0.75] },
  { ids: [1, 9, 11, 11], coef: [-0.5, 1, 1, -2] },
  { ids: [7], coef: [1] },
];

function initialValues(): Float32Array {
  const r = Rng.fromSeed(3);
  return Float32Array.from({ length: ROWS * COLS }, () => r.nextFloat() * 2 - 1);
}

/** Loss Σ coef_s · (row_{id_s} · w): the row gradient of id r is Σ_{s: id_s = r} coef_s · w. */
const W = Float32Array.from([0.3, -0.2, 0.9, 0.4]);

function hostRun(steps: number): { table: Float32Array; m: Float32Array; lastStep: Int32Array } {
  const state = { table: initialValues(), m: new Float32Array(ROWS * COLS), v: new Float32Array(ROWS * COLS), lastStep: new Int32Array(ROWS), cols: COLS };
  for (let t = 1; t <= steps; t++) {
    const { ids, coef } = STEPS[t - 1]!;
    const touched = Int32Array.from(new Set(ids)).sort();
    const grad = new Float32Array(touched.length * COLS);
    ids.forEach((id, s) => {
      const slot = touched.indexOf(id);
      for (let j = 0; j < COLS; j++) grad[slot * COLS + j] += coef[s]! * W[j]!;
    });
    lazyAdamwRows(state, touched, touched.length, grad, { lr: TABLE_LR, beta1: ADAM.beta1, beta2: ADAM.beta2, eps: ADAM.eps, weightDecay: ADAM.weightDecay, step: t });
  }
  return state;
}

async function deviceRun(steps: number, maxShardBytes: number): Promise<{ table: Float32Array; m: Float32Array; lastStep: Float32Array; perStep: Float32Array[] }> {
  const table = new DeviceTable("blocks.0.mix.peer.experts.u", ROWS, COLS, initialValues(), maxShardBytes);
  const optimizer = new AdamW(table.named, [], ADAM);
  const w = tf.tensor1d(W);
  const perStep: Float32Array[] = [];
  try {
    for (let t = 1; t <= steps; t++) {
      const { ids, coef } = STEPS[t - 1]!;
      const idT = tf.tensor1d(ids, "int32");
      const coefT = tf.tensor2d(coef, [coef.length, 1]);
      const { grads } = tf.variableGrads(() => {
        const out = markRetrievedOnBackward(tf.mul(table.gather(idT), coefT), idT, [table]);
        return tf.sum(tf.mul(out, w)) as tf.Scalar;
      }, table.shards);
      const byName = new Map(table.named.map((n) => [n.name, grads[n.variable.name]!]));
      // A forward-only pass (evaluation, BatchNorm statistics) marks nothing.
      tf.dispose(tf.tidy(() => markRetrievedOnBackward(table.gather(tf.tensor1d([0, 2], "int32")), tf.tensor1d([0, 2], "int32"), [table])));
      optimizer.apply(byName, LR, TABLE_LR);
      for (const mask of table.masks) expect(Array.from(await mask.data())).toEqual(new Array(mask.shape[0]).fill(0));
      tf.dispose([idT, coefT, ...Object.values(grads)]);
      perStep.push(await table.read());
    }
    const state = new Map(optimizer.state().map((s) => [s.name, s.tensor]));
    const join = async (suffix: string) => {
      const parts = await Promise.all(table.named.map(async (n) => (await state.get(`${n.name}.${suffix}`)!.data()) as Float32Array));
      return Float32Array.from(parts.flatMap((p) => Array.from(p)));
    };
    return { table: await table.read(), m: await join("adam_m"), lastStep: await join("last_step"), perStep };
  } finally {
    optimizer.dispose();
    table.dispose();
    w.dispose();
  }
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

function checks(backend: () => Promise<void>) {
  for (const [label, shardRows] of [["one shard", ROWS], ["3 shards of 5, 5, 2 rows", 5]] as const) {
    it(`${label}: equals the host lazy AdamW; rows not retrieved keep their exact values`, async () => {
      await backend();
      const got = await deviceRun(STEPS.length, shardRows * COLS * 4);
      const want = hostRun(STEPS.length);
      expect(maxDiff(got.table, want.table)).toBeLessThan(1e-6);
      expect(maxDiff(got.m, want.m)).toBeLessThan(1e-7);
      expect(Array.from(got.lastStep)).toEqual(Array.from(want.lastStep));
      // Step by step: a row moves exactly when that step retrieved it (row 5 at step 2 too, with a zero gradient).
      let previous = initialValues();
      got.perStep.forEach((values, i) => {
        const retrieved = new Set(STEPS[i]!.ids);
        for (let row = 0; row < ROWS; row++) {
          const before = Array.from(previous.subarray(row * COLS, (row + 1) * COLS));
          const after = Array.from(values.subarray(row * COLS, (row + 1) * COLS));
          if (retrieved.has(row)) expect(after, `step ${i + 1} row ${row}`).not.toEqual(before);
          else expect(after, `step ${i + 1} row ${row}`).toEqual(before);
        }
        previous = values;
      });
      // Rows never retrieved (0, 2, 4, 6, 8) still hold their initial values: no decay until retrieved.
      for (const row of [0, 2, 4, 6, 8]) expect(Array.from(got.table.subarray(row * COLS, (row + 1) * COLS))).toEqual(Array.from(initialValues().subarray(row * COLS, (row + 1) * COLS)));
    });
  }
}

describe("device tables: lazy AdamW as tf ops (cpu backend)", () => {
  checks(async () => {
    await tf.setBackend("cpu");
  });
});

describe.skipIf(noAdapter !== null)(`device tables: lazy AdamW on webgpu${skipNote}`, () => {
  afterAll(() => shutdownWebGpu());
  checks(async () => {
    await selectBackend("webgpu");
  });
});
