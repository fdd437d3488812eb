/**
 * The fused backward's row gradients (kinds/peer/wgsl-rows.ts): slots sorted by
 * row, per-row starts, one summing kernel. Against tf.unsortedSegmentSum of
 * coef ⊗ y (the reference), over shards, with a hot row and untouched rows;
 * bitwise repeatable; and without the [T·h·k, d] operand the reference needs.
 */
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fusedPeerExperts, slotsByRow } from "../../kinds/peer/device-kernels.js";
import { peerExpertMath } from "../../kinds/peer/device.js";
import { rowGradKernel, rowStartsKernel } from "../../kinds/peer/wgsl-rows.js";
import { selectBackend } from "../../runtime/backend/select.js";
import { shutdownWebGpu } from "../../runtime/backend/webgpu.js";
import { Rng } from "../../runtime/data/rng.js";
import { noAdapter, skipNote } from "./adapter.js";

const uniform = (seed: number, n: number, scale = 1) => {
  const r = Rng.fromSeed(seed);
  return Float32Array.from({ length: n }, () => (r.nextFloat() * 2 - 1) * scale);
};
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe("row-gradient WGSL generator (no device needed)", () => {
  it("puts the constants into the source and keys, and is deterministic", () => {
    const shape = { subKeys: 32, subTopk: 8, topk: 16, heads: 4, keyDim: 64, dModel: 48 };
    expect(rowGradKernel(shape).key).toBe("peerc_rowgrad_s64_d48");
    expect(rowGradKernel(shape).source).toContain("const SLOTS: i32 = 64;");
    expect(rowGradKernel(shape).source).toBe(rowGradKernel({ ...shape }).source);
    expect(rowStartsKernel(0).key).toBe("peerc_rowstarts");
    expect(rowStartsKernel(4096).key).toBe("peerc_rowstarts_o4096");
    expect(rowStartsKernel(4096).source).toContain("const OFFSET: i32 = 4096;");
    expect(() => rowStartsKernel(-1)).toThrow(/non-negative integer/);
  });
});

