/**
 * The kernels `peerc compile` emits (kernels.ts), loaded as a trainer loads
 * them and registered for the model they were compiled for, on webgpu: every
 * emitted kernel runs (the device asks for nothing else) and matches the
 * plain-tfjs reference, and the device runs the emitted source itself, not
 * text the runtime generates.
 */
import * as tf from "@tensorflow/tfjs";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emitTrainer } from "../../compiler/emit/index.js";
import { emitContext } from "../../compiler/emit/context.js";
import { costModel } from "../../compiler/cost/index.js";
import type { IRModel, PeerLayer, PkmLayer } from "../../ir/types.js";
import { fusedPeerExperts, kernelTopkIds } from "../../kinds/peer/device-kernels.js";
import { clearEmittedKernels, registerEmittedKernels, requestedKernelKeys, type EmittedLayerKernels } from "../../kinds/peer/device-registry.js";
import { peerExpertMath } from "../../kinds/peer/device.js";
import { layerKernelSpec } from "../../kinds/peer/wgsl.js";
import { selectBackend } from "../../runtime/backend/select.js";
import { shutdownWebGpu } from "../../runtime/backend/webgpu.js";
import { Rng } from "../../runtime/data/rng.js";
import { productKeyTopk } from "../../runtime/experts/product-keys.js";
import { checkedModels, tempDir } from "../emit/helpers.js";
import { noAdapter, skipNote } from "./adapter.js";

const SPEC = `
model emitted_kernels {
  vocab 64
  context 16
  embed tokens(dim: 24)
  positions rope
  residual { norm rms; peer(experts: 8^2, heads: 2, topk: 3, key_dim: 8, act: gelu, query_norm: none) }
  residual { norm rms; peer(experts: 6^2, heads: 2, topk: 2, key_dim: 8, act: silu, glu: true, query_norm: none) }
  residual { norm rms; pkm(memories: 5^2, heads: 2, topk: 4, key_dim: 8, query_norm: none) }
  norm rms
  lm_head tied
}
`;
const [MODEL] = checkedModels(SPEC) as [IRModel];
const peers = MODEL.layers.filter((l): l is PeerLayer => l.kind === "peer");
const productKeys = MODEL.layers.filter((l): l is PeerLayer | PkmLayer => l.kind === "peer" || l.kind === "pkm");

/** kernels.js as `peerc compile` writes it, imported from its folder like a trainer's model.js does. */
async function emittedKernels(): Promise<readonly EmittedLayerKernels[]> {
  const dir = tempDir("peerc-webgpu-kernels-");
  const files = emitTrainer(emitContext(MODEL, costModel(MODEL), { specFile: path.join(dir, "spec.peer"), outDir: dir }));
  fs.writeFileSync(path.join(dir, "package.json"), '{ "type": "module" }\n');
  fs.writeFileSync(path.join(dir, "kernels.js"), files.get("kernels.js")!);
  return ((await import(pathToFileURL(path.join(dir, "kernels.js")).href)) as { LAYER_KERNELS: readonly EmittedLayerKernels[] }).LAYER_KERNELS;
}

const uniform = (seed: number, n: number, scale = 1) => {
  const r = Rng.fromSeed(seed);
  return Float32Array.from({ length: n }, () => (r.nextFloat() * 2 - 1) * scale);
};
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

/** Inputs of one PEER layer's expert op: 7 tokens, random gates, ids over the whole table. */
function expertInputs(layer: PeerLayer, seed: number) {
  const tokens = 7;
  const d = layer.dModel;
  const slots = layer.heads * layer.topk;
  const rows = layer.experts;
  const table = (s: number) => tf.tensor2d(uniform(seed + s, rows * d, 0.5), [rows, d]);
  const r = Rng.fromSeed(seed + 9);
  return {
    x: tf.tensor2d(uniform(seed + 1, tokens * d), [tokens, d]),
    gates: tf.tensor2d(uniform(seed + 2, tokens * slots), [tokens, slots]),
    u: table(3),
    v: table(4),
    w: layer.glu ? table(5) : null,
    ids: tf.tensor1d(Int32Array.from({ length: tokens * slots }, () => Math.floor(r.nextFloat() * rows)), "int32"),
    dy: tf.tensor2d(uniform(seed + 6, tokens * d), [tokens, d]),
  };
}

