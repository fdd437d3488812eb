/**
 * The streamed lazy AdamW (one pass per row, per-row decay, folded constants,
 * grad scale, ascending-row slots, grad rows zeroed in place) against a plain
 * reference: the per-element update as it was first written.
 */
import { describe, expect, it } from "vitest";
import type { SparseStepConfig } from "../../runtime/layers/layer.js";
import { fromBf16, lazyAdamwRows, toBf16, type LazyAdamwState } from "../../runtime/experts/lazy-adamw.js";
import { ExpertTable, expertMomentPrecision, setExpertMomentPrecision } from "../../runtime/experts/sparse-table.js";
import { randomArray, seededRng } from "./experts-fixtures.js";

/** Reference: the original element-wise lazy AdamW, scale applied to the gradient first. */
function referenceRows(state: LazyAdamwState, touched: Int32Array, count: number, grad: Float32Array, config: SparseStepConfig, scale = 1): void {
  const { table, m, v, lastStep, cols } = state;
  const { lr, beta1, beta2, eps, weightDecay, step } = config;
  const keep = 1 - lr * weightDecay;
  const c1 = 1 / (1 - Math.pow(beta1, step));
  const c2 = 1 / (1 - Math.pow(beta2, step));
  for (let s = 0; s < count; s++) {
    const row = touched[s];
    const skipped = Math.max(0, step - lastStep[row] - 1);
    const decay = weightDecay === 0 ? 1 : Math.pow(keep, skipped + 1);
    for (let c = 0; c < cols; c++) {
      const g = Math.fround(grad[s * cols + c] * scale);
      const i = row * cols + c;
      const mi = beta1 * m[i] + (1 - beta1) * g;
      const vi = beta2 * v[i] + (1 - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      table[i] = table[i] * decay - (lr * (mi * c1)) / (Math.sqrt(vi * c2) + eps);
    }
    lastStep[row] = step;
  }
}

function randomState(rows: number, cols: number, seed: number): LazyAdamwState {
  const rng = seededRng(seed);
  return {
    table: randomArray(rows * cols, rng),
    m: randomArray(rows * cols, rng, 0.1),
    v: Float32Array.from(randomArray(rows * cols, rng, 0.01), Math.abs),
    lastStep: Int32Array.from({ length: rows }, () => Math.floor(rng() * 5)),
    cols,
  };
}

function clone(s: LazyAdamwState): LazyAdamwState {
  return { table: s.table.slice(), m: s.m.slice(), v: s.v.slice(), lastStep: s.lastStep.slice(), cols: s.cols };
}

/** Distinct random rows. */
function pickRows(rows: number, count: number, rng: () => number): Int32Array {
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(Math.floor(rng() * rows));
  return Int32Array.from(chosen);
}

/** |actual − expected| ≤ 1e-6 + tol·|expected| everywhere (float32 rounding of m, v and the scaled gradient). */
function expectClose(actual: Float32Array, expected: Float32Array, tol: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1e-6 + tol * Math.abs(expected[i])));
  expect(worst).toBeLessThan(1);
}

const HYPER = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

describe("lazyAdamwRows against the element-wise reference", () => {
  for (const weightDecay of [0, 0.1]) {
    it(`matches on random rows, moments and last steps (weight decay ${weightDecay}, scale, visit order)`, () => {
      const rows = 200;
      const cols = 37;
      const rng = seededRng(11);
      const base = randomState(rows, cols, 12);
      const touched = pickRows(rows, 60, rng);
      const grad = randomArray(60 * cols, rng);
      const config = { ...HYPER, weightDecay, step: 7 };
      for (const scale of [1, 0.37]) {
        const expected = clone(base);
        referenceRows(expected, touched, 60, grad, config, scale);
        const actual = clone(base);
        // Visit the slots in reverse: order must not change the result.
        const order = Int32Array.from({ length: 60 }, (_, k) => 59 - k);
        const g = grad.slice();
        lazyAdamwRows(actual, touched, 60, g, config, { gradScale: scale, clearGrad: true, order });
        expectClose(actual.table, expected.table, 1e-5);
        expectClose(actual.m, expected.m, 1e-5);
        expectClose(actual.v, expected.v, 1e-5);
        expect(actual.lastStep).toEqual(expected.lastStep);
        expect(g.every((x) => x === 0)).toBe(true);
      }
    });
  }
});

