/**
 * The host expert kernels on 1 thread and on THREADS threads (kernel-pool.ts),
 * alternating in one process so that both see the same machine load:
 *
 * - dispatch: the cost of one split call with no work (post the shares, wake
 *   the workers, wait for them), the floor under which splitting cannot pay;
 * - passes: on one thread, the fused backward loop (fused-loops.ts) against the
 *   split backward's two passes (split-backward.ts), the extra work splitting costs;
 * - kernel: the fused PEER forward + backward alone (peerExperts, d 256, 64
 *   slots) at several token counts, with the size threshold off, to see where
 *   splitting starts to pay;
 * - layer: one PEER layer step (fwd + bwd + AdamW; 2048 tokens, d 256, h 4,
 *   k 16, key dim 128, N = LAYER_SUBKEYS², query BN), as bench/peer-layer.ts;
 * - lm: one Trainer step of specs/peer-1m.peer with LM_SUBKEYS² experts
 *   (2048 tokens per step).
 *
 * Each configuration has its own model (1-thread tables stay unshared, as in a
 * `--threads 1` run); rounds alternate which goes first. Reported: median step
 * wall time and process CPU time (all threads; CPU / wall above 1 means the
 * workers ran at the same time as the main thread), the main thread's own CPU
 * time (the critical path when the workers keep up; unlike wall time it does
 * not grow when other jobs take the cores) and the per-round wall ratio.
 *
 *   npx tsx bench/threads.ts
 *   THREADS=2 ROUNDS=6 PARTS=passes,layer,lm LAYER_SUBKEYS=256 LM_SUBKEYS=256 npx tsx bench/threads.ts
 */
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { checkSource } from "../compiler/check/index.js";
import type { PeerLayer } from "../ir/types.js";
import { createPeerLayer } from "../kinds/peer/runtime.js";
import { selectBackend } from "../runtime/backend/select.js";
import { BatchSampler, openDataset } from "../runtime/data/index.js";
import { Rng } from "../runtime/data/rng.js";
import { scalarActivation } from "../runtime/experts/activations.js";
import { peerExperts } from "../runtime/experts/expert-kernels.js";
import { peerBackwardLoop, peerForwardLoop } from "../runtime/experts/fused-loops.js";
import type { KernelJob } from "../runtime/experts/kernel-jobs.js";
import { parallelCallCount, runSplit, setExpertThreads, setMinParallelWork, splitTimes, startExpertWorkers } from "../runtime/experts/kernel-pool.js";
import { addRowGradients, peerTokenBackwardLoop } from "../runtime/experts/split-backward.js";
import { ExpertTable } from "../runtime/experts/sparse-table.js";
import type { ForwardContext, NamedVariable } from "../runtime/layers/layer.js";
import { buildModel } from "../runtime/model/model.js";
import { AdamW } from "../runtime/train/adamw.js";
import { Trainer } from "../runtime/train/trainer.js";

const THREADS = Number(process.env.THREADS ?? 2);
const ROUNDS = Number(process.env.ROUNDS ?? 6);
const PARTS = (process.env.PARTS ?? "dispatch,passes,kernel,layer,lm").split(",");
const LAYER_SUBKEYS = Number(process.env.LAYER_SUBKEYS ?? 256);
const LM_SUBKEYS = Number(process.env.LM_SUBKEYS ?? 256);
const KERNEL_TOKENS = (process.env.KERNEL_TOKENS ?? "8,32,128,512,2048").split(",").map(Number);

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

interface Timing {
  wall: number[];
  cpu: number[];
  /** CPU time of the main thread alone: the critical path when the workers keep up (10 ms resolution). */
  mainCpu: number[];
}

/**
 * CPU ms of this process's main thread (Linux: /proc/self/task/<pid>/stat, utime + stime
 * in clock ticks of 10 ms); NaN elsewhere. Unlike wall time, it does not grow when other
 * jobs take the cores, so it shows how the work divides even on a loaded machine.
 */
