/**
 * The native matmul (native/, runtime/backend/kernels/native-matmul.ts), on
 * each of its kernels (the system OpenBLAS and peerc's own), against the wasm
 * kernels it replaces, in one process: forward and gradients with transposes
 * and broadcast batches, odd sizes, offsets and leading dimensions, thread
 * counts, and a few training steps of specs/tiny.peer. Where the addon or
 * OpenBLAS is missing those tests are reported as skipped with the reason; the
 * fallback tests always run.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { checkSource } from "../../compiler/check/index.js";
import type { IRModel } from "../../ir/types.js";
import { selectBackend } from "../../runtime/backend/select.js";
import {
  describeMatmul, nativeMatmul, nativeMatmulUnavailable, setNativeMatmulEnabled, setNativeThreads, useNativeKernel, type NativeKernel,
} from "../../runtime/backend/kernels/native-matmul.js";
import { buildModel } from "../../runtime/model/model.js";
import { trainMain } from "../../runtime/train/main.js";
import { Trainer } from "../../runtime/train/trainer.js";
import { ADAMW, denseModel, SPAN } from "./core-helpers.js";

const repo = path.resolve(import.meta.dirname, "../..");
const why = nativeMatmulUnavailable();
const hasOpenBlas = why === "" && useNativeKernel("openblas");
const defaultKernel: NativeKernel = hasOpenBlas ? "openblas" : "builtin";
/** Why a kernel's tests are skipped ("" when they run). */
const skipWhy = (kernel: NativeKernel): string => why || (kernel === "openblas" && !hasOpenBlas ? "OpenBLAS (libopenblas.so.0) not found" : "");

beforeAll(async () => {
  await selectBackend("wasm");
});

afterEach(() => setNativeMatmulEnabled(true));
afterAll(() => useNativeKernel(defaultKernel));

/** Runs fn with the native matmul on and then off; returns both results as plain arrays. */
function bothWays<T>(fn: () => T): { native: T; wasm: T } {
  setNativeMatmulEnabled(true);
  const native = fn();
  setNativeMatmulEnabled(false);
  const wasm = fn();
  setNativeMatmulEnabled(true);
  return { native, wasm };
}

function expectClose(actual: Float32Array, expected: Float32Array, tolerance = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  expect(worst).toBeLessThanOrEqual(tolerance * Math.max(1, scale));
}

const seeded = (shape: number[], seed: number): tf.Tensor => tf.randomUniform(shape, -1, 1, "float32", seed);

interface Case {
  readonly a: number[];
  readonly b: number[];
  readonly transposeA: boolean;
  readonly transposeB: boolean;
}

const CASES: Case[] = [];
for (const transposeA of [false, true]) {
  for (const transposeB of [false, true]) {
    // Stored (pre-transpose) shapes: 2-D, batched a with 2-D b, both batched, broadcast batches, 2-D a with batched b.
    CASES.push({ a: transposeA ? [7, 5] : [5, 7], b: transposeB ? [3, 7] : [7, 3], transposeA, transposeB });
    CASES.push({ a: transposeA ? [4, 7, 5] : [4, 5, 7], b: transposeB ? [3, 7] : [7, 3], transposeA, transposeB });
    CASES.push({ a: transposeA ? [3, 9, 6] : [3, 6, 9], b: transposeB ? [3, 4, 9] : [3, 9, 4], transposeA, transposeB });
    CASES.push({ a: transposeA ? [2, 1, 7, 5] : [2, 1, 5, 7], b: transposeB ? [1, 3, 4, 7] : [1, 3, 7, 4], transposeA, transposeB });
    CASES.push({ a: transposeA ? [7, 5] : [5, 7], b: transposeB ? [3, 4, 7] : [3, 7, 4], transposeA, transposeB });
  }
}
const sameBatches = (c: Case): boolean => c.a.slice(0, -2).join() === c.b.slice(0, -2).join();
const label = (c: Case): string => `[${c.a}]${c.transposeA ? "ᵀ" : ""} · [${c.b}]${c.transposeB ? "ᵀ" : ""}`;

const MATMUL_LINE: Record<NativeKernel, string> = { openblas: "matmul: OpenBLAS \\d+\\.\\d+\\.\\d+", builtin: "matmul: peerc sgemm (AVX2\\+FMA|SSE2|generic)" };

