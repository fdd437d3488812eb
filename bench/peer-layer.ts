/**
 * One PEER layer step (forward + backward + AdamW update) on 2048 tokens,
 * d 256, h 4, k 16, key dim 128, for N = 64² … 1024² experts on wasm:
 * the sparse path (ExpertTables, fused JS expert kernels, lazy AdamW on touched
 * rows) and, where it fits, the dense path (tfjs Variable tables, tf.gather,
 * dense AdamW over all rows). Each configuration runs in its own process so
 * that peak RSS is its own.
 *
 * Also measured: the selected-score gradient through the score tensors (at 256²),
 * the gathered expert path (at 64² and 1024²) and the expert tables' update in
 * JS instead of the wasm kernel (mode sparse-js-update, at 64² and 1024²).
 *
 *   npx tsx bench/peer-layer.ts            # all sizes
 *   STEPS=5 SIZES=64,256 npx tsx bench/peer-layer.ts
 *   STEPS=3 SIZES=1024 MODES=sparse npx tsx bench/peer-layer.ts   # one size, one path
 *   STEPS=3 SIZES=1024 MODES=sparse,sparse-js-update ROUNDS=2 npx tsx bench/peer-layer.ts   # wasm vs JS update, alternating
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import type { PeerLayer } from "../ir/types.js";
import { registerRuntimeKernels } from "../runtime/backend/kernels/index.js";
import { Rng } from "../runtime/data/rng.js";
import { runtimeExpertBytes, sparseTableBytes } from "../runtime/experts/memory.js";
import { route } from "../runtime/experts/router.js";
import type { ForwardContext, NamedVariable } from "../runtime/layers/layer.js";
import { createPeerLayer } from "../kinds/peer/runtime.js";
import { setExpertUpdateKernel } from "../runtime/experts/sparse-table.js";
import { AdamW } from "../runtime/train/adamw.js";

const TOKENS = 2048;
const D = 256;
const HEADS = 4;
const TOPK = 16;
const KEY_DIM = 128;
const STEPS = Number(process.env.STEPS ?? 5);
const DENSE_MAX_SUBKEYS = 128;
/** The size at which the two ways of differentiating the selected scores are compared. */
const SCORE_PATH_SUBKEYS = 256;

/** The sizes at which the gathered expert path and the JS table update are measured too. */
const GATHERED_SUBKEYS = [64, 1024];

/**
 * sparse: the runtime layer (fused JS expert kernels); sparse-scores: with scoreGradient "scores";
 * sparse-gathered: with expertPath "gathered"; sparse-js-update: the tables' update in JS
 * (lazyAdamwRows) instead of the wasm kernel; dense: tfjs Variable tables, tf.gather, dense AdamW.
 */
type Mode = "sparse" | "sparse-scores" | "sparse-gathered" | "sparse-js-update" | "dense";

interface Result {
  readonly subKeys: number;
  readonly mode: Mode;
  readonly initS: number;
  readonly fwdMs: number[];
  readonly stepMs: number[];
  readonly updateMs: number[];
  /** The part of updateMs spent in the expert tables' lazy AdamW (ExpertTable.step). */
  readonly tableUpdateMs: number[];
  /** Process CPU time (user + system) of the step and of its update: less sensitive than wall time to other jobs on the cores. */
  readonly stepCpuMs: number[];
  readonly updateCpuMs: number[];
  readonly peakRssMiB: number;
  readonly wasmHeapMiB: number;
  readonly tableMiB: number;
  readonly staticMiB: number;
  readonly touchedRows: number;
}

function spec(subKeys: number): PeerLayer {
  const span = { file: "bench", offset: 0, length: 0, line: 1, column: 1, endLine: 1, endColumn: 1 };
  return {
    kind: "peer", path: "bench.peer", index: 0, span, argSpans: {},
    dModel: D, experts: subKeys * subKeys, subKeys, heads: HEADS, topk: TOPK, subTopk: TOPK, keyDim: KEY_DIM,
    queryNorm: "batch", keys: "shared", queryBias: false, act: "gelu_tanh", glu: false, scores: "softmax",
  };
}

const ctx: ForwardContext = { training: true, batch: 8, seqLen: TOKENS / 8, addAuxLoss: () => undefined, recordRouting: null };
const MiB = 1024 * 1024;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function gradsByName(vars: readonly NamedVariable[], grads: tf.NamedTensorMap): Map<string, tf.Tensor> {
  return new Map(vars.map((v) => [v.name, grads[v.variable.name]]));
}

