/**
 * The training loop: schedule, AdamW, clipping, accumulation, leaks,
 * reproducibility, divergence reporting, and learning a repeating pattern (wasm).
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import type { IRSchedule } from "../../ir/types.js";
import { selectBackend } from "../../runtime/backend/select.js";
import type { NamedVariable, SparseTable } from "../../runtime/layers/layer.js";
import { buildModel } from "../../runtime/model/model.js";
import { AdamW } from "../../runtime/train/adamw.js";
import { clipFactor, globalGradNorm, scaleGradients } from "../../runtime/train/clip.js";
import { TrainingDivergedError } from "../../runtime/train/errors.js";
import { learningRate } from "../../runtime/train/schedule.js";
import { Trainer, type BatchSource, type TrainBatch } from "../../runtime/train/trainer.js";
import { ADAMW, CONSTANT, denseModel } from "./core-helpers.js";

beforeAll(async () => {
  await selectBackend("wasm");
});

/** Windows of a repeating token pattern at seeded offsets. */
class PatternSource implements BatchSource {
  private state: number;
  constructor(private readonly pattern: number[], private readonly rows: number, private readonly context: number, seed: number) {
    this.state = seed;
  }
  next(): TrainBatch {
    const inputs = new Int32Array(this.rows * this.context);
    const targets = new Int32Array(this.rows * this.context);
    for (let r = 0; r < this.rows; r++) {
      this.state = (Math.imul(this.state, 1664525) + 1013904223) >>> 0;
      const offset = this.state % this.pattern.length;
      for (let t = 0; t < this.context; t++) {
        inputs[r * this.context + t] = this.pattern[(offset + t) % this.pattern.length]!;
        targets[r * this.context + t] = this.pattern[(offset + t + 1) % this.pattern.length]!;
      }
    }
    return { rows: this.rows, context: this.context, inputs, targets };
  }
}

/** Replays fixed batches. */
class FixedSource implements BatchSource {
  private i = 0;
  constructor(private readonly batches: TrainBatch[]) {}
  next(): TrainBatch {
    return this.batches[this.i++ % this.batches.length]!;
  }
}

describe("schedule", () => {
  const cosine: IRSchedule = { kind: "cosine", warmup: { steps: 2 }, minLr: 0.1 };
  it("warms up linearly, then decays by cosine to min_lr at the last step", () => {
    expect(learningRate(0, 12, 1, cosine)).toBeCloseTo(0.5, 12);
    expect(learningRate(1, 12, 1, cosine)).toBeCloseTo(1, 12);
    expect(learningRate(2, 12, 1, cosine)).toBeCloseTo(1, 12);
    // halfway through the 9 decay intervals (steps 2..11): 0.1 + 0.9·0.5·(1 + cos(π/2))
    expect(learningRate(2 + 4.5, 12, 1, cosine)).toBeCloseTo(0.55, 12);
    expect(learningRate(11, 12, 1, cosine)).toBeCloseTo(0.1, 12);
  });
  it("linear and constant; warmup as a fraction of the steps", () => {
    const linear: IRSchedule = { kind: "linear", warmup: { fraction: 0.1 }, minLr: 0 };
    expect(learningRate(0, 100, 2, linear)).toBeCloseTo(0.2, 12); // 10 warmup steps
    expect(learningRate(10, 100, 2, linear)).toBeCloseTo(2, 12);
    expect(learningRate(10 + 89 / 2, 100, 2, linear)).toBeCloseTo(1, 12);
    expect(learningRate(99, 100, 2, linear)).toBeCloseTo(0, 12);
    expect(learningRate(57, 100, 2, CONSTANT)).toBe(2);
  });
});

