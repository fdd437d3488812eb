/**
 * GFLOP/s of the wasm backend's matmul paths in one process: the wasm kernels
 * (XNNPACK through runtime/backend/kernels/batch-mat-mul-wasm.ts) against the
 * native matmul (native/) on 1 and 2 threads, OpenBLAS and peerc's own kernel
 * (its fallback where OpenBLAS is missing), on the shapes the
 * issue-12 dense LM runs (2,048 tokens, d 256, FFW 1024, 4 heads of 64) and the
 * 1024² MFU probe; then that LM's Trainer.step for each kernel on 1 and 2
 * threads, interleaved in one process. Ratios are what to compare: the machine is shared.
 *
 *   npx tsx bench/native-matmul.ts            (REPEATS=5, STEPS=3 defaults; STEPS=0 skips the LM)
 */
import * as tf from "@tensorflow/tfjs";
import { checkSource } from "../compiler/check/index.js";
import {
  describeMatmul, nativeMatmul, nativeMatmulUnavailable, setNativeMatmulEnabled, setNativeThreads, useNativeKernel, type NativeKernel,
} from "../runtime/backend/kernels/native-matmul.js";
import { selectBackend } from "../runtime/backend/select.js";
import { buildModel } from "../runtime/model/model.js";
import { Trainer } from "../runtime/train/trainer.js";

const REPEATS = Number(process.env["REPEATS"] ?? 5);
const STEPS = Number(process.env["STEPS"] ?? 3);

interface Shape {
  readonly what: string;
  readonly a: number[];
  readonly b: number[];
  readonly transposeA?: boolean;
  readonly transposeB?: boolean;
}

const SHAPES: Shape[] = [
  { what: "probe 1024²", a: [1024, 1024], b: [1024, 1024] },
  { what: "FFW up [2048,256]·[256,1024]", a: [2048, 256], b: [256, 1024] },
  { what: "FFW down [2048,1024]·[1024,256]", a: [2048, 1024], b: [1024, 256] },
  { what: "dX = dY·Wᵀ [2048,1024]·[256,1024]ᵀ", a: [2048, 1024], b: [256, 1024], transposeB: true },
  { what: "dW = Xᵀ·dY [2048,256]ᵀ·[2048,1024]", a: [2048, 256], b: [2048, 1024], transposeA: true },
  { what: "QKV [2048,256]·[256,768]", a: [2048, 256], b: [256, 768] },
  { what: "scores QKᵀ [64,128,64]·[64,128,64]ᵀ", a: [64, 128, 64], b: [64, 128, 64], transposeB: true },
  { what: "tied head [2048,256]·[256,256]ᵀ", a: [2048, 256], b: [256, 256], transposeB: true },
];

function flopsOf(s: Shape): number {
  const m = s.transposeA ? s.a[s.a.length - 1]! : s.a[s.a.length - 2]!;
  const k = s.transposeA ? s.a[s.a.length - 2]! : s.a[s.a.length - 1]!;
  const n = s.transposeB ? s.b[s.b.length - 2]! : s.b[s.b.length - 1]!;
  const batch = s.a.slice(0, -2).reduce((x, y) => x * y, 1);
  return 2 * batch * m * n * k;
}

/** Best-of-REPEATS GFLOP/s after one warm-up (other work on the machine can only slow a run down). */
function gflops(s: Shape, a: tf.Tensor, b: tf.Tensor): number {
  let best = Infinity;
  for (let i = 0; i <= REPEATS; i++) {
    const start = performance.now();
    const c = tf.matMul(a, b, s.transposeA ?? false, s.transposeB ?? false);
    c.dataSync();
    const seconds = (performance.now() - start) / 1000;
    c.dispose();
    if (i > 0) best = Math.min(best, seconds);
  }
  return flopsOf(s) / best / 1e9;
}