for (const kernel of ["openblas", "builtin"] as const) describe.skipIf(skipWhy(kernel) !== "")(`native matmul (${kernel}) vs the wasm kernels${skipWhy(kernel) ? ` (skipped: ${skipWhy(kernel)})` : ""}`, () => {
  beforeEach(() => {
    expect(useNativeKernel(kernel)).toBe(true);
  });

  it("says on the first line which matmul runs, with its threads", () => {
    setNativeThreads(2);
    expect(describeMatmul("wasm")).toMatch(new RegExp(`^${MATMUL_LINE[kernel]} \\(native, 2 threads(; OpenBLAS not found: .*)?\\)$`));
    setNativeThreads(1);
    expect(describeMatmul("wasm")).toMatch(/\(native, 1 thread(; OpenBLAS not found: .*)?\)$/);
    expect(describeMatmul("webgpu")).toBe("");
    setNativeMatmulEnabled(false);
    expect(describeMatmul("wasm")).toBe("matmul: wasm XNNPACK (native kernels unavailable: turned off for this process)");
  });

  it.each(CASES.map((c) => [label(c), c] as const))("forward (and both gradients, for equal batches) agree: %s", (_name, c) => {
    const a = seeded(c.a, 1);
    const b = seeded(c.b, 2);
    const { native, wasm } = bothWays(() =>
      tf.tidy(() => {
        const y = tf.matMul(a, b, c.transposeA, c.transposeB);
        const forward = { shape: y.shape, y: y.dataSync() as Float32Array };
        // tfjs-core's BatchMatMul gradient does not sum over broadcast batches (the #8721 error), on any kernel.
        if (!sameBatches(c)) return { ...forward, da: new Float32Array(), db: new Float32Array() };
        const w = seeded(y.shape, 3); // a non-uniform upstream gradient
        const [da, db] = tf.grads((x: tf.Tensor, z: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, z, c.transposeA, c.transposeB), w)))([a, b]);
        return { ...forward, da: da!.dataSync() as Float32Array, db: db!.dataSync() as Float32Array };
      }),
    );
    expect(native.shape).toEqual(wasm.shape);
    expectClose(native.y, wasm.y);
    expectClose(native.da, wasm.da);
    expectClose(native.db, wasm.db);
    if (sameBatches(c)) expect(native.da.length).toBe(a.size);
    // And against a plain JS product, so that both paths are checked, not only their agreement.
    const reference = naiveMatMul(a, b, c.transposeA, c.transposeB);
    expectClose(native.y, reference);
    a.dispose();
    b.dispose();
  });

  it("handles a product with an empty inner dimension (zeros) and a large fold-into-rows GEMM", () => {
    const { native, wasm } = bothWays(() => tf.tidy(() => tf.matMul(tf.ones([2, 3, 0]), tf.ones([0, 4])).dataSync() as Float32Array));
    expect(Array.from(native)).toEqual(new Array(24).fill(0));
    expect(Array.from(wasm)).toEqual(Array.from(native));
    const big = bothWays(() => tf.tidy(() => tf.matMul(seeded([16, 128, 256], 4), seeded([256, 1024], 5)).dataSync() as Float32Array));
    expectClose(big.native, big.wasm, 1e-5);
    // Two OpenBLAS threads (the large product splits, small ones stay on one thread): the same values.
    setNativeThreads(2);
    const twoThreads = tf.tidy(() => tf.matMul(seeded([16, 128, 256], 4), seeded([256, 1024], 5)).dataSync() as Float32Array);
    const small = tf.tidy(() => tf.matMul(seeded([8, 16, 32], 6), seeded([8, 32, 16], 7)).dataSync() as Float32Array);
    setNativeThreads(1);
    expectClose(twoThreads, big.native, 1e-5);
    expectClose(small, tf.tidy(() => tf.matMul(seeded([8, 16, 32], 6), seeded([8, 32, 16], 7)).dataSync() as Float32Array), 1e-6);
  });

  it("odd sizes, offsets and leading dimensions match a JS product, on 1 and 3 threads", () => {
    const native = nativeMatmul()!;
    let seed = 5;
    const random = (n: number): Float32Array => Float32Array.from({ length: n }, () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 31) - 1);
    // Sizes around the 6×16 register blocks and the 2^22 one-thread cut-off (the last one is above it).
    for (const [m, n, k] of [[1, 1, 1], [5, 17, 3], [13, 33, 64], [7, 15, 300], [200, 130, 170]] as const) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const [aRows, aCols] = transA ? [k, m] : [m, k];
          const [bRows, bCols] = transB ? [n, k] : [k, n];
          const lda = aCols + 2, ldb = bCols + 1, ldc = n + 3; // padded rows
          const a = random(4 + aRows * lda);
          const b = random(1 + bRows * ldb);
          const expected = new Float32Array(m * n);
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              let sum = 0;
              for (let p = 0; p < k; p++) sum += a[4 + (transA ? p * lda + i : i * lda + p)]! * b[1 + (transB ? j * ldb + p : p * ldb + j)]!;
              expected[i * n + j] = sum;
            }
          }
          const results: Float32Array[] = [];
          for (const threads of [1, 3]) {
            setNativeThreads(threads);
            const c = new Float32Array(2 + m * ldc).fill(Number.NaN); // NaN: every element must be written
            native.sgemm(transA, transB, m, n, k, a, 4, lda, b, 1, ldb, c, 2, ldc);
            const got = new Float32Array(m * n);
            for (let i = 0; i < m; i++) got.set(c.subarray(2 + i * ldc, 2 + i * ldc + n), i * n);
            expect(Number.isNaN(c[0]!) && Number.isNaN(c[1]!)).toBe(true); // nothing before the offset
            expectClose(got, expected, 1e-5);
            results.push(got);
          }
          // Rows split over threads, each element summed in the same order: the same bits.
          if (kernel === "builtin") expect(Array.from(results[1]!)).toEqual(Array.from(results[0]!));
        }
      }
    }
    setNativeThreads(1);
  });

  it("the addon checks every operand against its array instead of reading or writing past it", () => {
    const native = nativeMatmul()!;
    const a = new Float32Array(6);
    const b = new Float32Array(6);
    const c = new Float32Array(4);
    native.sgemm(false, false, 2, 2, 3, a.fill(1), 0, 3, b.fill(1), 0, 2, c, 0, 2);
    expect(Array.from(c)).toEqual([3, 3, 3, 3]);
    expect(() => native.sgemm(false, false, 2, 2, 3, a, 1, 3, b, 0, 2, c, 0, 2)).toThrow(/does not fit/);
    expect(() => native.sgemm(false, true, 2, 2, 3, a, 0, 3, b, 0, 3, new Float32Array(3), 0, 2)).toThrow(/does not fit/);
    expect(() => native.sgemm(false, false, 2, 2, 3, a, 0, 2, b, 0, 2, c, 0, 2)).toThrow(/does not fit/); // lda < k
    expect(() => native.sgemm(false, false, 2, 2, 3, a, 0, 3, new Int32Array(6) as unknown as Float32Array, 0, 2, c, 0, 2)).toThrow(/Float32Arrays/);
  });

  it("the trainer's first line names the native matmul with the --threads count", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-native-main-"));
    const corpus = path.join(dir, "corpus.txt");
    fs.writeFileSync(corpus, "the quick brown fox jumps over the lazy dog. ".repeat(50));
    const ir: IRModel = {
      ...denseModel({ vocab: 256, d: 16, blocks: 1, context: 16 }),
      name: "tiny",
      train: {
        span: SPAN, batch: 2, microBatch: 2, context: 16, horizon: { kind: "steps", steps: 1 },
        optimizer: ADAMW, schedule: { kind: "cosine", warmup: { steps: 1 }, minLr: 0.1 },
        data: { tokenizer: "bytes", path: null, valFraction: 0.1, bpeVocab: null }, seed: 3, evalEvery: 1, checkpointEvery: 1, logEvery: 1,
      },
    };
    const cache = process.env["XDG_CACHE_HOME"];
    process.env["XDG_CACHE_HOME"] = path.join(dir, "cache"); // the MFU peak cache
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: () => {} };
    const argv = ["--data", corpus, "--backend", "wasm", "--out", path.join(dir, "run"), "--steps", "1", "--threads", "1"];
    expect(await trainMain(argv, { ir, build: (o) => buildModel(ir, o), forwardFlopsPerToken: 1e5 }, io)).toBe(0);
    expect(out[0]).toMatch(new RegExp(`^backend: wasm \\(1 thread, SIMD\\), ${MATMUL_LINE[kernel]} \\(native, 1 thread[;)]`));
    if (cache === undefined) delete process.env["XDG_CACHE_HOME"];
    else process.env["XDG_CACHE_HOME"] = cache;
    // The trainer measures the peak once per process: in this file's first trainMain, the default kernel's.
    if (kernel === defaultKernel) expect(fs.readdirSync(path.join(dir, "cache", "peerc"))).toContain(`peak-wasm-${kernel}-1t.json`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("trains specs/tiny.peer to the same losses (3 steps, within 1e-4 relative)", () => {
    const result = checkSource("specs/tiny.peer", fs.readFileSync(path.join(repo, "specs/tiny.peer"), "utf8"));
    const ir = result.program.models[0]!;
    const train = ir.train!;
    const losses = (): number[] => {
      const lm = buildModel(ir, { seed: 7, backend: "wasm" });
      let state = 99;
      const data = {
        next: () => {
          const n = 2 * ir.context;
          const inputs = new Int32Array(n);
          const targets = new Int32Array(n);
          for (let i = 0; i < n; i++) {
            state = (Math.imul(state, 1103515245) + 12345) >>> 0;
            inputs[i] = state >>> 24;
            targets[i] = (state >>> 16) & 255;
          }
          return { rows: 2, context: ir.context, inputs, targets };
        },
      };
      const trainer = new Trainer(lm, { optimizer: train.optimizer, schedule: train.schedule, totalSteps: 20, microBatches: 1 }, data);
      const out: number[] = [];
      for (let i = 0; i < 3; i++) out.push(trainer.step().loss);
      lm.dispose();
      return out;
    };
    const { native, wasm } = bothWays(losses);
    expect(native.length).toBe(3);
    for (let i = 0; i < 3; i++) {
      expect(Number.isFinite(native[i]!)).toBe(true);
      expect(Math.abs(native[i]! - wasm[i]!) / Math.abs(wasm[i]!)).toBeLessThan(1e-4);
    }
    // The steps changed the model: the losses are not all the same number.
    expect(new Set(native).size).toBeGreaterThan(1);
  });
});