describe("AdamW", () => {
  it("one step equals the hand-computed update, with decay only where allowed", () => {
    const decayed: NamedVariable = { name: "w", variable: tf.variable(tf.tensor1d([1, -2])), noDecay: false };
    const plain: NamedVariable = { name: "gain", variable: tf.variable(tf.tensor1d([1, -2])), noDecay: true };
    const opt = new AdamW([decayed, plain], [], { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, decayAll: false });
    const g = tf.tensor1d([0.5, -0.1]);
    opt.apply(new Map([["w", g], ["gain", g]]), 0.1, 0.1);
    // Step 1: m̂ = g, v̂ = g², so the Adam direction is sign(g); decay adds λ·p.
    const w = decayed.variable.dataSync();
    expect(w[0]).toBeCloseTo(1 - 0.1 * (1 + 0.1 * 1), 6);
    expect(w[1]).toBeCloseTo(-2 - 0.1 * (-1 + 0.1 * -2), 6);
    const p = plain.variable.dataSync();
    expect(p[0]).toBeCloseTo(1 - 0.1, 6);
    expect(p[1]).toBeCloseTo(-2 + 0.1, 6);
    // Step 2 with gradient 0: m = 0.9·0.1·g, v = 0.95·0.05·g²; bias corrections 0.19 and 0.0975.
    opt.apply(new Map(), 0.1, 0.1);
    const m = (0.9 * 0.1 * 0.5) / 0.19;
    const v = (0.95 * 0.05 * 0.25) / 0.0975;
    expect(plain.variable.dataSync()[0]).toBeCloseTo(0.9 - 0.1 * (m / (Math.sqrt(v) + 1e-8)), 5);
    opt.dispose();
  });

  it("steps sparse tables with their own learning rate", () => {
    const configs: unknown[] = [];
    const table = { step: (c: unknown) => configs.push(c) } as unknown as SparseTable;
    const opt = new AdamW([], [table], { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, decayAll: false });
    opt.apply(new Map(), 1e-3, 5e-2);
    expect(configs).toEqual([{ lr: 5e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, step: 1 }]);
  });
});

describe("clipping", () => {
  it("global norm spans dense gradients and sparse tables; scaling reaches both", () => {
    let scaled = 1;
    const table = { gradSquaredNorm: () => 144, scaleGrads: (f: number) => (scaled *= f) } as unknown as SparseTable;
    const grads = new Map<string, tf.Tensor>([["a", tf.tensor1d([3])], ["b", tf.tensor1d([0, 4])]]);
    const norm = globalGradNorm(grads.values(), [table]);
    expect(norm).toBeCloseTo(13, 5); // √(9 + 16 + 144)
    const factor = clipFactor(norm, 1.3);
    expect(factor).toBeCloseTo(0.1, 6);
    scaleGradients(grads, [table], factor);
    expect(grads.get("b")!.dataSync()[1]).toBeCloseTo(0.4, 6);
    expect(scaled).toBeCloseTo(0.1, 6);
    expect(clipFactor(0.5, 1)).toBe(1);
    expect(clipFactor(5, null)).toBe(1);
    tf.dispose([...grads.values()]);
  });
});

function trainerFor(seed: number, source: BatchSource, microBatches = 1, lr = ADAMW.lr) {
  const model = buildModel(denseModel({ vocab: 16, d: 16, blocks: 2, context: 8 }), { seed, backend: "wasm" });
  return new Trainer(model, { optimizer: { ...ADAMW, lr }, schedule: CONSTANT, totalSteps: 100, microBatches }, source);
}