await selectBackend("wasm");
if (nativeMatmul() === null) {
  console.log(`native matmul unavailable: ${nativeMatmulUnavailable()}`);
  process.exit(1);
}
const kernels: NativeKernel[] = useNativeKernel("openblas") ? ["openblas", "builtin"] : ["builtin"];
for (const kernel of kernels) {
  useNativeKernel(kernel);
  setNativeThreads(1);
  console.log(describeMatmul("wasm"));
}
const rows: string[] = [];
for (const s of SHAPES) {
  const a = tf.randomNormal(s.a);
  const b = tf.randomNormal(s.b);
  setNativeMatmulEnabled(false);
  const cells = [gflops(s, a, b)];
  setNativeMatmulEnabled(true);
  for (const kernel of kernels) {
    useNativeKernel(kernel);
    for (const threads of [1, 2]) {
      setNativeThreads(threads);
      cells.push(gflops(s, a, b));
    }
  }
  tf.dispose([a, b]);
  rows.push(`| ${s.what} | ${cells.map((g) => g.toFixed(1)).join(" | ")} | ${(cells[1]! / cells[0]!).toFixed(1)}× |`);
}
useNativeKernel(kernels[0]!);
const names: Record<NativeKernel, string> = { openblas: "OpenBLAS", builtin: "peerc sgemm" };
console.log(`\nGFLOP/s, best of ${REPEATS} after a warm-up (timed through dataSync)`);
console.log(`| matmul | wasm XNNPACK | ${kernels.map((k) => `${names[k]} 1 thread | ${names[k]} 2 threads`).join(" | ")} | ${names[kernels[0]!]} 1 thread ÷ wasm |`);
console.log(`|---|---:|${kernels.map(() => "---:|---:|").join("")}---:|`);
for (const row of rows) console.log(row);

// --- the issue-12 dense LM (bench/vs-torch.ts's "dense"): step time for each kernel on 1 and 2 threads ---
const DENSE = `model dense {
  vocab 256
  context 128
  embed tokens(dim: 256)
  positions rope
  repeat 4 as i {
    residual {
      norm rms
      attention(heads: 4, head_dim: 64, causal)
    }
    residual {
      norm rms
      ffw(hidden: 1024, act: gelu)
    }
  }
  norm rms
  lm_head tied
}
train dense {
  batch 16
  steps 400
  optimizer adamw(lr: 3e-3, betas: (0.9, 0.95), weight_decay: 0.1, clip: 1.0)
  schedule cosine(warmup: 5%, min_lr: 10%)
  data bytes(val: 5%)
}
`;
if (STEPS > 0) {
  const ir = checkSource("bench/dense.peer", DENSE).program.models[0]!;
  const lm = buildModel(ir, { seed: 1, backend: "wasm" });
  let state = 1;
  const data = {
    next: () => {
      const n = 16 * 128;
      const inputs = new Int32Array(n);
      const targets = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        inputs[i] = state >>> 24;
        targets[i] = (state >>> 16) & 255;
      }
      return { rows: 16, context: 128, inputs, targets };
    },
  };
  const trainer = new Trainer(lm, { optimizer: ir.train!.optimizer, schedule: ir.train!.schedule, totalSteps: 400, microBatches: 1 }, data);
  trainer.step(); // warm-up
  // Every kernel × thread count in turn, rotating the order each round.
  const combos = kernels.flatMap((kernel) => [1, 2].map((threads) => ({ kernel, threads })));
  const seconds = combos.map(() => [] as number[]);
  for (let i = 0; i < STEPS; i++) {
    for (let j = 0; j < combos.length; j++) {
      const c = (i + j) % combos.length;
      useNativeKernel(combos[c]!.kernel);
      setNativeThreads(combos[c]!.threads);
      seconds[c]!.push(trainer.step().seconds);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  console.log(`\ndense LM Trainer.step (2,048 tokens), median of ${STEPS} steps each, interleaved:`);
  combos.forEach((c, i) => {
    const t = median(seconds[i]!);
    console.log(`  ${names[c.kernel]}, ${c.threads} thread${c.threads === 1 ? "" : "s"}: ${t.toFixed(2)} s = ${Math.round(2048 / t)} tokens/s`);
  });
}
