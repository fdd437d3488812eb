/**
 * GFLOP/s of the wasm backend's matmul paths in one process: the wasm kernels
 * (XNNPACK through runtime/backend/kernels/batch-mat-mul-wasm.ts) against the
 * native OpenBLAS matmul (native/) on 1 and 2 threads, on the shapes the
 * issue-12 dense LM runs (2,048 tokens, d 256, FFW 1024, 4 heads of 64) and the
 * 1024² MFU probe. Ratios are what to compare: the machine is shared.
 *
 *   npx tsx bench/native-matmul.ts            (REPEATS=5 default)
 */
import * as tf from "@tensorflow/tfjs";
import { describeMatmul, nativeMatmul, nativeMatmulUnavailable, setNativeMatmulEnabled, setNativeThreads } from "../runtime/backend/kernels/native-matmul.js";
import { selectBackend } from "../runtime/backend/select.js";

const REPEATS = Number(process.env["REPEATS"] ?? 5);

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
setNativeThreads(1);
console.log(describeMatmul("wasm").replace(", 1 thread", ""));
const rows: string[] = [];
for (const s of SHAPES) {
  const a = tf.randomNormal(s.a);
  const b = tf.randomNormal(s.b);
  setNativeMatmulEnabled(false);
  const wasm = gflops(s, a, b);
  setNativeMatmulEnabled(true);
  setNativeThreads(1);
  const one = gflops(s, a, b);
  setNativeThreads(2);
  const two = gflops(s, a, b);
  tf.dispose([a, b]);
  rows.push(`| ${s.what} | ${wasm.toFixed(1)} | ${one.toFixed(1)} | ${two.toFixed(1)} | ${(one / wasm).toFixed(1)}× | ${(two / wasm).toFixed(1)}× |`);
}
console.log(`\nGFLOP/s, best of ${REPEATS} after a warm-up (timed through dataSync)`);
console.log("| matmul | wasm XNNPACK | OpenBLAS 1 thread | OpenBLAS 2 threads | 1 thread ÷ wasm | 2 threads ÷ wasm |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const row of rows) console.log(row);