/** Plain JS product on the host, for a reference independent of both kernels. */
function naiveMatMul(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): Float32Array {
  return tf.tidy(() => {
    const a3 = transposeA ? tf.transpose(a, [...a.shape.slice(0, -2).map((_, i) => i), a.rank - 1, a.rank - 2]) : a;
    const b3 = transposeB ? tf.transpose(b, [...b.shape.slice(0, -2).map((_, i) => i), b.rank - 1, b.rank - 2]) : b;
    const outBatch = tf.backend_util.assertAndGetBroadcastShape(a3.shape.slice(0, -2), b3.shape.slice(0, -2));
    const m = a3.shape[a3.rank - 2]!;
    const k = a3.shape[a3.rank - 1]!;
    const n = b3.shape[b3.rank - 1]!;
    const av = tf.broadcastTo(a3, [...outBatch, m, k]).dataSync();
    const bv = tf.broadcastTo(b3, [...outBatch, k, n]).dataSync();
    const batches = outBatch.reduce((x, y) => x * y, 1);
    const out = new Float32Array(batches * m * n);
    for (let p = 0; p < batches; p++) {
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let sum = 0;
          for (let q = 0; q < k; q++) sum += av[p * m * k + i * k + q]! * bv[p * k * n + q * n + j]!;
          out[p * m * n + i * n + j] = sum;
        }
      }
    }
    return out;
  });
}

