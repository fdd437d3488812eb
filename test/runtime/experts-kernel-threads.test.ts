/**
 * The host expert kernels split over the worker pool (kernel-pool.ts) give the
 * same bits as one thread: the product-key top-k, the fused PEER (plain and
 * GLU) and PKM forward and backward, and whole training steps of a PEER and a
 * PKM language model. Also the trainer's `--threads` flag and first line.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Activation } from "../../ir/types.js";
import { peerExperts, pkmValues } from "../../runtime/experts/expert-kernels.js";
import { describeExpertThreads, expertThreads, parallelCallCount, setExpertThreads, setMinParallelWork } from "../../runtime/experts/kernel-pool.js";
import { productKeyTopk } from "../../runtime/experts/product-keys.js";
import { selectedScoresFromKeys } from "../../runtime/experts/selected-scores.js";
import { ExpertTable } from "../../runtime/experts/sparse-table.js";
import { UsageError } from "../../diagnostics/errors.js";
import { parseTrainArgs } from "../../runtime/train/options.js";
import { randomArray, seededRng, useWasm } from "./experts-fixtures.js";

let threadsBefore = 1;
let workBefore = 0;
beforeAll(async () => {
  await useWasm();
  threadsBefore = expertThreads();
  // Three threads (two workers) and no size threshold: every kernel below takes the split path.
  setExpertThreads(3);
  workBefore = setMinParallelWork(0);
});
afterAll(() => {
  setExpertThreads(threadsBefore);
  setMinParallelWork(workBefore);
});

describe("product-key top-k on threads", () => {
  it("gives the same ids, sub-key indices and scores as one thread, ties included", () => {
    const rows = 101;
    const subKeys = 32;
    const rng = seededRng(5);
    // Scores on a coarse grid, so ties are common and the tie-breaking is exercised.
    const s1 = Float32Array.from({ length: rows * subKeys }, () => Math.round(rng() * 8) / 8);
    const s2 = Float32Array.from({ length: rows * subKeys }, () => Math.round(rng() * 8) / 8);
    const before = parallelCallCount();
    const split = productKeyTopk(s1, s2, rows, subKeys, 6, 9);
    expect(parallelCallCount()).toBe(before + 1);
    setExpertThreads(1);
    const single = productKeyTopk(s1, s2, rows, subKeys, 6, 9);
    setExpertThreads(3);
    expect(parallelCallCount()).toBe(before + 1);
    expect(split.ids.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(single.ids.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(split.ids)).toEqual(Array.from(single.ids));
    expect(Array.from(split.first)).toEqual(Array.from(single.first));
    expect(Array.from(split.second)).toEqual(Array.from(single.second));
    expect(Array.from(split.scores)).toEqual(Array.from(single.scores));
  });
});

describe("selected scores from the keys on threads", () => {
  for (const sets of ["shared", "per-head"] as const) {
    it(`value, dq and the sub-key gradients equal one thread's bit for bit (${sets} keys)`, () => {
      const tokens = 23;
      const heads = 3;
      const keyDim = 10;
      const half = keyDim / 2;
      const subKeys = 12;
      const topk = 7; // one block of four and a tail of three
      const rng = seededRng(sets === "shared" ? 61 : 62);
      const rows = tokens * heads;
      const hits = productKeyTopk(randomArray(rows * subKeys, rng), randomArray(rows * subKeys, rng), rows, subKeys, 4, topk);
      const q = tf.tensor2d(randomArray(tokens * heads * keyDim, rng), [tokens, heads * keyDim]);
      const keySets = Array.from({ length: sets === "shared" ? 1 : heads }, () => [0, 1].map(() => tf.tensor2d(randomArray(half * subKeys, rng), [half, subKeys])));
      const r = tf.tensor2d(randomArray(rows * topk, rng), [rows, topk]);
      const flat = keySets.flat();
      const run = () => {
        const value = tf.tidy(() => Array.from(selectedScoresFromKeys(q, keySets, hits, { heads, keyDim, subKeys }).dataSync()));
        const grads = tf.grads((qIn: tf.Tensor, ...keys: tf.Tensor[]) => {
          const regrouped = sets === "shared" ? [keys] : Array.from({ length: heads }, (_, h) => keys.slice(2 * h, 2 * h + 2));
          return tf.sum(tf.mul(selectedScoresFromKeys(qIn as tf.Tensor2D, regrouped, hits, { heads, keyDim, subKeys }), r));
        })([q, ...flat]);
        const result = { value, grads: grads.map((g) => Array.from(g.dataSync())) };
        tf.dispose(grads);
        return result;
      };
      const before = parallelCallCount();
      const split = run();
      // Forward twice (value, tape), then dq and the sub-key gradients.
      expect(parallelCallCount() - before).toBe(4);
      setExpertThreads(1);
      const single = run();
      setExpertThreads(3);
      expect(parallelCallCount() - before).toBe(4);
      expect(split).toEqual(single);
      expect(single.grads[1]!.some((v) => v !== 0)).toBe(true);
      tf.dispose([q, r, ...flat]);
    });
  }
});

/** Tables of `rows` × `cols`, the same initial values; threads 1 keeps them unshared, so the kernels run on one thread. */
function tables(names: readonly string[], rows: number, cols: number, threads: number, seed: number): ExpertTable[] {
  return names.map((name, i) => {
    const init = randomArray(rows * cols, seededRng(seed + i), 0.5);
    return new ExpertTable(name, rows, cols, (a) => a.set(init), { threads });
  });
}