async function child(subKeys: number, mode: Mode): Promise<Result> {
  await import("@tensorflow/tfjs-backend-wasm");
  await tf.setBackend("wasm");
  registerRuntimeKernels("wasm");
  const rng = Rng.fromSeed(1);
  const uniform = () => rng.nextFloat();
  const layerSpec = spec(subKeys);
  setExpertUpdateKernel(mode === "sparse-js-update" ? "js" : "wasm");
  const t0 = performance.now();
  const layer = createPeerLayer(layerSpec, {
    rng: uniform,
    dModel: D,
    scoreGradient: mode === "sparse-scores" ? "scores" : "keys",
    expertPath: mode === "sparse-gathered" ? "gathered" : "fused",
  });
  const x = tf.tensor2d(Float32Array.from({ length: TOKENS * D }, () => 2 * uniform() - 1), [TOKENS, D]);
  const r = tf.tensor2d(Float32Array.from({ length: TOKENS * D }, () => 2 * uniform() - 1), [TOKENS, D]);
  const adamConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decayAll: true };

  let vars: NamedVariable[] = [...layer.variables];
  let forward: () => tf.Tensor;
  let optimizer: AdamW;
  if (mode !== "dense") {
    forward = () => layer.apply(x, ctx);
    optimizer = new AdamW(vars, layer.sparseTables, adamConfig);
  } else {
    // Dense path: the same routing, tables as tfjs Variables, tf.gather, tfjs autodiff, dense AdamW.
    const U = tf.variable(tf.tensor2d(layer.down.table, [layerSpec.experts, D]));
    const V = tf.variable(tf.tensor2d(layer.up.table, [layerSpec.experts, D]));
    vars = [...vars, { name: "bench.peer.u", variable: U, noDecay: false }, { name: "bench.peer.v", variable: V, noDecay: false }];
    const router = { path: "bench.peer", numExperts: layerSpec.experts, heads: HEADS, topk: TOPK, subTopk: TOPK, subKeys, keyDim: KEY_DIM, scores: "softmax" as const };
    forward = () => {
      const { ids, gates } = route(router, layer.query, x, ctx);
      const idT = tf.tensor1d(ids, "int32");
      const slots = HEADS * TOPK;
      const u = tf.reshape(tf.gather(U, idT), [TOKENS, slots, D]);
      const v = tf.reshape(tf.gather(V, idT), [TOKENS, slots, D]);
      const a = tf.sum(tf.mul(u, tf.expandDims(x, 1)), 2);
      const z = tf.mul(tf.mul(a, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(a, tf.mul(0.044715, tf.pow(a, 3)))))));
      return tf.sum(tf.mul(v, tf.expandDims(tf.mul(gates, z), 2)), 1);
    };
    optimizer = new AdamW(vars, [], adamConfig);
  }
  // Time the expert tables' own update inside optimizer.apply.
  let tableStepMs = 0;
  for (const table of layer.sparseTables) {
    const step = table.step.bind(table);
    table.step = (config) => {
      const begin = performance.now();
      step(config);
      tableStepMs += performance.now() - begin;
    };
  }
  const initS = (performance.now() - t0) / 1000;
  const fwdMs: number[] = [];
  const stepMs: number[] = [];
  const updateMs: number[] = [];
  const tableUpdateMs: number[] = [];
  const stepCpuMs: number[] = [];
  const updateCpuMs: number[] = [];
  const cpuMs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let touchedRows = 0;
  for (let s = 0; s <= STEPS; s++) {
    let start = performance.now();
    tf.tidy(() => forward().dataSync());
    const fwd = performance.now() - start;
    start = performance.now();
    const cpuStart = cpuMs();
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(forward(), r)) as tf.Scalar, vars.map((v) => v.variable));
    value.dataSync();
    touchedRows = layer.down.touchedRows;
    tableStepMs = 0;
    const cpuUpdate = cpuMs();
    const startUpdate = performance.now();
    optimizer.apply(gradsByName(vars, grads), 1e-3, 1e-3);
    const update = performance.now() - startUpdate;
    const total = performance.now() - start;
    const cpuEnd = cpuMs();
    value.dispose();
    for (const g of Object.values(grads)) g.dispose();
    if (s > 0) {
      fwdMs.push(fwd);
      stepMs.push(total);
      updateMs.push(update);
      tableUpdateMs.push(tableStepMs);
      stepCpuMs.push(cpuEnd - cpuStart);
      updateCpuMs.push(cpuEnd - cpuUpdate);
    }
  }
  return {
    subKeys, mode, initS, fwdMs, stepMs, updateMs, tableUpdateMs, stepCpuMs, updateCpuMs, touchedRows,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    wasmHeapMiB: (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength / MiB,
    // Dense: the JS tables (still allocated, unused) plus U, V and their Adam moments in the wasm heap.
    tableMiB: (runtimeExpertBytes(layer) + (mode === "dense" ? 2 * layerSpec.experts * D * 4 * 3 : 0)) / MiB,
    staticMiB: sparseTableBytes(layerSpec, TOKENS) / MiB,
  };
}