describe("native matmul fallback", () => {
  it("the build never fails an install: a missing compiler gives one line and exit 0", () => {
    const out = spawnSync(process.execPath, [path.join(repo, "native/build.mjs")], {
      encoding: "utf8",
      env: { ...process.env, PEERC_NATIVE: "1", CXX: "/nonexistent/c++" },
    });
    expect(out.status).toBe(0);
    const lines = out.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^peerc: native kernels unavailable \(\/nonexistent\/c\+\+ could not run: .*\); training uses the wasm kernels$/);
  });

  it("PEERC_NATIVE=0 skips the build", () => {
    const out = spawnSync(process.execPath, [path.join(repo, "native/build.mjs")], { encoding: "utf8", env: { ...process.env, PEERC_NATIVE: "0" } });
    expect(out.status).toBe(0);
    expect(out.stdout.trim()).toBe("peerc: native kernels unavailable (PEERC_NATIVE=0); training uses the wasm kernels");
  });

  it("without OpenBLAS the addon's own kernel runs and the line says why; with PEERC_NATIVE=0 the wasm kernels run", () => {
    const probe = `import { describeMatmul, nativeMatmul } from ${JSON.stringify(path.join(repo, "runtime/backend/kernels/native-matmul.ts"))};
console.log(JSON.stringify({ line: describeMatmul("wasm"), active: nativeMatmul() !== null }));`;
    const run = (env: Record<string, string>): { line: string; active: boolean } => {
      const out = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", probe], { encoding: "utf8", env: { ...process.env, ...env }, cwd: repo });
      expect(out.status, out.stderr).toBe(0);
      return JSON.parse(out.stdout.trim()) as { line: string; active: boolean };
    };
    expect(run({ PEERC_NATIVE: "0" })).toEqual({ line: "matmul: wasm XNNPACK (native kernels unavailable: turned off by PEERC_NATIVE=0)", active: false });
    const missing = run({ PEERC_NATIVE: "1", PEERC_OPENBLAS: "libpeerc-no-such-blas.so.0" });
    // Without the built addon the wasm kernels run and the line says that instead.
    const built = fs.existsSync(path.join(repo, "native/build/peerc_native.node"));
    expect(missing.active).toBe(built);
    expect(missing.line).toMatch(
      !built ? /^matmul: wasm XNNPACK \(native kernels unavailable: / : /^matmul: peerc sgemm (AVX2\+FMA|SSE2|generic) \(native, \d+ threads?; OpenBLAS not found: libpeerc-no-such-blas\.so\.0: cannot open shared object file/,
    );
  });
});
