/**
 * The device implementations of PEER and PKM (kinds/{peer,pkm}/device.ts) on
 * webgpu against the host implementations (kinds/{peer,pkm}/runtime.ts) on the
 * cpu backend: same seed → same parameters, outputs and gradients; the
 * product-key top-k equals the host search; tables shard below the limit.
 */
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PeerLayer, PkmLayer } from "../../ir/types.js";
import { createPeerDeviceLayer } from "../../kinds/peer/device.js";
import { createPeerLayer } from "../../kinds/peer/runtime.js";
import { createPkmDeviceLayer } from "../../kinds/pkm/device.js";
import { createPkmLayer } from "../../kinds/pkm/runtime.js";
import { deviceTopk, DeviceTable } from "../../kinds/product-keys/device.js";
import { selectBackend } from "../../runtime/backend/select.js";
import { webGpuAdapter, shutdownWebGpu } from "../../runtime/backend/webgpu.js";
import { Rng } from "../../runtime/data/rng.js";
import { productKeyTopk } from "../../runtime/experts/product-keys.js";
import type { ForwardContext, RuntimeLayer } from "../../runtime/layers/layer.js";
import { noAdapter, skipNote } from "./adapter.js";

const span = { file: "t.peer", start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 1, offset: 0 } };
const base = { index: 1, span, argSpans: {}, dModel: 16, heads: 2, topk: 4, subTopk: 4, keyDim: 8, queryNorm: "batch", keys: "shared", queryBias: false } as const;
const PEER = { ...base, kind: "peer", path: "blocks.0.mix.peer", experts: 64, subKeys: 8, act: "gelu", glu: false, scores: "softmax" } as unknown as PeerLayer;
const PKM = { ...base, kind: "pkm", path: "blocks.0.mix.pkm", memories: 64, subKeys: 8, valueDim: 16, scores: "softmax", keys: "per_head" } as unknown as PkmLayer;
const ctx: ForwardContext = { training: true, batch: 2, seqLen: 6, addAuxLoss: () => {}, recordRouting: null };
const rngOf = (seed: number) => {
  const r = Rng.fromSeed(seed);
  return () => r.nextFloat();
};

function inputs(tokens: number, d: number): { x: Float32Array; w: Float32Array } {
  const r = rngOf(99);
  return { x: Float32Array.from({ length: tokens * d }, () => r() * 2 - 1), w: Float32Array.from({ length: tokens * d }, () => r() * 2 - 1) };
}

