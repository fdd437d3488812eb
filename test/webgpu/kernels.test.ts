/**
 * The WGSL kernels of kinds/peer/wgsl.ts, registered as tfjs webgpu kernels
 * (kinds/peer/device-kernels.ts), against the plain-tfjs reference path and
 * the host product-key search.
 */
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Activation } from "../../ir/types.js";
import { fusedPeerExperts, kernelTopkIds } from "../../kinds/peer/device-kernels.js";
import { peerExpertMath } from "../../kinds/peer/device.js";
import { peerKernels, topkKernel } from "../../kinds/peer/wgsl.js";
import { selectBackend } from "../../runtime/backend/select.js";
import { shutdownWebGpu } from "../../runtime/backend/webgpu.js";
import { Rng } from "../../runtime/data/rng.js";
import { productKeyTopk } from "../../runtime/experts/product-keys.js";
import { noAdapter, skipNote } from "./adapter.js";

const uniform = (seed: number, n: number, scale = 1) => {
  const r = Rng.fromSeed(seed);
  return Float32Array.from({ length: n }, () => (r.nextFloat() * 2 - 1) * scale);
};
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe("WGSL generator (no device needed)", () => {
  it("specialises every constant into the source and is deterministic", () => {
    const shape = { subKeys: 32, subTopk: 8, topk: 16, heads: 4, keyDim: 64, dModel: 48 };
    const a = peerKernels(shape, "gelu", false);
    const b = peerKernels(shape, "gelu", false);
    expect(a.map((k) => k.source)).toEqual(b.map((k) => k.source));
    expect(a.map((k) => k.key)).toEqual(["peerc_topk_s32_k8_t16", "peerc_gate_gelu_s64_d48", "peerc_mix_s64_d48", "peerc_dots_s64_d48", "peerc_rowstarts", "peerc_rowgrad_s64_d48"]);
    expect(topkKernel(shape).source).toContain("const SUB_KEYS: i32 = 32;");
    expect(topkKernel(shape).source).toContain("var v1: array<f32, 8>;");
    expect(a[1]!.source).toContain("erfApprox");
    expect(peerKernels({ ...shape, dModel: 40 }, "relu", true)[1]!.source).toContain("const D: i32 = 40;");
    expect(() => topkKernel({ ...shape, subTopk: 33 })).toThrow(/sub top-k 33 exceeds 32/);
  });
});