/** Forward value, d/dx (when f reads x), d/dgates and each table's pending row gradients of sum(f(x, gates) · r). */
function run(f: (x: tf.Tensor2D, g: tf.Tensor2D) => tf.Tensor2D, x: tf.Tensor2D, g: tf.Tensor2D, r: tf.Tensor2D, owned: readonly ExpertTable[], readsX = true) {
  const value = tf.tidy(() => Array.from(f(x, g).dataSync()));
  const loss = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.sum(tf.mul(f(a, b), r));
  const grads = readsX
    ? tf.grads((a: tf.Tensor, b: tf.Tensor) => loss(a as tf.Tensor2D, b as tf.Tensor2D))([x, g])
    : tf.grads((b: tf.Tensor) => loss(x, b as tf.Tensor2D))([g]);
  const result = {
    value,
    dx: readsX ? Array.from(grads[0]!.dataSync()) : [],
    dg: Array.from(grads[grads.length - 1]!.dataSync()),
    grads: owned.map((t) => ({ rows: Array.from(t.touchedRowIds()), values: Array.from(t.gradients.subarray(0, t.touchedRows * t.cols)) })),
  };
  tf.dispose(grads);
  return result;
}

describe("fused expert kernels on threads", () => {
  const tokens = 37; // not a multiple of the thread count
  const rows = 50;
  const d = 12;

  function inputs(slots: number, seed: number) {
    const rng = seededRng(seed);
    // Repeated ids across tokens and within a token: several threads' tokens reach the same gradient rows.
    const ids = Int32Array.from({ length: tokens * slots }, () => Math.floor(rng() * rows * 0.6));
    const x = tf.tensor2d(randomArray(tokens * d, rng), [tokens, d]);
    const g = tf.tensor2d(randomArray(tokens * slots, rng), [tokens, slots]);
    const r = tf.tensor2d(randomArray(tokens * d, rng), [tokens, d]);
    return { ids, x, g, r };
  }

  for (const [act, glu, slots] of [["gelu", false, 6], ["silu", true, 5], ["relu", false, 8], ["tanh", false, 16]] as [Activation, boolean, number][]) {
    it(`PEER ${glu ? "GLU " : ""}${act}, ${slots} slots: forward, dx, d gates and row gradients equal one thread's bit for bit`, () => {
      const { ids, x, g, r } = inputs(slots, 11 + slots);
      const names = glu ? ["u", "v", "g"] : ["u", "v"];
      const one = tables(names, rows, d, 1, 3);
      const three = tables(names, rows, d, 2, 3);
      const f = (t: ExpertTable[]) => (a: tf.Tensor2D, b: tf.Tensor2D) => peerExperts(a, b, ids, t[0]!, t[1]!, act, t[2] ?? null);
      const before = parallelCallCount();
      // Twice on the same tables: the second backward adds into the slots the first reserved (accumulation).
      const split = [run(f(three), x, g, r, three), run(f(three), x, g, r, three)];
      const calls = parallelCallCount() - before;
      const single = [run(f(one), x, g, r, one), run(f(one), x, g, r, one)];
      expect(parallelCallCount() - before).toBe(calls);
      // Per pass: forward twice (value + tape), tokens pass and row-gradient pass of the backward.
      expect(calls).toBe(2 * 4);
      expect(split).toEqual(single);
      expect(single[1]!.grads[0]!.values.some((v) => v !== 0)).toBe(true);
      tf.dispose([x, g, r]);
    });
  }

  it("PKM: forward, d gates and value-row gradients equal one thread's bit for bit", () => {
    const slots = 7;
    const { ids, g, r } = inputs(slots, 23);
    const one = tables(["values"], rows, d, 1, 9);
    const three = tables(["values"], rows, d, 2, 9);
    const f = (t: ExpertTable[]) => (_: tf.Tensor2D, b: tf.Tensor2D) => pkmValues(b, ids, t[0]!);
    const x = tf.zeros([tokens, d]) as tf.Tensor2D;
    const before = parallelCallCount();
    const split = [run(f(three), x, g, r, three, false), run(f(three), x, g, r, three, false)];
    expect(parallelCallCount() - before).toBe(2 * 4);
    const single = [run(f(one), x, g, r, one, false), run(f(one), x, g, r, one, false)];
    expect(split).toEqual(single);
    tf.dispose([x, g, r]);
  });
});