function mainThreadCpuMs(): number {
  try {
    const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/**
 * Runs `steps[c]` for each configuration c once per round (order alternating), after one warm-up each.
 * With `settle`, each timed sample follows an untimed run of the same configuration: the first call
 * after switching costs more (on a loaded machine about a quarter more CPU for the split kernels),
 * which a training run, always on one configuration, never pays.
 */
function alternate(steps: readonly (() => void)[], threads: readonly number[], rounds: number, settle = false): Timing[] {
  const timings = steps.map((): Timing => ({ wall: [], cpu: [], mainCpu: [] }));
  for (let round = -1; round < rounds; round++) {
    const order = round % 2 === 0 ? steps.map((_, i) => i) : steps.map((_, i) => steps.length - 1 - i);
    for (const c of order) {
      setExpertThreads(threads[c]!);
      if (settle) steps[c]!();
      const cpu0 = cpuMs();
      const main0 = mainThreadCpuMs();
      const t0 = performance.now();
      steps[c]!();
      const wall = performance.now() - t0;
      if (round >= 0) {
        timings[c]!.wall.push(wall);
        timings[c]!.cpu.push(cpuMs() - cpu0);
        timings[c]!.mainCpu.push(mainThreadCpuMs() - main0);
      }
    }
  }
  return timings;
}

function row(label: string, timings: Timing[]): string {
  const [one, many] = timings as [Timing, Timing];
  const ratios = one.wall.map((w, i) => w / many.wall[i]!);
  const side = (t: Timing) =>
    `${median(t.wall).toFixed(1)} (CPU ${(median(t.cpu) / median(t.wall)).toFixed(2)}×) | ${median(t.cpu).toFixed(0)} | ${median(t.mainCpu).toFixed(0)}`;
  return (
    `| ${label} | ${side(one)} | ${side(many)} | ${median(ratios).toFixed(2)} | ${ratios.map((r) => r.toFixed(2)).join(", ")} | ` +
    `${(median(one.mainCpu) / median(many.mainCpu)).toFixed(2)} |`
  );
}

const D = 256;
const ctx: ForwardContext = { training: true, batch: 8, seqLen: 256, addAuxLoss: () => undefined, recordRouting: null };

/** Median microseconds of a split call whose shares do nothing (a PKM forward over 0 tokens). */
function dispatchPart(): string {
  const empty = new Float32Array(new SharedArrayBuffer(4));
  const ids = new Int32Array(new SharedArrayBuffer(4));
  const job: KernelJob = { kind: "pkmForward", V: empty, gates: empty, ids, out: empty, tokens: 0, slots: 1, d: 1 };
  const jobs = Array.from({ length: THREADS }, () => job);
  const samples: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t0 = performance.now();
    runSplit(jobs, () => undefined);
    if (i >= 200) samples.push((performance.now() - t0) * 1000);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return `split call with empty shares on ${THREADS} threads: median ${median(samples).toFixed(0)} µs, 90th percentile ${sorted[Math.floor(sorted.length * 0.9)]!.toFixed(0)} µs (1800 calls)`;
}

/** CPU ms of the fused backward and of the two passes, one thread, 512 tokens × 64 slots, d 256, 65,536 rows. */
function passesPart(): string {
  const tokens = 512;
  const slots = 64;
  const rows = 65536;
  const n = tokens * slots;
  const rng = Rng.fromSeed(3);
  const uniform = () => 2 * rng.nextFloat() - 1;
  const U = Float32Array.from({ length: rows * D }, () => 0.1 * uniform());
  const V = Float32Array.from({ length: rows * D }, () => 0.1 * uniform());
  const ids = Int32Array.from({ length: n }, () => Math.floor(rng.nextFloat() * rows));
  const x = Float32Array.from({ length: tokens * D }, uniform);
  const dy = Float32Array.from({ length: tokens * D }, uniform);
  const gates = Float32Array.from({ length: n }, uniform);
  const pre = new Float32Array(n);
  const sigma = scalarActivation("gelu");
  const base = { U, V, x, gates, ids, pre, tokens, slots, d: D, sigma };
  peerForwardLoop(base, new Float32Array(tokens * D));
  const offsets = Int32Array.from({ length: n }, (_, i) => i * D);
  const [dU, dV] = [new Float32Array(n * D), new Float32Array(n * D)];
  const dx = new Float32Array(tokens * D);
  const dGates = new Float32Array(n);
  const [coefV, coefU] = [new Float64Array(n), new Float64Array(n)];
  const cpuOf = (f: () => void): number => {
    const c0 = cpuMs();
    f();
    return cpuMs() - c0;
  };
  const fused: number[] = [];
  const tokenPass: number[] = [];
  const rowPass: number[] = [];
  for (let round = 0; round < ROUNDS + 1; round++) {
    const a = cpuOf(() => peerBackwardLoop({ ...base, dy, dU, dV, offU: offsets, offV: offsets, dx, dGates }));
    const b = cpuOf(() => peerTokenBackwardLoop({ ...base, dy, dx, dGates, coefV, coefU }));
    const c = cpuOf(() => {
      addRowGradients({ grad: dV, offsets, coef: coefV, src: dy }, tokens, slots, D, 0, n * D);
      addRowGradients({ grad: dU, offsets, coef: coefU, src: x }, tokens, slots, D, 0, n * D);
    });
    if (round > 0) [fused, tokenPass, rowPass].forEach((list, i) => list.push([a, b, c][i]!));
  }
  const [f, t, r] = [median(fused), median(tokenPass), median(rowPass)];
  return `one thread, ${tokens} tokens × ${slots} slots, d ${D}: fused backward ${f.toFixed(1)} ms CPU; two passes ${t.toFixed(1)} + ${r.toFixed(1)} = ${(t + r).toFixed(1)} ms (${((t + r) / f).toFixed(2)}× the fused loop)`;
}

function kernelPart(): string[] {
  const slots = 64;
  const rows = 65536;
  const before = setMinParallelWork(0);
  const lines: string[] = [];
  const rng = Rng.fromSeed(2);
  const uniform = () => 2 * rng.nextFloat() - 1;
  const tablesFor = (threads: number) =>
    ["u", "v"].map((name) => new ExpertTable(name, rows, D, (a) => a.forEach((_, i) => (a[i] = uniform() * 0.1)), { threads }));
  const [one, many] = [tablesFor(1), tablesFor(THREADS)];
  for (const tokens of KERNEL_TOKENS) {
    const ids = Int32Array.from({ length: tokens * slots }, () => Math.floor(rng.nextFloat() * rows));
    const x = tf.tensor2d(Float32Array.from({ length: tokens * D }, uniform), [tokens, D]);
    const g = tf.tensor2d(Float32Array.from({ length: tokens * slots }, uniform), [tokens, slots]);
    const step = (t: ExpertTable[]) => () => {
      const [dx] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(peerExperts(a as tf.Tensor2D, b as tf.Tensor2D, ids, t[0]!, t[1]!, "gelu")))([x, g]);
      dx!.dataSync();
      tf.dispose(dx!);
      for (const table of t) table.zeroGrads();
    };
    // Small calls are fast: repeat them so one timed sample is about the same work at every size.
    const repeat = Math.max(1, Math.round(512 / tokens));
    const repeated = (f: () => void) => () => {
      for (let i = 0; i < repeat; i++) f();
    };
    const timings = alternate([repeated(step(one)), repeated(step(many))], [1, THREADS], ROUNDS, true);
    for (const t of timings) for (const k of ["wall", "cpu", "mainCpu"] as const) t[k] = t[k].map((v) => v / repeat);
    lines.push(row(`kernel fwd+bwd, ${tokens} tokens (${(tokens * slots * D / 1e3).toFixed(0)} K multiply-adds per pass)`, timings));
    tf.dispose([x, g]);
  }
  setMinParallelWork(before);
  return lines;
}

function layerSpec(subKeys: number): PeerLayer {
  const span = { file: "bench", offset: 0, length: 0, line: 1, column: 1, endLine: 1, endColumn: 1 };
  return {
    kind: "peer", path: "bench.peer", index: 0, span, argSpans: {},
    dModel: D, experts: subKeys * subKeys, subKeys, heads: 4, topk: 16, subTopk: 16, keyDim: 128,
    queryNorm: "batch", keys: "shared", queryBias: false, act: "gelu_tanh", glu: false, scores: "softmax",
  };
}

function layerPart(): string {
  const tokens = 2048;
  const rng = Rng.fromSeed(1);
  const uniform = () => rng.nextFloat();
  const x = tf.tensor2d(Float32Array.from({ length: tokens * D }, () => 2 * uniform() - 1), [tokens, D]);
  const r = tf.tensor2d(Float32Array.from({ length: tokens * D }, () => 2 * uniform() - 1), [tokens, D]);
  const stepFor = (threads: number) => {
    setExpertThreads(threads); // the tables are allocated shared or not at construction
    const layer = createPeerLayer(layerSpec(LAYER_SUBKEYS), { rng: uniform, dModel: D });
    const vars: NamedVariable[] = [...layer.variables];
    const optimizer = new AdamW(vars, layer.sparseTables, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decayAll: true });
    return () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x, ctx), r)) as tf.Scalar, vars.map((v) => v.variable));
      value.dataSync();
      optimizer.apply(new Map(vars.map((v) => [v.name, grads[v.variable.name]!])), 1e-3, 1e-3);
      tf.dispose([value, ...Object.values(grads)]);
    };
  };
  const steps = [stepFor(1), stepFor(THREADS)];
  return row(`PEER layer step, N = ${LAYER_SUBKEYS}²`, alternate(steps, [1, THREADS], ROUNDS));
}