describe.skipIf(noAdapter !== null)(`WGSL kernels on webgpu vs the reference${skipNote}`, () => {
  beforeAll(async () => {
    await selectBackend("webgpu");
  });
  afterAll(() => shutdownWebGpu());

  for (const [subKeys, subTopk, topk] of [[16, 4, 4], [32, 8, 16], [8, 3, 9]] as const) {
    it(`product-key top-k kernel = host search (√N ${subKeys}, k' ${subTopk}, k ${topk})`, async () => {
      const rows = 37;
      const s1 = uniform(subKeys + 1, rows * subKeys);
      const s2 = uniform(subKeys + 2, rows * subKeys);
      const host = productKeyTopk(s1, s2, rows, subKeys, subTopk, topk);
      const ids = kernelTopkIds(tf.tensor2d(s1, [rows, subKeys]), tf.tensor2d(s2, [rows, subKeys]), { subKeys, subTopk, topk, heads: 1, keyDim: 2, dModel: 1 });
      expect(ids.dtype).toBe("int32");
      expect(ids.shape).toEqual([rows, topk]);
      expect(Array.from(await ids.data())).toEqual(Array.from(host.ids));
    });
  }

  for (const glu of [false, true]) {
    it(`fused expert kernels over a table in 3 shards (10, 10, 5 rows) = tfjs ops on the whole table${glu ? " (GLU)" : ""}`, async () => {
      const tokens = 7;
      const d = 8;
      const slots = 6;
      const rows = 25;
      const shape = { subKeys: 5, subTopk: 3, topk: 3, heads: 2, keyDim: 4, dModel: d };
      const x = tf.tensor2d(uniform(11, tokens * d), [tokens, d]);
      const gates = tf.tensor2d(uniform(12, tokens * slots), [tokens, slots]);
      const whole = [13, 14, 15].map((seed) => tf.tensor2d(uniform(seed, rows * d, 0.5), [rows, d]));
      const split = (t: tf.Tensor2D) => [tf.slice(t, [0, 0], [10, d]), tf.slice(t, [10, 0], [10, d]), tf.slice(t, [20, 0], [5, d])] as tf.Tensor2D[];
      const parts = whole.map(split);
      const r = Rng.fromSeed(16);
      // Every shard is hit, including the boundary rows 9, 10, 19, 20, 24.
      const idList = Int32Array.from({ length: tokens * slots }, (_, i) => [9, 10, 19, 20, 24][i % 5] ?? 0);
      for (let i = 5; i < idList.length; i += 3) idList[i] = Math.floor(r.nextFloat() * rows);
      const ids = tf.tensor1d(idList, "int32");
      const dy = tf.tensor2d(uniform(17, tokens * d), [tokens, d]);
      const n = glu ? 3 : 2;
      const shardInputs = parts.slice(0, n).flat();
      const fused = (...t: tf.Tensor[]) => {
        const table = (k: number) => ({ shards: t.slice(2 + 3 * k, 5 + 3 * k) as tf.Tensor2D[], rowsPerShard: 10 });
        return tf.sum(tf.mul(fusedPeerExperts(t[0] as tf.Tensor2D, t[1] as tf.Tensor2D, ids, table(0), table(1), glu ? table(2) : null, "gelu", shape), dy));
      };
      const ops = (...t: tf.Tensor[]) =>
        tf.sum(tf.mul(peerExpertMath(t[0] as tf.Tensor2D, t[1] as tf.Tensor2D, tf.gather(t[2]!, ids) as tf.Tensor2D, tf.gather(t[3]!, ids) as tf.Tensor2D, glu ? (tf.gather(t[4]!, ids) as tf.Tensor2D) : null, "gelu"), dy));
      const got = tf.grads(fused)([x, gates, ...shardInputs]);
      const want = tf.grads(ops)([x, gates, ...whole.slice(0, n)]);
      expect(maxDiff((await fused(x, gates, ...shardInputs).data()) as Float32Array, (await ops(x, gates, ...whole.slice(0, n)).data()) as Float32Array)).toBeLessThan(1e-4);
      expect(maxDiff((await got[0]!.data()) as Float32Array, (await want[0]!.data()) as Float32Array), "dx").toBeLessThan(2e-5);
      expect(maxDiff((await got[1]!.data()) as Float32Array, (await want[1]!.data()) as Float32Array), "dgates").toBeLessThan(2e-5);
      for (let k = 0; k < n; k++) {
        const joined = (await tf.concat(got.slice(2 + 3 * k, 5 + 3 * k), 0).data()) as Float32Array;
        expect(maxDiff(joined, (await want[2 + k]!.data()) as Float32Array), `table ${k}`).toBeLessThan(2e-5);
        expect(Math.max(...joined.map(Math.abs))).toBeGreaterThan(1e-3);
      }
    });
  }

  const cases: [Activation, boolean][] = [["gelu", false], ["relu", false], ["gelu_tanh", false], ["silu", true], ["sigmoid", true]];
  for (const [act, glu] of cases) {
    it(`fused expert forward and backward = tfjs ops (${act}${glu ? ", GLU" : ""})`, async () => {
      const tokens = 9;
      const d = 12;
      const heads = 2;
      const topk = 3;
      const slots = heads * topk;
      const rows = 25;
      const shape = { subKeys: 5, subTopk: 3, topk, heads, keyDim: 4, dModel: d };
      const x = tf.tensor2d(uniform(1, tokens * d), [tokens, d]);
      const gates = tf.tensor2d(uniform(2, tokens * slots), [tokens, slots]);
      const u = tf.tensor2d(uniform(3, rows * d, 0.5), [rows, d]);
      const v = tf.tensor2d(uniform(4, rows * d, 0.5), [rows, d]);
      const w = glu ? tf.tensor2d(uniform(5, rows * d, 0.5), [rows, d]) : null;
      const r = Rng.fromSeed(6);
      const ids = tf.tensor1d(Int32Array.from({ length: tokens * slots }, () => Math.floor(r.nextFloat() * rows)), "int32");
      const dy = tf.tensor2d(uniform(7, tokens * d), [tokens, d]);
      const inputs = w === null ? [x, gates, u, v] : [x, gates, u, v, w];
      const fused = (...t: tf.Tensor[]) => tf.sum(tf.mul(fusedPeerExperts(t[0] as tf.Tensor2D, t[1] as tf.Tensor2D, ids, t[2] as tf.Tensor2D, t[3] as tf.Tensor2D, (t[4] as tf.Tensor2D) ?? null, act, shape), dy));
      const gather = (t: tf.Tensor) => tf.gather(t, ids) as tf.Tensor2D;
      const ops = (...t: tf.Tensor[]) => tf.sum(tf.mul(peerExpertMath(t[0] as tf.Tensor2D, t[1] as tf.Tensor2D, gather(t[2]!), gather(t[3]!), t[4] ? gather(t[4]) : null, act), dy));
      const out = fusedPeerExperts(x, gates, ids, u, v, w, act, shape);
      const ref = peerExpertMath(x, gates, gather(u), gather(v), w ? gather(w) : null, act);
      expect(maxDiff((await out.data()) as Float32Array, (await ref.data()) as Float32Array)).toBeLessThan(1e-5);
      expect(Math.max(...((await ref.data()) as Float32Array).map(Math.abs))).toBeGreaterThan(1e-2);
      const got = tf.grads(fused)(inputs);
      const want = tf.grads(ops)(inputs);
      const names = ["x", "gates", "u", "v", "w"];
      for (let i = 0; i < inputs.length; i++) {
        const diff = maxDiff((await got[i]!.data()) as Float32Array, (await want[i]!.data()) as Float32Array);
        expect(diff, `d${names[i]}`).toBeLessThan(2e-5);
      }
    });
  }
});
