/**
 * On webgpu a training step keeps PEER tables, routing, top-k, expert math and
 * the AdamW update on the device: the only host reads are the scalars a log
 * line needs (loss, gradient norm), however many PEER layers and experts.
 */
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkSource } from "../../compiler/check/index.js";
import type { PeerLayer } from "../../ir/types.js";
import { createPeerDeviceLayer, type PeerDeviceLayer } from "../../kinds/peer/device.js";
import { selectBackend } from "../../runtime/backend/select.js";
import { shutdownWebGpu } from "../../runtime/backend/webgpu.js";
import { Rng } from "../../runtime/data/rng.js";
import { registerLayerFactory } from "../../runtime/model/factories.js";
import { streamSeed } from "../../runtime/model/init.js";
import { buildModel } from "../../runtime/model/model.js";
import { AdamW } from "../../runtime/train/adamw.js";
import { noAdapter, skipNote } from "./adapter.js";

function spec(peerLayers: number, sqrtN: number): string {
  const blocks = Array.from({ length: peerLayers }, () => `  residual {\n    norm rms\n    peer(experts: ${sqrtN}^2, heads: 2, topk: 4, key_dim: 8, act: gelu, query_norm: batch)\n  }`).join("\n");
  return `model reads {\n  vocab 32\n  context 8\n  embed tokens(dim: 16)\n${blocks}\n  norm rms\n  lm_head tied\n}\n`;
}

interface Counts {
  read: number;
  readSync: number;
}

/** Counts the backend's host reads while `fn` runs. */
async function countReads(fn: () => Promise<void>): Promise<Counts> {
  const backend = tf.backend() as unknown as { read: (id: object) => Promise<unknown>; readSync: (id: object) => unknown };
  const counts = { read: 0, readSync: 0 };
  const { read, readSync } = backend;
  backend.read = (id) => {
    counts.read++;
    return read.call(backend, id);
  };
  backend.readSync = (id) => {
    counts.readSync++;
    return readSync.call(backend, id);
  };
  try {
    await fn();
  } finally {
    backend.read = read;
    backend.readSync = readSync;
  }
  return counts;
}

describe.skipIf(noAdapter !== null)(`host reads per training step on webgpu${skipNote}`, () => {
  beforeAll(async () => {
    await selectBackend("webgpu");
    registerLayerFactory("peer", (layer: PeerLayer, ctx) => {
      const rng = Rng.fromSeed(streamSeed(ctx.seed, layer.path));
      return createPeerDeviceLayer(layer, { rng: () => rng.nextFloat(), dModel: layer.dModel });
    });
  });
  afterAll(() => shutdownWebGpu());

  const results: { layers: number; sqrtN: number; counts: Counts }[] = [];
  for (const [layers, sqrtN] of [[1, 16], [3, 16], [1, 32]] as const) {
    it(`${layers} PEER layer(s) of ${sqrtN}^2 experts: 2 reads (loss, grad norm), no sync read`, async () => {
      const checked = checkSource("reads.peer", spec(layers, sqrtN));
      expect(checked.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      const model = buildModel(checked.program.models[0]!, { seed: 1, backend: "webgpu" });
      const peers = model.layers.filter((l) => l.kind === "peer") as PeerDeviceLayer[];
      expect(peers.length).toBe(layers);
      for (const p of peers) expect(p.down.shards.length).toBe(1);
      expect(model.sparseTables).toEqual([]);
      const optimizer = new AdamW(model.variables, model.sparseTables, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, decayAll: false });
      const r = Rng.fromSeed(4);
      const ids = tf.tensor2d(Int32Array.from({ length: 2 * 8 }, () => Math.floor(r.nextFloat() * 32)), [2, 8], "int32");
      const targets = tf.tensor2d(Int32Array.from({ length: 2 * 8 }, () => Math.floor(r.nextFloat() * 32)), [2, 8], "int32");
      const nameOf = new Map(model.variables.map((v) => [v.variable.name, v.name]));
      const before = await peers[0]!.down.read();
      const step = async () => {
        const { value, grads } = tf.variableGrads(() => model.loss(ids, targets, "train").loss, model.variables.map((v) => v.variable));
        const byName = new Map(Object.entries(grads).map(([k, g]) => [nameOf.get(k) ?? k, g]));
        const norm = tf.tidy(() => tf.sqrt(tf.addN([...byName.values()].map((g) => tf.sum(tf.square(g))))));
        optimizer.apply(byName, 1e-2, 1e-2);
        const loss = (await value.data())[0]!;
        const gradNorm = (await norm.data())[0]!;
        expect(Number.isFinite(loss) && loss > 0).toBe(true);
        expect(gradNorm).toBeGreaterThan(0);
        tf.dispose([value, norm, ...byName.values()]);
      };
      await step(); // compiles the pipelines
      const counts = await countReads(step);
      results.push({ layers, sqrtN, counts });
      expect(counts).toEqual({ read: 2, readSync: 0 });
      // The step really updated the device table.
      const after = await peers[0]!.down.read();
      expect(after.some((v, i) => v !== before[i])).toBe(true);
    });
  }
});
