/**
 * The device benchmark (issue 10): on tfjs's webgpu backend (Dawn), prints
 *   1. the adapter and its limits;
 *   2. fp32 matmul GFLOP/s at 4096³ and 8192³;
 *   3. the paper's PEER layer (d 1024, N 1024², h 8, k 16, key dim 256, query
 *      BatchNorm) forward + backward + AdamW update on 8,192 and 32,768 tokens:
 *      ms per step and peak tfjs-tracked device memory, with the WGSL kernels
 *      (kinds/peer/wgsl.ts; the backward's row gradients by kinds/peer/wgsl-rows.ts,
 *      no [tokens·h·k, d] operand) and with tfjs ops only; the tables' update
 *      is the trainer's lazy AdamW (row masks) in both;
 *   4. tokens/s and MFU of specs/peer-1m.peer and of a d 1024 paper-like model.
 * `--small` shrinks every shape so that it runs on lavapipe (Mesa's CPU Vulkan
 * driver) in CI time; the figures are then a smoke test, not a speed claim.
 *
 *   npx tsx bench/gpu.ts --small            (lavapipe: ~1 minute)
 *   node gpu-bench.mjs                      (the esbuild bundle on the GPU machine: docs/gpu.md)
 *
 * Steps are timed from the first op to the resolved read of the loss (the only
 * host read of a step); each figure is the median of STEPS (default 3) timed
 * steps after one warm-up step that compiles the pipelines. MFU = 3 × forward
 * FLOPs/token (peerc's static cost model) × tokens/s ÷ the 8192³ (small: 512³)
 * matmul rate measured in item 2.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { checkSource } from "../compiler/check/index.js";
import { costModel } from "../compiler/cost/index.js";
import type { IRModel, PeerLayer, PkmLayer } from "../ir/types.js";
import { createPeerDeviceLayer } from "../kinds/peer/device.js";
import { createPkmDeviceLayer } from "../kinds/pkm/device.js";
import { describeBackend, selectBackend } from "../runtime/backend/select.js";
import { shutdownWebGpu } from "../runtime/backend/webgpu.js";
import { Rng } from "../runtime/data/rng.js";
import type { ForwardContext } from "../runtime/layers/layer.js";
import { mfu } from "../runtime/metrics/mfu.js";
import { registerLayerFactory } from "../runtime/model/factories.js";
import { streamSeed } from "../runtime/model/init.js";
import { buildModel } from "../runtime/model/model.js";
import { AdamW } from "../runtime/train/adamw.js";

const small = process.argv.includes("--small");
const STEPS = Number(process.env["STEPS"] ?? 3);
const ADAM = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, decayAll: false };
const repo = path.resolve(import.meta.dirname ?? ".", "..");

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const uniform = (seed: number) => {
  const r = Rng.fromSeed(seed);
  return () => r.nextFloat();
};

async function timeSteps(step: () => Promise<void>): Promise<{ ms: number; peak: number }> {
  await step();
  const ms: number[] = [];
  let peak = 0;
  for (let i = 0; i < STEPS; i++) {
    const t0 = performance.now();
    const profile = await tf.profile(async () => {
      await step();
    });
    ms.push(performance.now() - t0);
    peak = Math.max(peak, profile.peakBytes);
  }
  return { ms: median(ms), peak };
}

async function matmulRate(n: number): Promise<number> {
  const a = tf.randomUniform([n, n]);
  const b = tf.randomUniform([n, n]);
  const { ms } = await timeSteps(async () => {
    const c = tf.matMul(a, b);
    const corner = tf.slice(c, [0, 0], [1, 1]);
    await corner.data();
    tf.dispose([c, corner]);
  });
  tf.dispose([a, b]);
  return (2 * n ** 3) / (ms / 1000);
}

const span = { file: "bench.peer", offset: 0, length: 1, line: 1, column: 1, endLine: 1, endColumn: 2 };

function peerLayer(d: number, sqrtN: number, heads: number, topk: number, keyDim: number): PeerLayer {
  return {
    kind: "peer", path: "bench.peer", index: 0, span, argSpans: {}, dModel: d, experts: sqrtN * sqrtN, subKeys: sqrtN,
    heads, topk, subTopk: topk, keyDim, act: "gelu", glu: false, queryNorm: "batch", keys: "shared", queryBias: false, scores: "softmax",
  } as unknown as PeerLayer;
}

async function peerLayerStep(layer: PeerLayer, tokens: number, expertPath: "kernels" | "ops"): Promise<string> {
  const built = createPeerDeviceLayer(layer, { rng: uniform(1), dModel: layer.dModel, expertPath });
  const optimizer = new AdamW(built.variables, [], ADAM);
  const x = tf.randomNormal([tokens, layer.dModel]);
  const ctx: ForwardContext = { training: true, batch: 1, seqLen: tokens, addAuxLoss: () => {}, recordRouting: null };
  const nameOf = new Map(built.variables.map((v) => [v.variable.name, v.name]));
  try {
    const { ms, peak } = await timeSteps(async () => {
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(built.apply(x, ctx))) as tf.Scalar, built.variables.map((v) => v.variable));
      optimizer.apply(new Map(Object.entries(grads).map(([k, g]) => [nameOf.get(k) ?? k, g])), 1e-3, 1e-3);
      await value.data();
      tf.dispose([value, ...Object.values(grads)]);
    });
    const shards = built.down.shardCount;
    return `${ms.toFixed(1)} ms, peak ${mib(peak)}${shards > 1 ? ` (tables in ${shards} shards)` : ""}`;
  } catch (error) {
    return `failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
  } finally {
    optimizer.dispose();
    for (const t of [built.down, built.up]) t.dispose();
    x.dispose();
  }
}

function model(file: string, text: string): IRModel {
  const result = checkSource(file, text);
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(`${file}: ${errors[0]!.message}`);
  return result.program.models[0]!;
}

async function lmRate(label: string, ir: IRModel, batch: number, peak: number): Promise<string> {
  const lm = buildModel(ir, { seed: 1, backend: "webgpu" });
  const optimizer = new AdamW(lm.variables, lm.sparseTables, ADAM);
  const r = uniform(7);
  const n = batch * ir.context;
  const ids = tf.tensor2d(Int32Array.from({ length: n }, () => Math.floor(r() * ir.vocab)), [batch, ir.context], "int32");
  const targets = tf.tensor2d(Int32Array.from({ length: n }, () => Math.floor(r() * ir.vocab)), [batch, ir.context], "int32");
  const nameOf = new Map(lm.variables.map((v) => [v.variable.name, v.name]));
  try {
    const { ms } = await timeSteps(async () => {
      const { value, grads } = tf.variableGrads(() => lm.loss(ids, targets, "train").loss, lm.variables.map((v) => v.variable));
      optimizer.apply(new Map(Object.entries(grads).map(([k, g]) => [nameOf.get(k) ?? k, g])), 1e-3, 1e-3);
      await value.data();
      tf.dispose([value, ...Object.values(grads)]);
    });
    const tps = n / (ms / 1000);
    const forward = costModel(ir).totals.flopsPerToken.forward;
    return `${label}: ${n} tokens/step, ${ms.toFixed(0)} ms/step, ${tps.toFixed(0)} tokens/s, MFU ${(100 * mfu(forward, tps, peak)).toFixed(1)}%`;
  } catch (error) {
    return `${label}: failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
  } finally {
    optimizer.dispose();
    lm.dispose();
    tf.dispose([ids, targets]);
  }
}

const report = await selectBackend((process.env["BACKEND"] as "webgpu" | undefined) ?? "webgpu");
console.log(describeBackend(report));
console.log(`mode: ${small ? "--small (lavapipe-sized shapes: a smoke test, not a speed figure)" : "full (the issue's shapes)"}; ${STEPS} timed steps per figure`);

console.log("\n== fp32 matmul");
let peak = 0;
for (const n of small ? [256, 512] : [4096, 8192]) {
  peak = await matmulRate(n);
  console.log(`${n}³: ${(peak / 1e9).toFixed(1)} GFLOP/s`);
}

console.log("\n== PEER layer: forward + backward + AdamW update");
const layerShape = small ? peerLayer(64, 32, 2, 4, 16) : peerLayer(1024, 1024, 8, 16, 256);
console.log(`d ${layerShape.dModel}, N ${layerShape.subKeys}², h ${layerShape.heads}, k ${layerShape.topk}, key dim ${layerShape.keyDim}, query BN`);
for (const tokens of small ? [256, 1024] : [8192, 32768]) {
  for (const pathName of ["kernels", "ops"] as const) {
    console.log(`${tokens} tokens, ${pathName === "kernels" ? "WGSL kernels" : "tfjs ops only"}: ${await peerLayerStep(layerShape, tokens, pathName)}`);
  }
}

console.log("\n== language models (device PEER/PKM layers)");
registerLayerFactory("peer", (layer: PeerLayer, ctx) => createPeerDeviceLayer(layer, { rng: uniform(streamSeed(ctx.seed, layer.path)), dModel: layer.dModel }));
registerLayerFactory("pkm", (layer: PkmLayer, ctx) => createPkmDeviceLayer(layer, { rng: uniform(streamSeed(ctx.seed, layer.path)), dModel: layer.dModel }));
// In the repository, or beside the bundle in a device kit (docs/gpu.md).
const specFile = [path.join(repo, "specs/peer-1m.peer"), path.join(path.dirname(process.argv[1] ?? "."), "peer-1m.peer")].find((f) => fs.existsSync(f));
if (specFile === undefined) throw new Error("bench/gpu.ts: specs/peer-1m.peer not found (copy it next to the bundle)");
const peer1m = fs.readFileSync(specFile, "utf8");
const paperLike = (d: number, sqrtN: number, heads: number, topk: number, keyDim: number, context: number) =>
  `model paper_like {\n  vocab 256\n  context ${context}\n  embed tokens(dim: ${d})\n  positions rope\n  repeat 4 as i {\n    residual {\n      norm rms\n      attention(heads: ${Math.max(1, d / 64)}, head_dim: 64, causal)\n    }\n    residual {\n      norm rms\n      peer(experts: ${sqrtN}^2, heads: ${heads}, topk: ${topk}, key_dim: ${keyDim}, act: gelu, query_norm: batch)\n    }\n  }\n  norm rms\n  lm_head tied\n}\n`;
if (small) {
  const shrunk = peer1m.replace(/experts: 1024\^2/, "experts: 32^2").replace(/let d = 256/, "let d = 64").replace(/context 256/, "context 32");
  console.log(await lmRate("specs/peer-1m.peer shrunk (d 64, N 32², context 32)", model("peer-1m-small.peer", shrunk), 2, peak));
  console.log(await lmRate("paper-like shrunk (d 64, N 32², h 2, k 4)", model("paper-small.peer", paperLike(64, 32, 2, 4, 16, 32)), 2, peak));
} else {
  console.log(await lmRate("specs/peer-1m.peer (batch 8)", model("specs/peer-1m.peer", peer1m), 8, peak));
  console.log(await lmRate("paper-like d 1024 (N 1024², h 8, k 16, 4 blocks, context 512, batch 8)", model("paper.peer", paperLike(1024, 1024, 8, 16, 256, 512)), 8, peak));
}
shutdownWebGpu();