describe("trainer", () => {
  it("2 accumulated micro-batches give the gradients of one batch twice as large", () => {
    const big = new PatternSource([1, 5, 2, 9, 3, 7, 4], 4, 8, 3).next();
    const half = (i: number): TrainBatch => ({
      rows: 2, context: 8, inputs: big.inputs.slice(i * 16, (i + 1) * 16), targets: big.targets.slice(i * 16, (i + 1) * 16),
    });
    const a = trainerFor(1, new FixedSource([half(0), half(1)]), 2).accumulateGradients();
    const b = trainerFor(1, new FixedSource([big]), 1).accumulateGradients();
    expect([...a.grads.keys()].sort()).toEqual([...b.grads.keys()].sort());
    for (const [name, g] of a.grads) {
      const x = g.dataSync(), y = b.grads.get(name)!.dataSync();
      for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!), name).toBeLessThan(1e-5 + 1e-3 * Math.abs(y[i]!));
    }
    expect(a.loss).toBeCloseTo(b.loss, 5);
    tf.dispose([...a.grads.values(), ...b.grads.values(), a.lastIds, b.lastIds]);
  });

  it("keeps the tensor count constant across steps (no leaks)", () => {
    const trainer = trainerFor(2, new PatternSource([1, 2, 3, 4, 5], 2, 8, 1), 2);
    trainer.step();
    trainer.step();
    const after2 = tf.memory().numTensors;
    for (let i = 0; i < 8; i++) trainer.step();
    expect(tf.memory().numTensors).toBe(after2);
  });

  it("trains an MoE model: the balancing loss is part of the loss, and nothing leaks", () => {
    const model = buildModel(denseModel({ vocab: 16, d: 16, blocks: 1, context: 8, ffw: "moe" }), { seed: 4, backend: "wasm" });
    const trainer = new Trainer(model, { optimizer: ADAMW, schedule: CONSTANT, totalSteps: 10, microBatches: 1 }, new PatternSource([1, 2, 3, 4, 5, 6], 2, 8, 2));
    const first = trainer.step();
    expect(first.auxLoss).toBeGreaterThan(0.001); // 0.01 · E·Σ f·P, which is ~1 near balance
    expect(first.loss).toBeCloseTo(first.crossEntropy + first.auxLoss, 5);
    trainer.step();
    const after2 = tf.memory().numTensors;
    for (let i = 0; i < 4; i++) trainer.step();
    expect(tf.memory().numTensors).toBe(after2);
  });

  it("is reproducible: same seed, same losses", () => {
    const run = () => {
      const trainer = trainerFor(7, new PatternSource([3, 1, 4, 1, 5, 9, 2, 6], 2, 8, 11));
      return [0, 1, 2].map(() => trainer.step().loss);
    };
    expect(run()).toEqual(run());
  });

  it("stops on a non-finite loss naming the first layer whose output went bad", () => {
    const trainer = trainerFor(3, new PatternSource([1, 2, 3], 2, 8, 1));
    trainer.step();
    const wq = trainer.model.variables.find((v) => v.name === "blocks.1.mix.attention.wq")!.variable;
    wq.assign(tf.fill(wq.shape, Number.NaN));
    const before = trainer.model.variables.find((v) => v.name === "embed.weight")!.variable.dataSync().slice();
    let error: unknown;
    try {
      trainer.step();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TrainingDivergedError);
    expect((error as TrainingDivergedError).layerPath).toBe("blocks.1.mix.attention");
    expect((error as Error).message).toMatch(/step 2: loss is NaN; the first non-finite output comes from layer blocks\.1\.mix\.attention \(attention\)/);
    // No update was applied.
    expect(Array.from(trainer.model.variables.find((v) => v.name === "embed.weight")!.variable.dataSync())).toEqual(Array.from(before));
    expect(trainer.stepCount).toBe(1);
  });

  it("learns a repeating byte pattern on wasm: loss falls well below log(vocab)", () => {
    const pattern = Array.from("peer-runtime!").map((c) => c.charCodeAt(0) % 16);
    const trainer = trainerFor(1, new PatternSource(pattern, 8, 8, 5), 1, 1e-2);
    const first = trainer.step().crossEntropy;
    let last = first;
    for (let i = 0; i < 80; i++) last = trainer.step().crossEntropy;
    expect(first).toBeGreaterThan(0.8 * Math.log(16));
    expect(last).toBeLessThan(0.25 * Math.log(16));
  });
});
