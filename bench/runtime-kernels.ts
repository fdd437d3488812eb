/**
 * The runtime's kernel and gradient patches against the stock tfjs 4.22
 * kernels, measured in the same process (ratios are what to compare: the
 * machine is shared), plus both attention paths and the tokens/s of a small
 * dense LM on wasm.
 *
 *   npx tsx bench/runtime-kernels.ts          (QUICK=1 for a smoke run)
 */
import * as tf from "@tensorflow/tfjs";
import { selectBackend, describeBackend } from "../runtime/backend/select.js";
import { attend, type AttentionPath } from "../kinds/attention/runtime.js";
import { buildModel } from "../runtime/model/model.js";
import { Trainer } from "../runtime/train/trainer.js";
import type { IRLayer, IRModel, IRResidual } from "../ir/types.js";

const QUICK = process.env["QUICK"] === "1";
const REPEATS = QUICK ? 2 : 5;

interface Row {
  readonly what: string;
  readonly stock: number | null;
  readonly patched: number;
}
const rows: Row[] = [];

/** Median wall time in ms of `fn` (after one warm-up), disposing what it returns. */
function time(fn: () => tf.TensorContainer, repeats = REPEATS): number {
  tf.dispose(fn());
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    const out = fn();
    // Force completion: read one value of every output tensor.
    for (const t of tf.util.flatten([out] as unknown as tf.Tensor[]) as unknown as tf.Tensor[]) if (t instanceof tf.Tensor) t.dataSync();
    samples.push(performance.now() - start);
    tf.dispose(out);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

/** Runs `fn` with `config` registered in place of the current kernel, then restores it. */
function withKernel<T>(config: tf.KernelConfig | undefined, fn: () => T): T {
  if (!config) throw new Error("no stock kernel");
  const current = tf.getKernel(config.kernelName, config.backendName);
  if (current) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
  try {
    return fn();
  } finally {
    tf.unregisterKernel(config.kernelName, config.backendName);
    if (current) tf.registerKernel(current);
  }
}

function withGradient<T>(config: tf.GradConfig | undefined, fn: () => T): T {
  if (!config) throw new Error("no stock gradient");
  const current = tf.getGradient(config.kernelName);
  tf.registerGradient(config);
  try {
    return fn();
  } finally {
    if (current) tf.registerGradient(current);
  }
}

// Stock kernels and gradients, captured before the runtime patches them.
await import("@tensorflow/tfjs-backend-wasm");
const stock = {
  wasmGather: tf.getKernel("GatherV2", "wasm"),
  wasmMatMul: tf.getKernel("BatchMatMul", "wasm"),
  cpuSegmentSum: tf.getKernel("UnsortedSegmentSum", "cpu"),
  cpuGather: tf.getKernel("GatherV2", "cpu"),
  sumGrad: tf.getGradient("Sum"),
};

// --- cpu: segment sum and gather -----------------------------------------
await selectBackend("cpu");
{
  const x = tf.randomNormal([2048, 256]);
  const ids = tf.randomUniform([2048], 0, 128, "int32");
  rows.push({
    what: "cpu UnsortedSegmentSum [2048,256] → 128 segments",
    stock: withKernel(stock.cpuSegmentSum, () => time(() => tf.unsortedSegmentSum(x, ids, 128), 2)),
    patched: time(() => tf.unsortedSegmentSum(x, ids, 128)),
  });
  const table = tf.randomNormal([16384, 256]);
  const rowsIds = tf.randomUniform([4096], 0, 16384, "int32");
  rows.push({
    what: "cpu GatherV2 [16384,256] by 4096 rows",
    stock: withKernel(stock.cpuGather, () => time(() => tf.gather(table, rowsIds))),
    patched: time(() => tf.gather(table, rowsIds)),
  });
  tf.dispose([x, ids, table, rowsIds]);
}

// --- wasm ------------------------------------------------------------------
const report = await selectBackend("wasm");
console.log(describeBackend(report));
{
  const table = tf.randomNormal([65536, 256]);
  const ids = tf.randomUniform([2048 * 4 * 16], 0, 65536, "int32");
  rows.push({
    what: "wasm GatherV2 [65536,256] by 131072 rows",
    stock: withKernel(stock.wasmGather, () => time(() => tf.gather(table, ids), 2)),
    patched: time(() => tf.gather(table, ids)),
  });
  const segments = tf.randomNormal([131072, 256]);
  rows.push({ what: "wasm UnsortedSegmentSum [131072,256] → 65536 (stock: missing)", stock: null, patched: time(() => tf.unsortedSegmentSum(segments, ids, 65536)) });
  tf.dispose([table, ids, segments]);

  const a = tf.randomNormal([2048, 256]);
  const b = tf.randomNormal([1024, 256]);
  const c = tf.randomNormal([2048, 1024]);
  rows.push({
    what: "wasm matMul [2048,256]·[1024,256]ᵀ (transposeB)",
    stock: withKernel(stock.wasmMatMul, () => time(() => tf.matMul(a, b, false, true))),
    patched: time(() => tf.matMul(a, b, false, true)),
  });
  rows.push({
    what: "wasm matMul [2048,256]ᵀ·[2048,1024] (transposeA)",
    stock: withKernel(stock.wasmMatMul, () => time(() => tf.matMul(a, c, true, false))),
    patched: time(() => tf.matMul(a, c, true, false)),
  });
  const q = tf.randomNormal([16, 256, 64]);
  const k = tf.randomNormal([16, 256, 64]);
  rows.push({
    what: "wasm batched QKᵀ [16,256,64]·[16,256,64]ᵀ",
    stock: withKernel(stock.wasmMatMul, () => time(() => tf.matMul(q, k, false, true))),
    patched: time(() => tf.matMul(q, k, false, true)),
  });
  const x3 = tf.randomNormal([8, 256, 256]);
  const w = tf.randomNormal([256, 1024]);
  rows.push({
    what: "wasm [8,256,256]·[256,1024] (batch folded into rows)",
    stock: withKernel(stock.wasmMatMul, () => time(() => tf.matMul(x3, w))),
    patched: time(() => tf.matMul(x3, w)),
  });
  const big = tf.randomNormal([2048, 4096]);
  const sumGrad = () => tf.grad((t: tf.Tensor) => tf.sum(tf.sum(t, 1)))(big);
  rows.push({
    what: "Sum gradient over [2048,4096] (8.4 M elements)",
    stock: withGradient(stock.sumGrad, () => time(sumGrad, 3)),
    patched: time(sumGrad),
  });
  tf.dispose([a, b, c, q, k, x3, w, big]);
}

// --- attention paths (fwd+bwd) ----------------------------------------------
const attentionRows: { shape: string; batched: number; perHead: number }[] = [];
for (const [B, T, H, hd] of QUICK ? [[2, 64, 4, 32]] : [[4, 128, 4, 32], [8, 256, 8, 32], [2, 512, 4, 64]]) {
  const shape = { batch: B!, seqLen: T!, heads: H!, kvHeads: H!, headDim: hd!, causal: true, ropeBase: 10000 };
  const q = tf.variable(tf.randomNormal([B! * T!, H! * hd!]));
  const k = tf.variable(tf.randomNormal([B! * T!, H! * hd!]));
  const v = tf.variable(tf.randomNormal([B! * T!, H! * hd!]));
  const step = (path: AttentionPath) => () => {
    const { value, grads } = tf.variableGrads(() => tf.sum(attend(q as tf.Tensor2D, k as tf.Tensor2D, v as tf.Tensor2D, shape, path)) as tf.Scalar, [q, k, v]);
    return [value, ...Object.values(grads)];
  };
  attentionRows.push({ shape: `B=${B} T=${T} H=${H} hd=${hd}`, batched: time(step("batched")), perHead: time(step("per-head")) });
  tf.dispose([q, k, v]);
}

// --- a small dense LM on wasm --------------------------------------------------
function lm(vocab: number, d: number, blocks: number, context: number): IRModel {
  const span = { file: "bench", offset: 0, length: 0, line: 1, column: 1, endLine: 1, endColumn: 1 };
  const layers: IRLayer[] = [];
  const residuals: IRResidual[] = [];
  const add = (l: Record<string, unknown>) => layers.push({ ...l, index: layers.length, span, argSpans: {} } as unknown as IRLayer);
  add({ path: "embed", kind: "embed", vocab, dim: d });
  for (let b = 0; b < blocks; b++) {
    let start = layers.length;
    add({ path: `blocks.${b}.mix.norm`, kind: "norm", type: "rms", dim: d, eps: 1e-5 });
    add({ path: `blocks.${b}.mix.attention`, kind: "attention", dModel: d, heads: 4, kvHeads: 4, headDim: d / 4, causal: true, bias: false, context, rope: { base: 10000 } });
    residuals.push({ path: `blocks.${b}.mix`, start, end: layers.length, span });
    start = layers.length;
    add({ path: `blocks.${b}.ff.norm`, kind: "norm", type: "rms", dim: d, eps: 1e-5 });
    add({ path: `blocks.${b}.ff.ffw`, kind: "ffw", dModel: d, hidden: 4 * d, act: "gelu", glu: false, bias: false });
    residuals.push({ path: `blocks.${b}.ff`, start, end: layers.length, span });
  }
  add({ path: "final_norm", kind: "norm", type: "rms", dim: d, eps: 1e-5 });
  add({ path: "lm_head", kind: "lm_head", dModel: d, vocab, tied: true, bias: false });
  return { name: "bench", baseName: "bench", sweep: null, file: "bench", span, vocab, context, dModel: d, layers, residuals, train: null, budgets: [], hash: "" };
}
const [d, blocks, context, batch] = QUICK ? [64, 2, 64, 4] : [128, 4, 128, 8];
const model = buildModel(lm(256, d!, blocks!, context!), { seed: 1, backend: "wasm" });
const data = {
  next: () => {
    const inputs = Int32Array.from({ length: batch! * context! }, (_, i) => (i * 7) % 256);
    return { rows: batch!, context: context!, inputs, targets: inputs.map((x) => (x + 7) % 256) };
  },
};
const trainer = new Trainer(
  model,
  {
    optimizer: { kind: "adamw", lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clip: 1, expertLr: null, decayAll: false },
    schedule: { kind: "constant", warmup: { steps: 0 }, minLr: 0 },
    totalSteps: 100,
    microBatches: 1,
  },
  data,
);
trainer.step();
const stepTimes: number[] = [];
for (let i = 0; i < (QUICK ? 2 : 6); i++) stepTimes.push(trainer.step().seconds);
stepTimes.sort((a, b) => a - b);
const median = stepTimes[Math.floor(stepTimes.length / 2)]!;

// --- report ---------------------------------------------------------------------
const fmt = (ms: number | null) => (ms === null ? "–" : ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
console.log(`\n| kernel | stock ms | runtime ms | speed-up |\n|---|---:|---:|---:|`);
for (const r of rows) console.log(`| ${r.what} | ${fmt(r.stock)} | ${fmt(r.patched)} | ${r.stock === null ? "runs at all" : (r.stock / r.patched).toFixed(1) + "×"} |`);
console.log(`\n| attention fwd+bwd (wasm) | batched ms | per-head ms | per-head / batched |\n|---|---:|---:|---:|`);
for (const a of attentionRows) console.log(`| ${a.shape} | ${fmt(a.batched)} | ${fmt(a.perHead)} | ${(a.perHead / a.batched).toFixed(2)} |`);
console.log(
  `\ndense LM on wasm (d=${d}, ${blocks} blocks, 4 heads, vocab 256, tied; batch ${batch}×${context}, ${model.paramCount().toLocaleString("en-US")} params): ` +
    `train step median ${(median * 1000).toFixed(0)} ms = ${Math.round((batch! * context!) / median).toLocaleString("en-US")} tokens/s`,
);