describe("ExpertTable.step (streamed, scale deferred) against the reference", () => {
  it("follows the reference over several steps with clipping-style scales and several backward passes per step", () => {
    const rows = 300;
    const cols = 16;
    const rng = seededRng(21);
    const init = randomArray(rows * cols, seededRng(22));
    const t = new ExpertTable("t", rows, cols, (a) => a.set(init));
    const ref: LazyAdamwState = { table: init.slice(), m: new Float32Array(rows * cols), v: new Float32Array(rows * cols), lastStep: new Int32Array(rows), cols };
    for (let step = 1; step <= 6; step++) {
      // Pending gradient per row, accumulated over `passes` backward passes (with duplicate ids).
      const pending = new Map<number, Float32Array>();
      const passes = step % 2 === 0 ? 2 : 1;
      for (let p = 0; p < passes; p++) {
        const ids = Int32Array.from({ length: 50 }, () => Math.floor(rng() * rows));
        const offsets = t.reserveGradRows(ids);
        const grads = t.gradients;
        for (let n = 0; n < ids.length; n++) {
          const acc = pending.get(ids[n]) ?? new Float32Array(cols);
          pending.set(ids[n], acc);
          for (let c = 0; c < cols; c++) {
            const g = Math.fround(rng() - 0.5);
            grads[offsets[n] + c] += g;
            acc[c] = Math.fround(acc[c] + g);
          }
        }
        if (p === 0 && passes === 2) {
          // Micro-batch averaging between passes: the deferred scale must be folded in before more adds.
          t.scaleGrads(0.5);
          for (const acc of pending.values()) for (let c = 0; c < cols; c++) acc[c] = Math.fround(acc[c] * 0.5);
        }
      }
      const scale = 0.8;
      let norm = 0;
      for (const acc of pending.values()) for (const g of acc) norm += g * g;
      expect(t.gradSquaredNorm() / norm).toBeCloseTo(1, 5);
      t.scaleGrads(scale);
      expect(t.gradSquaredNorm() / (norm * scale * scale)).toBeCloseTo(1, 5);
      const someRow = pending.keys().next().value as number;
      expectClose(t.rowGradient(someRow)!, pending.get(someRow)!.map((g) => g * scale), 1e-6);
      expect(t.touchedRows).toBe(pending.size);

      const touched = Int32Array.from(pending.keys());
      const flat = new Float32Array(touched.length * cols);
      touched.forEach((row, s) => flat.set(pending.get(row)!, s * cols));
      const config = { ...HYPER, weightDecay: 0.1, step };
      referenceRows(ref, touched, touched.length, flat, config, scale);
      t.step(config);
      expect(t.touchedRows).toBe(0);
      expectClose(t.table, ref.table, 1e-5);
      expectClose(t.m, ref.m, 1e-5);
      expectClose(t.v, ref.v, 1e-5);
      expect(t.lastStep).toEqual(ref.lastStep);
    }
    // The gradient scratch is all zero again, so a fresh slot starts from zero.
    const off = t.reserveGradRows(new Int32Array([5]));
    expect(Array.from(t.gradients.subarray(off[0], off[0] + cols))).toEqual(new Array(cols).fill(0));
    expect(t.gradSquaredNorm()).toBe(0);
  });

  it("hands out one backward pass's fresh slots in ascending row order and reuses its offset scratch", () => {
    const t = new ExpertTable("t", 50, 2, () => undefined);
    const offsets = t.reserveGradRows(new Int32Array([40, 3, 17, 3, 40, 8]));
    expect(Array.from(t.touchedRowIds())).toEqual([3, 8, 17, 40]);
    // Offsets follow the ids (duplicates share a slot).
    expect(Array.from(offsets)).toEqual([6, 0, 4, 0, 6, 2]);
    const second = t.reserveGradRows(new Int32Array([1, 17]));
    expect(Array.from(second)).toEqual([8, 4]);
    expect(second.buffer).toBe(offsets.buffer);
    expect(Array.from(t.touchedRowIds())).toEqual([3, 8, 17, 40, 1]);
  });

  it("zeroGrads clears the pending gradients and the deferred scale", () => {
    const t = new ExpertTable("t", 10, 3, () => undefined);
    const off = t.reserveGradRows(new Int32Array([4]));
    t.gradients.fill(2, off[0], off[0] + 3);
    t.scaleGrads(3);
    t.zeroGrads();
    const again = t.reserveGradRows(new Int32Array([7]));
    t.gradients[again[0]] = 1;
    expect(t.gradSquaredNorm()).toBe(1);
    expect(Array.from(t.rowGradient(7)!)).toEqual([1, 0, 0]);
  });
});