/** Output and the gradients of Σ out·w with respect to x and every dense variable, read back with await. */
async function run(layer: RuntimeLayer, x: Float32Array, w: Float32Array, tokens: number): Promise<{ out: Float32Array; dx: Float32Array; grads: Map<string, Float32Array> }> {
  const xt = tf.tensor2d(x, [tokens, 16]);
  const wt = tf.tensor2d(w, [tokens, 16]);
  const vars = layer.variables.filter((v) => !/experts|values/.test(v.name));
  let out: tf.Tensor | null = null;
  const f = (xi: tf.Tensor) => {
    out = tf.keep(layer.apply(xi, ctx));
    return tf.sum(tf.mul(out, wt));
  };
  const dx = tf.grad(f)(xt);
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(xt, ctx), wt)) as tf.Scalar, vars.map((v) => v.variable));
  const named = new Map<string, Float32Array>();
  for (const v of vars) named.set(v.name, (await grads[v.variable.name]!.data()) as Float32Array);
  return { out: (await out!.data()) as Float32Array, dx: (await dx.data()) as Float32Array, grads: named };
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe.skipIf(noAdapter !== null)(`PEER/PKM device layers on webgpu vs the host layers${skipNote}`, () => {
  beforeAll(async () => {
    await selectBackend("webgpu");
  });
  afterAll(() => shutdownWebGpu());

  for (const [name, layer, shardRows] of [["PEER", PEER, 0], ["PEER, tables in 4 shards of 20 rows", PEER, 20], ["PKM (per-head keys)", PKM, 0]] as const) {
    it(`${name}: same output and gradients as the host layer with the same seed`, async () => {
      const tokens = ctx.batch * ctx.seqLen;
      const { x, w } = inputs(tokens, 16);
      await tf.setBackend("cpu");
      const host = layer.kind === "peer" ? createPeerLayer(layer, { rng: rngOf(5), dModel: 16 }) : createPkmLayer(layer, { rng: rngOf(5), dModel: 16 });
      const expected = await run(host, x, w, tokens);
      await selectBackend("webgpu");
      const shards = shardRows > 0 ? { maxShardBytes: shardRows * 16 * 4 } : {};
      const device = layer.kind === "peer" ? createPeerDeviceLayer(layer, { rng: rngOf(5), dModel: 16, ...shards }) : createPkmDeviceLayer(layer, { rng: rngOf(5), dModel: 16 });
      if (device.kind === "peer") expect(device.down.shardCount).toBe(shardRows > 0 ? 4 : 1);
      expect(tf.getBackend()).toBe("webgpu");
      expect(device.sparseTables).toEqual([]);
      const got = await run(device, x, w, tokens);
      expect(maxDiff(got.out, expected.out)).toBeLessThan(1e-5);
      expect(maxDiff(got.dx, expected.dx)).toBeLessThan(1e-5);
      expect([...got.grads.keys()].sort()).toEqual([...expected.grads.keys()].sort());
      for (const [key, g] of expected.grads) expect(maxDiff(got.grads.get(key)!, g), key).toBeLessThan(1e-5);
      // The out values are not trivially zero.
      expect(Math.max(...got.out.map(Math.abs))).toBeGreaterThan(1e-3);
    });
  }

  it("product-key top-k on the device equals the host search (ids and scores)", async () => {
    const rows = 12;
    const subKeys = 16;
    const r = rngOf(3);
    const s1 = Float32Array.from({ length: rows * subKeys }, () => r());
    const s2 = Float32Array.from({ length: rows * subKeys }, () => r());
    const host = productKeyTopk(s1, s2, rows, subKeys, 5, 7);
    const hits = deviceTopk(tf.tensor2d(s1, [rows, subKeys]), tf.tensor2d(s2, [rows, subKeys]), subKeys, 5, 7);
    expect(Array.from(await hits.ids.data())).toEqual(Array.from(host.ids));
    expect(maxDiff((await hits.scores.data()) as Float32Array, host.scores)).toBeLessThan(1e-6);
  });

  it("a 600,000 × 64 table is sharded below maxStorageBufferBindingSize and gathers exact rows", async () => {
    const limit = webGpuAdapter()!.maxStorageBufferBindingSize;
    const rows = 600_000;
    const cols = 64;
    const values = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) values[i * cols] = i; // column 0 holds the row number
    for (let i = 0; i < rows; i++) values[i * cols + cols - 1] = -i;
    const table = new DeviceTable("big.values", rows, cols, values, limit);
    try {
      expect(rows * cols * 4).toBeGreaterThan(limit);
      expect(table.shardCount).toBeGreaterThan(1);
      for (const s of table.shards) expect(s.size * 4).toBeLessThanOrEqual(limit);
      expect(table.named.map((n) => n.name)).toEqual(table.shards.map((_, i) => `big.values.shard${i}`));
      const ids = [0, 1, table.rowsPerShard - 1, table.rowsPerShard, 424_242, rows - 1];
      const got = (await table.gather(tf.tensor1d(ids, "int32")).data()) as Float32Array;
      for (let n = 0; n < ids.length; n++) {
        expect(got[n * cols]).toBe(ids[n]);
        expect(got[n * cols + cols - 1]).toBe(-ids[n]!);
      }
      // The gradient reaches only the gathered rows, in the right shard.
      const g = tf.grad((s: tf.Tensor) => tf.sum(tf.gather(s, tf.tensor1d([3], "int32"))))(table.shards[1]!);
      expect((await tf.sum(g).data())[0]).toBe(cols);
    } finally {
      table.dispose();
    }
  });
});
