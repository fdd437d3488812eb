/**
 * The emitted attention reads the runtime's RoPE tables (cos, sin with the
 * softmax scale folded into q's, the rotation's sign in sin), kept as constants, one
 * set per (seqLen, heads, headDim, base, scale). These tests pin what that
 * must not break: no tensor leaks across training steps, the constants are
 * never disposed by the tape or a tidy scope, and a second sequence length
 * gets its own tables and still matches the generic model.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../runtime/backend/select.js";
import { buildModel, type LanguageModel } from "../../runtime/model/model.js";
import { Trainer, type TrainBatch } from "../../runtime/train/trainer.js";
import { emitTrainer } from "../../compiler/emit/index.js";
import { emitContext } from "../../compiler/emit/context.js";
import { costModel } from "../../compiler/cost/index.js";
import type { IRModel } from "../../ir/types.js";
import { checkedModels, ROOT, tempDir } from "./helpers.js";

const BACKEND = "wasm";
const SPEC = `
model rope_gqa {
  vocab 64
  context 16
  embed tokens(dim: 32)
  positions rope
  repeat 2 {
    residual { norm rms; attention(heads: 4, head_dim: 8, kv_heads: 2, causal) }
    residual { norm rms; ffw(hidden: 64, act: gelu) }
  }
  norm rms
  lm_head tied
}`;

const outRoot = tempDir("peerc-constants-");
const ir: IRModel = checkedModels(SPEC, "rope_gqa.peer")[0]!;

async function emittedModel(seed: number): Promise<LanguageModel> {
  const outDir = path.join(outRoot, "m");
  fs.mkdirSync(outDir, { recursive: true });
  const ctx = emitContext(ir, costModel(ir), { specFile: path.join(outRoot, "spec.peer"), outDir, runtimeImport: path.join(ROOT, "runtime/index.ts") });
  const code = emitTrainer(ctx).get("model.ts")!;
  // The specialisation under test is really in the code.
  expect(code).toContain("ropeTables(T, { heads: 4, headDim: 8, base: 10_000, scale: 0.35355339059327373 })");
  expect(code).toContain("ropeTables(T, { heads: 2, headDim: 8, base: 10_000, scale: 1 })");
  expect(code).not.toContain("applyRope(");
  // Rotate-half by slices: no [width, width] permutation matmul.
  expect(code).not.toContain(".rotate");
  expect(code).toContain("rotary(q, ");
  fs.writeFileSync(path.join(outDir, "model.ts"), code);
  const mod = (await import(pathToFileURL(path.join(outDir, "model.ts")).href)) as { createModel: (o: { seed: number; backend: string }) => LanguageModel };
  return mod.createModel({ seed, backend: BACKEND });
}

function tokens(rows: number, seqLen: number, salt: number): Int32Array {
  const out = new Int32Array(rows * seqLen);
  for (let i = 0; i < out.length; i++) out[i] = (i * 11 + salt * 5 + ((i * i) % 7)) % ir.vocab;
  return out;
}

beforeAll(async () => {
  await selectBackend(BACKEND);
});

afterAll(() => {
  fs.rmSync(outRoot, { recursive: true, force: true });
});

describe("emitted RoPE constants", () => {
  it("leak no tensor across training steps and survive the tape", async () => {
    const model = await emittedModel(3);
    let n = 0;
    const trainer = new Trainer(
      model,
      {
        optimizer: { kind: "adamw", lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clip: 1, expertLr: null, decayAll: false },
        schedule: { kind: "constant", warmup: { steps: 0 }, minLr: 1 },
        totalSteps: 8,
        microBatches: 1,
      },
      { next: (): TrainBatch => ({ rows: 2, context: ir.context, inputs: tokens(2, ir.context, ++n), targets: tokens(2, ir.context, n + 100) }) },
    );
    const losses = [trainer.step().loss, trainer.step().loss];
    const after = tf.memory().numTensors;
    for (let s = 0; s < 5; s++) losses.push(trainer.step().loss);
    expect(tf.memory().numTensors).toBe(after);
    for (const loss of losses) expect(Number.isFinite(loss)).toBe(true);
    // It trained: the constants were read, not disposed, by every step.
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! - 1e-3);
    model.dispose();
  });

  it("give the generic model's logits at a second sequence length", async () => {
    const emitted = await emittedModel(5);
    const generic = buildModel(ir, { seed: 5, backend: BACKEND });
    for (const seqLen of [ir.context, 8, ir.context]) {
      const ids = tf.tensor2d(tokens(3, seqLen, seqLen), [3, seqLen], "int32");
      const a = tf.tidy(() => generic.forward(ids, "eval").logits.dataSync());
      const b = tf.tidy(() => emitted.forward(ids, "eval").logits.dataSync());
      let maxDiff = 0;
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
      expect(maxDiff, `seqLen ${seqLen}`).toBeLessThan(1e-5);
      expect(b.length).toBe(3 * seqLen * ir.vocab);
      ids.dispose();
    }
    generic.dispose();
    emitted.dispose();
  });
});