function lmPart(): string {
  const file = fileURLToPath(new URL("../specs/peer-1m.peer", import.meta.url));
  const ir = checkSource(file, fs.readFileSync(file, "utf8").replace("experts: 1024^2", `experts: ${LM_SUBKEYS}^2`)).program.models[0]!;
  const train = ir.train!;
  const ds = openDataset({ path: null, tokenizer: "bytes", valFraction: train.data.valFraction, context: train.context });
  const stepFor = (threads: number) => {
    setExpertThreads(threads);
    const model = buildModel(ir, { seed: 0, backend: "wasm" });
    const sampler = new BatchSampler(ds.source, ds.train, train.context, train.microBatch, 0);
    const trainer = new Trainer(
      model,
      { optimizer: train.optimizer, schedule: train.schedule, totalSteps: 1000, microBatches: train.batch / train.microBatch },
      { next: () => sampler.next() },
    );
    return () => void trainer.step();
  };
  const steps = [stepFor(1), stepFor(THREADS)];
  return row(`specs/peer-1m.peer Trainer step, N = ${LM_SUBKEYS}², ${train.batch * train.context} tokens`, alternate(steps, [1, THREADS], ROUNDS));
}

await selectBackend("wasm");
setExpertThreads(THREADS);
startExpertWorkers();
const load = () => fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const loadBefore = load();
const lines: string[] = [];
const callsBefore = parallelCallCount();
const dispatch = PARTS.includes("dispatch") ? dispatchPart() : null;
const passes = PARTS.includes("passes") ? passesPart() : null;
if (PARTS.includes("kernel")) lines.push(...kernelPart());
if (PARTS.includes("layer")) lines.push(layerPart());
if (PARTS.includes("lm")) lines.push(lmPart());
console.log(`\nexpert kernels, 1 vs ${THREADS} threads, wasm; ${new Date().toISOString()}; load average ${loadBefore} before, ${load()} after; median of ${ROUNDS} alternating rounds after 1 warm-up each`);
console.log(
  `| what | 1 thread: wall ms | CPU ms | main-thread CPU ms | ${THREADS} threads: wall ms | CPU ms | main-thread CPU ms | wall 1 ÷ ${THREADS} (median) | per round | main-thread CPU 1 ÷ ${THREADS} |`,
);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|");
for (const line of lines) console.log(line);
const split = splitTimes();
console.log(
  `(${parallelCallCount() - callsBefore} kernel calls ran split; the calling thread spent ${(split.localMs / 1000).toFixed(1)} s on its own shares ` +
    `and ${(split.waitMs / 1000).toFixed(1)} s waiting for the workers after them)`,
);
if (dispatch) console.log(dispatch);
if (passes) console.log(passes);
process.exit(0);