describe("bf16 expert moments", () => {
  it("encodes float32 to bfloat16 with round-to-nearest-even and decodes exactly", () => {
    expect(toBf16(1)).toBe(0x3f80);
    expect(fromBf16(0x3f80)).toBe(1);
    expect(toBf16(1 + 2 ** -8)).toBe(0x3f80); // halfway: to even
    expect(toBf16(1 + 3 * 2 ** -8)).toBe(0x3f82); // halfway: to even (up)
    expect(toBf16(1 + 2 ** -8 + 2 ** -12)).toBe(0x3f81);
    expect(toBf16(-2.5)).toBe(0xc020);
    expect(fromBf16(toBf16(0.1))).toBeCloseTo(0.1, 2);
  });

  for (const rounding of ["nearest", "stochastic"] as const) {
    it(`follows the float32 lazy AdamW within bf16 precision over 6 steps (${rounding})`, () => {
      const rows = 64;
      const cols = 32;
      const init = randomArray(rows * cols, seededRng(31));
      const f32 = new ExpertTable("a", rows, cols, (a) => a.set(init));
      const b16 = new ExpertTable("b", rows, cols, (a) => a.set(init), { moments: "bf16", rounding });
      expect(b16.m).toBeInstanceOf(Uint16Array);
      const rng = seededRng(32);
      for (let step = 1; step <= 6; step++) {
        const ids = Int32Array.from({ length: 40 }, () => Math.floor(rng() * rows));
        const g = randomArray(40 * cols, rng);
        for (const t of [f32, b16]) {
          const off = t.reserveGradRows(ids);
          for (let n = 0; n < ids.length; n++) for (let c = 0; c < cols; c++) t.gradients[off[n] + c] += g[n * cols + c];
          t.step({ ...HYPER, beta2: 0.95, weightDecay: 0.1, step });
        }
      }
      // The moments agree to bf16 precision (8 significant bits), the weights' movement to a few percent.
      const m16 = b16.state().find((s) => s.name === "b.adam_m")!.data;
      let worstM = 0;
      let largestM = 0;
      let moved = 0;
      let diff = 0;
      for (let i = 0; i < rows * cols; i++) {
        worstM = Math.max(worstM, Math.abs(m16[i] - f32.m[i]));
        largestM = Math.max(largestM, Math.abs(f32.m[i]));
        moved += Math.abs(f32.table[i] - init[i]);
        diff += Math.abs(b16.table[i] - f32.table[i]);
      }
      // Rounding errors of a few ulps (2^-8 relative) of the largest moments, accumulated over the steps.
      expect(worstM / largestM).toBeLessThan(0.02);
      expect(moved).toBeGreaterThan(0);
      expect(diff / moved).toBeLessThan(0.03);
      expect(b16.lastStep).toEqual(f32.lastStep);
    });
  }

  it("stochastic rounding keeps small second-moment increments (β2 = 0.999) that round-to-nearest loses", () => {
    const cols = 4096;
    const steps = 400;
    const make = (rounding: "nearest" | "stochastic") => new ExpertTable(rounding, 1, cols, () => undefined, { moments: "bf16", rounding, seed: 3 });
    const tables = [make("nearest"), make("stochastic")];
    for (let step = 1; step <= steps; step++) {
      for (const t of tables) {
        const off = t.reserveGradRows(new Int32Array([0]));
        t.gradients.fill(1, off[0], off[0] + cols);
        t.step({ ...HYPER, weightDecay: 0, step });
      }
    }
    const exact = 1 - 0.999 ** steps; // v after `steps` steps of g = 1
    const meanV = (t: ExpertTable) => t.state()[2]!.data.reduce((a, b) => a + b, 0) / cols;
    const [nearest, stochastic] = tables.map(meanV);
    expect(Math.abs(stochastic! - exact) / exact).toBeLessThan(0.01);
    expect(Math.abs(nearest! - exact) / exact).toBeGreaterThan(0.05);
  });

  it("setExpertMomentPrecision sets the default for tables created afterwards", () => {
    expect(expertMomentPrecision()).toBe("fp32");
    try {
      setExpertMomentPrecision("bf16");
      expect(new ExpertTable("t", 4, 2, () => undefined).m).toBeInstanceOf(Uint16Array);
      expect(new ExpertTable("t", 4, 2, () => undefined, { moments: "fp32" }).m).toBeInstanceOf(Float32Array);
    } finally {
      setExpertMomentPrecision("fp32");
    }
    expect(new ExpertTable("t", 4, 2, () => undefined).m).toBeInstanceOf(Float32Array);
  });

  it("checkpoints bf16 moments as float32 values and loads them back bit-exactly; holds 4 bytes less per element", () => {
    const a = new ExpertTable("t", 8, 4, (x) => x.fill(0.5), { moments: "bf16" });
    const off = a.reserveGradRows(new Int32Array([2, 5]));
    a.gradients.fill(0.3, off[0], off[0] + 4);
    a.gradients.fill(-0.7, off[1], off[1] + 4);
    a.step({ ...HYPER, weightDecay: 0.1, step: 1 });
    const b = new ExpertTable("t", 8, 4, () => undefined, { moments: "bf16" });
    for (const entry of a.state()) b.loadState(entry.name, entry.data);
    expect(b.m).toEqual(a.m);
    expect(b.v).toEqual(a.v);
    expect(b.table).toEqual(a.table);
    const f = new ExpertTable("t", 8, 4, () => undefined);
    expect(f.bytes() - b.bytes()).toBe(2 * 8 * 4 * 2);
  });
});
