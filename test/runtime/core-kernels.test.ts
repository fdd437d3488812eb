/**
 * The kernel and gradient patches of runtime/backend against plain JS
 * references, on wasm (the training backend here) and on cpu.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { describeBackend, selectBackend } from "../../runtime/backend/select.js";
import { registerRuntimeKernels } from "../../runtime/backend/kernels/index.js";
import { missingLibrary, explainLoadError } from "../../runtime/backend/probe.js";
import { detach } from "../../runtime/layers/ops.js";

/** Deterministic pseudo-random values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function strides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) st[i] = st[i + 1]! * shape[i + 1]!;
  return st;
}

/** Reference gather by index arithmetic over every output element. */
function gatherReference(x: ArrayLike<number>, xShape: number[], ids: ArrayLike<number>, idShape: number[], axis: number, batchDims: number): number[] {
  const outShape = [...xShape.slice(0, axis), ...idShape.slice(batchDims), ...xShape.slice(axis + 1)];
  const size = outShape.reduce((a, b) => a * b, 1);
  const outSt = strides(outShape), xSt = strides(xShape), idSt = strides(idShape);
  const idRest = idShape.length - batchDims;
  const out: number[] = [];
  for (let flat = 0; flat < size; flat++) {
    const coord = outShape.map((_, i) => Math.floor(flat / outSt[i]!) % outShape[i]!);
    const idCoord = [...coord.slice(0, batchDims), ...coord.slice(axis, axis + idRest)];
    const id = ids[idCoord.reduce((acc, c, i) => acc + c * idSt[i]!, 0)]!;
    const xCoord = [...coord.slice(0, axis), id, ...coord.slice(axis + idRest)];
    out.push(x[xCoord.reduce((acc, c, i) => acc + c * xSt[i]!, 0)]!);
  }
  return out;
}

function matMulReference(a: Float32Array, b: Float32Array, batch: number, m: number, k: number, n: number, ta: boolean, tb: boolean, bBatched: boolean): Float32Array {
  const out = new Float32Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    const ao = p * m * k, bo = bBatched ? p * k * n : 0;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += a[ao + (ta ? q * m + i : i * k + q)]! * b[bo + (tb ? j * k + q : q * n + j)]!;
      out[p * m * n + i * n + j] = s;
    }
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

const GATHER_CASES: { name: string; xShape: number[]; idShape: number[]; axis: number; batchDims: number; range: number }[] = [
  { name: "rows (axis 0)", xShape: [7, 5], idShape: [9], axis: 0, batchDims: 0, range: 7 },
  { name: "axis 1 of a 3-D tensor", xShape: [3, 6, 4], idShape: [2, 5], axis: 1, batchDims: 0, range: 6 },
  { name: "batchDims 1 (crashes the stock wasm kernel on float32)", xShape: [3, 6, 4], idShape: [3, 5], axis: 1, batchDims: 1, range: 6 },
  { name: "batchDims 2", xShape: [2, 3, 8, 2], idShape: [2, 3, 4], axis: 2, batchDims: 2, range: 8 },
  { name: "last axis (inner 1)", xShape: [4, 10], idShape: [4, 3], axis: 1, batchDims: 1, range: 10 },
];