describe.skipIf(noAdapter !== null)(`row-gradient kernels on webgpu vs tf.unsortedSegmentSum${skipNote}`, () => {
  beforeAll(async () => {
    await selectBackend("webgpu");
  });
  afterAll(() => shutdownWebGpu());

  const tokens = 24;
  const d = 8;
  const heads = 2;
  const topk = 3;
  const slots = heads * topk;
  const rows = 25;
  const shape = { subKeys: 5, subTopk: 3, topk, heads, keyDim: 4, dModel: d };
  // A third of the slots on row 7 (a hot row), the rest on rows 12-19 and 24; rows 0-6, 8-11, 20-23 untouched.
  const r = Rng.fromSeed(21);
  const idList = Int32Array.from({ length: tokens * slots }, (_, i) => (i % 3 === 0 ? 7 : i % 7 === 0 ? 24 : 12 + Math.floor(r.nextFloat() * 8)));
  const touched = new Set(idList);

  it("slots sorted by row: ids ascending, equal ids in ascending slot order", async () => {
    const { sortedIds, order } = slotsByRow(tf.tensor1d(idList, "int32"), rows);
    const want = Array.from(idList.keys()).sort((a, b) => idList[a]! - idList[b]! || a - b);
    expect(Array.from(await order.data())).toEqual(want);
    expect(Array.from(await sortedIds.data())).toEqual(want.map((s) => idList[s]!));
  });

  for (const rowsPerShard of [25, 10, 16]) {
    it(`table gradients in ${Math.ceil(rows / rowsPerShard)} shard(s) of ≤ ${rowsPerShard} rows = the segment-sum reference; untouched rows exactly 0; repeatable bit for bit`, async () => {
      const ids = tf.tensor1d(idList, "int32");
      const x = tf.tensor2d(uniform(1, tokens * d), [tokens, d]);
      const gates = tf.tensor2d(uniform(2, tokens * slots), [tokens, slots]);
      const dy = tf.tensor2d(uniform(3, tokens * d), [tokens, d]);
      const whole = [4, 5].map((seed) => tf.tensor2d(uniform(seed, rows * d, 0.5), [rows, d]));
      const starts = Array.from({ length: Math.ceil(rows / rowsPerShard) }, (_, s) => s * rowsPerShard);
      const split = (t: tf.Tensor2D) => starts.map((s) => tf.slice(t, [s, 0], [Math.min(rowsPerShard, rows - s), d]) as tf.Tensor2D);
      const [uShards, vShards] = whole.map(split) as [tf.Tensor2D[], tf.Tensor2D[]];
      const n = uShards.length;
      const loss = (...t: tf.Tensor[]) =>
        tf.sum(tf.mul(fusedPeerExperts(x, gates, ids, { shards: t.slice(0, n) as tf.Tensor2D[], rowsPerShard }, { shards: t.slice(n) as tf.Tensor2D[], rowsPerShard }, null, "gelu", shape), dy));
      const grads = async () => Promise.all(tf.grads(loss)([...uShards, ...vShards]).map(async (g) => (await g.data()) as Float32Array));
      const got = await grads();
      const again = await grads();
      // Reference: the tf-ops path, whose tf.gather gradient is tf.unsortedSegmentSum over the whole table.
      const ops = (uw: tf.Tensor, vw: tf.Tensor) => tf.sum(tf.mul(peerExpertMath(x, gates, tf.gather(uw, ids) as tf.Tensor2D, tf.gather(vw, ids) as tf.Tensor2D, null, "gelu"), dy));
      const [wantU, wantV] = await Promise.all(tf.grads(ops)(whole).map(async (g) => (await g.data()) as Float32Array));
      const joined = (parts: Float32Array[]) => Float32Array.from(parts.flatMap((p) => Array.from(p)));
      const gotU = joined(got.slice(0, n));
      const gotV = joined(got.slice(n));
      expect(maxDiff(gotU, wantU!), "u").toBeLessThan(2e-5);
      expect(maxDiff(gotV, wantV!), "v").toBeLessThan(2e-5);
      expect(Math.max(...gotV.subarray(7 * d, 8 * d).map(Math.abs))).toBeGreaterThan(1e-2); // the hot row
      for (let row = 0; row < rows; row++) {
        if (touched.has(row)) continue;
        for (let j = 0; j < d; j++) expect(gotU[row * d + j], `u row ${row}`).toBe(0);
      }
      got.forEach((g, i) => expect(Array.from(again[i]!), `shard input ${i}`).toEqual(Array.from(g)));
    });
  }

  it("the backward never allocates the [T·h·k, d] operand the segment-sum path needs", async () => {
    // 32 slots per token: the segment-sum operand is 32 × [T, d], the fused backward's tensors are [T, d] or [T, slots].
    const t = 256;
    const dm = 64;
    const big = { subKeys: 5, subTopk: 3, topk: 8, heads: 4, keyDim: 4, dModel: dm };
    const wide = 32;
    const r2 = Rng.fromSeed(8);
    const ids = tf.tensor1d(Int32Array.from({ length: t * wide }, () => Math.floor(r2.nextFloat() * rows)), "int32");
    const x = tf.tensor2d(uniform(9, t * dm), [t, dm]);
    const gates = tf.tensor2d(uniform(10, t * wide), [t, wide]);
    const u = tf.tensor2d(uniform(11, rows * dm, 0.5), [rows, dm]);
    const v = tf.tensor2d(uniform(12, rows * dm, 0.5), [rows, dm]);
    const operand = t * wide * dm * 4;
    // tf.profile's peakBytes counts every live tensor: measure above what is live before.
    const live = tf.memory().numBytes;
    // tf.profile reuses one record object: keep each figure before the next profile.
    const fused = (await tf.profile(async () => {
      const g = tf.grads((ui: tf.Tensor, vi: tf.Tensor) => tf.sum(fusedPeerExperts(x, gates, ids, ui as tf.Tensor2D, vi as tf.Tensor2D, null, "relu", big)))([u, v]);
      await g[0]!.data();
      tf.dispose(g);
    })).peakBytes;
    const segment = (await tf.profile(async () => {
      const g = tf.unsortedSegmentSum(tf.reshape(tf.mul(tf.expandDims(gates, 2), tf.expandDims(x, 1)), [t * wide, dm]), ids, rows);
      await g.data();
      g.dispose();
    })).peakBytes;
    expect(segment - live).toBeGreaterThanOrEqual(operand);
    expect(fused - live).toBeLessThan(operand / 2);
  });
});