describe("expert threads in training", () => {
  const tinySource = fs.readFileSync(path.resolve(import.meta.dirname, "../../specs/tiny.peer"), "utf8");
  // The same model with a PKM layer instead of PEER (no budget section: it is written for PEER).
  const pkmSource = tinySource
    .replace(/peer\(experts: 64\^2,[^)]*\)/, "pkm(memories: 64^2, heads: 4, topk: 8, key_dim: 64, query_norm: batch)")
    .replace(/budget tiny \{[^}]*\}/, "");

  async function losses(source: string, threads: number): Promise<{ losses: number[]; calls: number }> {
    const { checkSource } = await import("../../compiler/check/index.js");
    const { buildModel, Trainer } = await import("../../runtime/index.js");
    const ir = checkSource("threads.peer", source).program.models[0]!;
    const train = ir.train!;
    setExpertThreads(threads);
    const lm = buildModel(ir, { seed: 3, backend: "wasm" });
    expect(lm.sparseTables.length).toBeGreaterThan(0);
    let state = 99;
    const rowsPerBatch = 4; // 512 tokens: enough work per kernel call to split at the default threshold too
    const data = {
      next: () => {
        const n = rowsPerBatch * ir.context;
        const inputs = new Int32Array(n);
        const targets = new Int32Array(n);
        for (let i = 0; i < n; i++) {
          state = (state * 1103515245 + 12345) >>> 0;
          inputs[i] = state >>> 24;
          targets[i] = (inputs[i]! * 7 + 3) & 255;
        }
        return { rows: rowsPerBatch, context: ir.context, inputs, targets };
      },
    };
    const trainer = new Trainer(lm, { optimizer: train.optimizer, schedule: train.schedule, totalSteps: 100, microBatches: 1 }, data);
    const before = parallelCallCount();
    const result = [0, 1, 2].map(() => trainer.step().loss);
    const calls = parallelCallCount() - before;
    lm.dispose();
    setExpertThreads(3);
    return { losses: result, calls };
  }

  for (const [name, source] of [["PEER (specs/tiny.peer)", () => tinySource], ["PKM", () => pkmSource]] as const) {
    it(`${name} trains to identical losses on 1 and 2 threads`, async () => {
      const one = await losses(source(), 1);
      const two = await losses(source(), 2);
      expect(one.calls).toBe(0);
      // Top-k, forward, both backward passes and the update, every step.
      expect(two.calls).toBeGreaterThanOrEqual(3 * 5);
      expect(two.losses).toEqual(one.losses);
      expect(one.losses[2]!).toBeLessThan(one.losses[0]!);
    });
  }
});

describe("--threads", () => {
  it("parses a positive integer and defaults to unset (the available cores)", () => {
    expect(parseTrainArgs(["--threads", "2"], "m").threads).toBe(2);
    expect(parseTrainArgs([], "m").threads).toBeUndefined();
  });

  it("the trainer's first line says how many threads the host expert kernels use, and which", async () => {
    const os = await import("node:os");
    const { checkSource } = await import("../../compiler/check/index.js");
    const { buildModel } = await import("../../runtime/model/model.js");
    const { trainMain } = await import("../../runtime/train/main.js");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-threads-"));
    const corpus = path.join(dir, "corpus.txt");
    fs.writeFileSync(corpus, "the quick brown fox jumps over the lazy dog. ".repeat(100));
    const source = fs.readFileSync(path.resolve(import.meta.dirname, "../../specs/tiny.peer"), "utf8");
    const ir = checkSource("specs/tiny.peer", source).program.models[0]!;
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: () => undefined };
    const argv = ["--data", corpus, "--backend", "wasm", "--out", path.join(dir, "run"), "--steps", "1", "--batch", "2", "--context", "16", "--threads", "2"];
    expect(await trainMain(argv, { ir, build: (o) => buildModel(ir, o) }, io)).toBe(0);
    expect(out[0]).toMatch(/^backend: wasm \(1 thread, SIMD\), host expert kernels: 2 threads \(top-k, selected scores, forward, backward, update\)/);
    expect(expertThreads()).toBe(2);
    fs.rmSync(dir, { recursive: true, force: true });
    setExpertThreads(3);
  });

  it.each(["0", "-1", "1.5", "two", ""])("rejects --threads=%j with a usage error", (value) => {
    expect(() => parseTrainArgs([`--threads=${value}`], "m")).toThrow(new UsageError(`--threads must be a positive integer, got "${value}"`));
  });

  it("with bf16 expert moments the first line says only the routing kernels split (those tables are not shared)", () => {
    expect(describeExpertThreads(2, true)).toBe("2 threads (top-k, selected scores; forward, backward and update on 1 thread with bf16 expert moments)");
    expect(describeExpertThreads(1, true)).toBe("1 thread");
    expect(new ExpertTable("t", 4, 2, () => undefined, { moments: "bf16", threads: 2 }).table.buffer).not.toBeInstanceOf(SharedArrayBuffer);
  });

  it("rejects more threads than the pool runs", () => {
    expect(() => parseTrainArgs(["--threads", "257"], "m")).toThrow(new UsageError('--threads must be at most 256, got "257"'));
    expect(() => setExpertThreads(257)).toThrow(/integer in \[1, 256\]/);
  });
});