function parent(): void {
  const sizes = (process.env.SIZES ?? "64,128,256,512,1024").split(",").map(Number);
  const self = fileURLToPath(import.meta.url);
  const results: Result[] = [];
  const modes = process.env.MODES?.split(",");
  // ROUNDS > 1 repeats the list (alternating the paths) for comparisons on a busy machine.
  const rounds = Number(process.env.ROUNDS ?? 1);
  const once = sizes.flatMap((s): [number, Mode][] => [
    [s, "sparse"],
    ...(s <= DENSE_MAX_SUBKEYS ? [[s, "dense"] as [number, Mode]] : []),
    ...(s === SCORE_PATH_SUBKEYS ? [[s, "sparse-scores"] as [number, Mode]] : []),
    ...(GATHERED_SUBKEYS.includes(s) ? [[s, "sparse-gathered"] as [number, Mode], [s, "sparse-js-update"] as [number, Mode]] : []),
  ]).filter(([, mode]) => modes === undefined || modes.includes(mode));
  const runs = Array.from({ length: rounds }, (_, r) => (r % 2 === 0 ? once : [...once].reverse())).flat();
  for (const [subKeys, mode] of runs) {
    const out = spawnSync(process.execPath, [...process.execArgv, self, "--child", String(subKeys), mode], {
      encoding: "utf8",
      maxBuffer: 1 << 24,
      env: process.env,
    });
    const line = out.stdout.split("\n").find((l) => l.startsWith("RESULT "));
    if (out.status !== 0 || line === undefined) {
      console.log(`N=${subKeys}^2 ${mode}: failed (${out.status})\n${out.stderr.slice(-2000)}`);
      continue;
    }
    const result = JSON.parse(line.slice(7)) as Result;
    results.push(result);
    console.error(`done N=${subKeys}^2 ${mode}: ${median(result.stepMs).toFixed(0)} ms/step`);
  }
  const base = results.find((r) => r.mode === "sparse" && r.subKeys === sizes[0]);
  console.log(`\nPEER layer step: ${TOKENS} tokens, d ${D}, h ${HEADS}, k ${TOPK}, key dim ${KEY_DIM}, query BN, wasm (1 thread); median of ${STEPS} steps after 1 warm-up`);
  console.log("| N | path | init s | fwd ms | step ms (fwd+bwd+update) | update ms (of it expert tables) | update / step (wall; CPU time) | step / N=64² | peak RSS MiB | wasm heap MiB | expert tables + Adam state MiB (static) | RSS − tables − state MiB | rows touched per step |");
  console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of results) {
    const ratio = base ? (median(r.stepMs) / median(base.stepMs)).toFixed(2) : "-";
    console.log(
      `| ${r.subKeys}² = ${(r.subKeys ** 2).toLocaleString("en-US")} | ${r.mode} | ${r.initS.toFixed(1)} | ${median(r.fwdMs).toFixed(0)} | ` +
        `${median(r.stepMs).toFixed(0)} (min ${Math.min(...r.stepMs).toFixed(0)}) | ${median(r.updateMs).toFixed(0)} (${median(r.tableUpdateMs).toFixed(0)}) | ` +
        `${(100 * median(r.stepMs.map((s, i) => r.updateMs[i] / s))).toFixed(0)}%; ${(100 * median(r.stepCpuMs.map((s, i) => r.updateCpuMs[i] / s))).toFixed(0)}% | ${ratio} | ` +
        `${r.peakRssMiB.toFixed(0)} | ${r.wasmHeapMiB.toFixed(0)} | ${r.tableMiB.toFixed(0)} (${r.mode === "dense" ? "dense" : r.staticMiB.toFixed(0)}) | ` +
        `${(r.peakRssMiB - r.tableMiB).toFixed(0)} | ${r.touchedRows.toLocaleString("en-US")} |`,
    );
  }
}

if (process.argv[2] === "--child") {
  const result = await child(Number(process.argv[3]), process.argv[4] as Mode);
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exit(0);
} else {
  parent();
}