describe.skipIf(noAdapter !== null)(`kernels.ts's kernels on webgpu vs the tf-ops reference${skipNote}`, () => {
  let emitted: readonly EmittedLayerKernels[] = [];
  beforeAll(async () => {
    await selectBackend("webgpu");
    clearEmittedKernels();
    emitted = await emittedKernels();
    registerEmittedKernels(MODEL, emitted);
  });
  afterAll(() => {
    clearEmittedKernels();
    shutdownWebGpu();
  });

  for (const layer of productKeys) {
    it(`${layer.path} (${layer.kind}): the emitted top-k kernel = host product-key search`, async () => {
      const { shape } = layerKernelSpec(layer);
      const rows = 13;
      const s1 = uniform(layer.index * 10 + 1, rows * shape.subKeys);
      const s2 = uniform(layer.index * 10 + 2, rows * shape.subKeys);
      const host = productKeyTopk(s1, s2, rows, shape.subKeys, shape.subTopk, shape.topk);
      const ids = kernelTopkIds(tf.tensor2d(s1, [rows, shape.subKeys]), tf.tensor2d(s2, [rows, shape.subKeys]), shape);
      expect(ids.shape).toEqual([rows, shape.topk]);
      expect(Array.from(await ids.data())).toEqual(Array.from(host.ids));
    });
  }

  for (const layer of peers) {
    it(`${layer.path} (${layer.act}${layer.glu ? " GLU" : ""}): fused forward and backward with the emitted kernels = tf ops`, async () => {
      const { shape } = layerKernelSpec(layer);
      const { x, gates, u, v, w, ids, dy } = expertInputs(layer, layer.index * 100);
      const gather = (t: tf.Tensor) => tf.gather(t, ids) as tf.Tensor2D;
      const fused = (...t: tf.Tensor[]) => tf.sum(tf.mul(fusedPeerExperts(t[0] as tf.Tensor2D, t[1] as tf.Tensor2D, ids, t[2] as tf.Tensor2D, t[3] as tf.Tensor2D, (t[4] as tf.Tensor2D) ?? null, layer.act, shape), dy));
      const ops = (...t: tf.Tensor[]) => tf.sum(tf.mul(peerExpertMath(t[0] as tf.Tensor2D, t[1] as tf.Tensor2D, gather(t[2]!), gather(t[3]!), t[4] ? gather(t[4]) : null, layer.act), dy));
      const out = (await fusedPeerExperts(x, gates, ids, u, v, w, layer.act, shape).data()) as Float32Array;
      const ref = (await peerExpertMath(x, gates, gather(u), gather(v), w ? gather(w) : null, layer.act).data()) as Float32Array;
      expect(maxDiff(out, ref)).toBeLessThan(1e-5);
      expect(Math.max(...ref.map(Math.abs))).toBeGreaterThan(1e-2);
      const inputs = w === null ? [x, gates, u, v] : [x, gates, u, v, w];
      const got = tf.grads(fused)(inputs);
      const want = tf.grads(ops)(inputs);
      const names = ["x", "gates", "u", "v", "w"];
      for (let i = 0; i < inputs.length; i++) {
        expect(maxDiff((await got[i]!.data()) as Float32Array, (await want[i]!.data()) as Float32Array), `d${names[i]}`).toBeLessThan(2e-5);
      }
    });
  }

  it("the device ran every emitted kernel and no other (layerKernels lists all a layer runs)", () => {
    const keys = [...new Set(emitted.flatMap((l) => l.kernels.map((k) => k.key)))].sort();
    expect(requestedKernelKeys()).toEqual(keys);
  });

  it("runs the emitted source itself: a kernels.ts whose mix kernel doubles its sum doubles the layer's output", async () => {
    const layer = peers[0]!;
    const doubled = emitted.map((l) => ({
      ...l,
      kernels: l.kernels.map((k) => (k.key.startsWith("peerc_mix_") ? { ...k, source: k.source.replace("setOutputAtIndex(index, acc);", "setOutputAtIndex(index, 2.0 * acc);") } : k)),
    }));
    expect(doubled.some((l, i) => l.kernels.some((k, j) => k.source !== emitted[i]!.kernels[j]!.source))).toBe(true);
    clearEmittedKernels();
    registerEmittedKernels(MODEL, doubled);
    try {
      const { shape } = layerKernelSpec(layer);
      const { x, gates, u, v, ids } = expertInputs(layer, 7);
      const out = (await fusedPeerExperts(x, gates, ids, u, v, null, layer.act, shape).data()) as Float32Array;
      const ref = (await peerExpertMath(x, gates, tf.gather(u, ids) as tf.Tensor2D, tf.gather(v, ids) as tf.Tensor2D, null, layer.act).data()) as Float32Array;
      expect(maxDiff(out, ref.map((r) => 2 * r))).toBeLessThan(2e-5);
      expect(maxDiff(out, ref)).toBeGreaterThan(1e-2);
    } finally {
      clearEmittedKernels();
      registerEmittedKernels(MODEL, emitted);
    }
  });
});