for (const backend of ["wasm", "cpu"] as const) {
  describe(`patched kernels on ${backend}`, () => {
    beforeAll(async () => {
      await selectBackend(backend);
      expect(tf.getBackend()).toBe(backend);
    });

    for (const c of GATHER_CASES) {
      for (const dtype of ["float32", "int32"] as const) {
        it(`GatherV2 ${c.name}, ${dtype}`, () => {
          const size = c.xShape.reduce((a, b) => a * b, 1);
          const raw = values(size, 7);
          const xv = dtype === "int32" ? Int32Array.from(raw, (v) => Math.round(v * 1000)) : raw;
          const idv = Int32Array.from(values(c.idShape.reduce((a, b) => a * b, 1), 3), (v) => Math.floor((v + 1) / 2 * c.range));
          const got = tf.tidy(() => tf.gather(tf.tensor(xv, c.xShape, dtype), tf.tensor(idv, c.idShape, "int32"), c.axis, c.batchDims).dataSync());
          expect(maxAbsDiff(got, gatherReference(xv, c.xShape, idv, c.idShape, c.axis, c.batchDims))).toBe(0);
        });
      }
    }

    it("GatherV2 rejects an out-of-range index with a message", () => {
      expect(() => tf.tidy(() => tf.gather(tf.zeros([4, 2]), tf.tensor1d([1, 4], "int32")))).toThrow(/index 4 is not in \[0, 3\]/);
    });

    it("UnsortedSegmentSum equals a JS loop and drops negative ids", () => {
      const x = values(12 * 5, 11);
      const ids = Int32Array.from([0, 3, 3, 1, -1, 0, 2, 3, 3, 0, 1, 2]);
      const got = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor2d(x, [12, 5]), tf.tensor1d(ids, "int32"), 4).dataSync());
      const want = new Float32Array(4 * 5);
      ids.forEach((s, i) => { if (s >= 0) for (let j = 0; j < 5; j++) want[s * 5 + j] += x[i * 5 + j]!; });
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-6);
    });

    it("the gather gradient (segment sum) accumulates repeated rows", () => {
      const table = tf.variable(tf.tensor2d(values(6 * 3, 5), [6, 3]));
      const ids = tf.tensor1d([5, 0, 5, 2, 5], "int32");
      const weights = tf.tensor2d(values(5 * 3, 9), [5, 3]);
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.gather(table, ids), weights)), [table]);
      const got = grads[table.name]!.dataSync();
      const w = weights.dataSync();
      const want = new Float32Array(18);
      [5, 0, 5, 2, 5].forEach((row, i) => { for (let j = 0; j < 3; j++) want[row * 3 + j] += w[i * 3 + j]!; });
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-6);
      tf.dispose([table, ids, weights, ...Object.values(grads)]);
    });

    const MATMUL_CASES = [
      { batch: 1, m: 9, k: 7, n: 5, ta: false, tb: false, bBatched: false },
      { batch: 1, m: 9, k: 7, n: 5, ta: true, tb: false, bBatched: false },
      { batch: 1, m: 9, k: 7, n: 5, ta: false, tb: true, bBatched: false },
      { batch: 1, m: 9, k: 7, n: 5, ta: true, tb: true, bBatched: false },
      { batch: 4, m: 6, k: 3, n: 5, ta: false, tb: false, bBatched: false },
      { batch: 4, m: 6, k: 3, n: 5, ta: false, tb: true, bBatched: true },
      { batch: 3, m: 6, k: 4, n: 2, ta: true, tb: false, bBatched: true },
    ];
    for (const c of MATMUL_CASES) {
      it(`BatchMatMul batch ${c.batch}${c.bBatched ? "×" + c.batch : "×1"} transposeA=${c.ta} transposeB=${c.tb}`, () => {
        const a = values(c.batch * c.m * c.k, 21);
        const b = values((c.bBatched ? c.batch : 1) * c.k * c.n, 22);
        const aShape = c.ta ? [c.k, c.m] : [c.m, c.k];
        const bShape = c.tb ? [c.n, c.k] : [c.k, c.n];
        const got = tf.tidy(() => {
          const at = tf.tensor(a, c.batch > 1 ? [c.batch, ...aShape] : aShape);
          const bt = tf.tensor(b, c.bBatched ? [c.batch, ...bShape] : bShape);
          return tf.matMul(at, bt, c.ta, c.tb).dataSync();
        });
        expect(maxAbsDiff(got, matMulReference(a, b, c.batch, c.m, c.k, c.n, c.ta, c.tb, c.bBatched))).toBeLessThan(1e-5);
      });
    }

    it("Sum and Mean gradients broadcast dy over the reduced axes", () => {
      const x = tf.tensor3d(values(2 * 3 * 4, 4), [2, 3, 4]);
      const dy = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]);
      const gSum = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.sum(t, 1), dy)))(x).arraySync() as number[][][];
      const gMean = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mean(t, 1), dy)))(x).arraySync() as number[][][];
      for (let b = 0; b < 2; b++) for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) {
        expect(gSum[b]![r]![c]).toBe(b * 4 + c + 1);
        expect(gMean[b]![r]![c]).toBeCloseTo((b * 4 + c + 1) / 3, 6);
      }
      tf.dispose([x, dy]);
    });

    it("detach shares memory but stops the gradient", () => {
      const x = tf.variable(tf.tensor1d([1, 2, 3]));
      const { grads } = tf.variableGrads(() => tf.sum(tf.add(tf.mul(x, x), tf.mul(detach(x.clone()), 10))), [x]);
      expect(Array.from(grads[x.name]!.dataSync())).toEqual([2, 4, 6]);
      const ids = tf.tensor1d([4, 5], "int32");
      const alias = detach(ids);
      ids.dispose();
      expect(Array.from(alias.dataSync())).toEqual([4, 5]); // the alias holds its own reference
      tf.dispose([x, alias, ...Object.values(grads)]);
    });

    it("registering twice is harmless", () => {
      registerRuntimeKernels(backend);
      expect(tf.tidy(() => Array.from(tf.gather(tf.tensor1d([1, 2, 3]), tf.tensor1d([2], "int32")).dataSync()))).toEqual([3]);
    });
  });
}

describe("backend selection", () => {
  it("auto says why the native backends were not used and runs on wasm", async () => {
    const report = await selectBackend("auto");
    expect(report.choice).toBe("wasm");
    // webgpu is tried between them and used only on a hardware adapter (test/webgpu/backend.test.ts).
    expect(report.reasons.map((r) => r.backend)).toEqual(["node-gpu", "webgpu", "node"]);
    expect(report.reasons[0]!.why).toMatch(/not installed/);
    expect(describeBackend(report)).toMatch(/^backend: wasm .*not used: node-gpu: not installed/);
  });

  it("an explicit request for a missing backend fails with the reason", async () => {
    await expect(selectBackend("node-gpu")).rejects.toThrow(/backend node-gpu is not available: not installed/);
  });

  it("names the missing native library from a loader message", () => {
    const message = "Could not load dynamic library 'libcudart.so.11.0'; dlerror: libcudart.so.11.0: cannot open shared object file";
    expect(missingLibrary(message)).toBe("libcudart.so.11.0");
    expect(explainLoadError("@tensorflow/tfjs-node-gpu", new Error(message))).toMatch(/libcudart\.so\.11\.0 could not be loaded/);
    expect(missingLibrary("libtensorflow.so.2: cannot open shared object file")).toBe("libtensorflow.so.2");
    expect(missingLibrary("something else")).toBeNull();
  });
});
