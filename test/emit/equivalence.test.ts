/**
 * The emitted model against the generic one (runtime/model buildModel) built
 * from the same IR with the same seed: equal logits within 1e-5, equal losses
 * over 20 training steps, and variables that add up to the cost model's
 * static parameter count exactly. Product-key layers are run in both score
 * layouts (heads batched / unrolled) and must also match in BatchNorm running
 * statistics after training, eval logits and expert-usage routing records.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../runtime/backend/select.js";
import { buildModel, type LanguageModel } from "../../runtime/model/model.js";
import { Trainer, type BatchSource, type TrainBatch } from "../../runtime/train/trainer.js";
import { emitTrainer } from "../../compiler/emit/index.js";
import { emitContext } from "../../compiler/emit/context.js";
import { costModel } from "../../compiler/cost/index.js";
import type { IRModel } from "../../ir/types.js";
import type { HeadLayouts } from "../../compiler/emit/layer-types.js";
import type { RoutingRecord } from "../../runtime/layers/layer.js";
import { checkedModels, repoModel, ROOT, tempDir } from "./helpers.js";

const BACKEND = "wasm";
const SEED = 11;

/** Small variants of the kinds, sized to run in a second each. */
const SPECS: Record<string, string> = {
  dense: `
model dense {
  vocab 64
  context 16
  embed tokens(dim: 32)
  positions learned
  repeat 2 {
    residual { norm layer; attention(heads: 4, head_dim: 8, kv_heads: 2, causal, bias) }
    residual { norm rms; ffw(hidden: 64, act: silu, glu, bias) }
  }
  norm rms
  lm_head
}`,
  rope: `
model rope {
  vocab 64
  context 16
  embed tokens(dim: 32)
  positions rope
  repeat 2 {
    residual { norm rms; attention(heads: 2, head_dim: 16, causal) }
    residual { norm rms; ffw(hidden: 64, act: gelu) }
  }
  norm rms
  lm_head tied
}`,
  nested: `
model nested {
  vocab 64
  context 16
  embed tokens(dim: 32)
  positions rope
  repeat 2 {
    residual {
      norm rms
      residual { norm rms; attention(heads: 2, head_dim: 16, causal) }
      ffw(hidden: 64, act: gelu)
    }
  }
  norm rms
  lm_head tied
}`,
  moe: `
model moe {
  vocab 64
  context 16
  embed tokens(dim: 32)
  positions rope
  residual { norm rms; attention(heads: 2, head_dim: 16, causal) }
  residual { norm rms; moe(experts: 4, topk: 2, hidden: 32, act: gelu, routing: token, capacity: 2.0) }
  norm rms
  lm_head tied
}`,
  moe_expert_choice: `
model moe_expert_choice {
  vocab 64
  context 16
  embed tokens(dim: 32)
  positions learned
  residual { norm rms; moe(experts: 4, hidden: 16, routing: expert, capacity: 2.0, act: silu, glu, bias) }
  norm rms
  lm_head tied
}`,
  peer: `
model peer {
  vocab 64
  context 16
  embed tokens(dim: 32)
  positions rope
  residual { norm rms; attention(heads: 2, head_dim: 16, causal) }
  residual { norm rms; peer(experts: 16^2, heads: 2, topk: 4, key_dim: 16, act: gelu, query_norm: batch) }
  norm rms
  lm_head tied
}`,
  peer_per_head_sigmoid: `
model peer_per_head_sigmoid {
  vocab 64
  context 16
  embed tokens(dim: 32)
  positions rope
  residual { norm rms; peer(experts: 8^2, heads: 3, topk: 2, key_dim: 8, act: relu, query_norm: layer, keys: per_head, scores: sigmoid) }
  norm rms
  lm_head tied
}`,
  peer_glu: `
model peer_glu {
  vocab 64
  context 16
  embed tokens(dim: 32)
  positions rope
  residual { norm rms; attention(heads: 2, head_dim: 16, causal) }
  residual { norm rms; peer(experts: 16^2, heads: 2, topk: 4, key_dim: 16, act: silu, glu: true, query_norm: batch) }
  norm rms
  lm_head tied
}`,
  pkm: `
model pkm {
  vocab 64
  context 16
  embed tokens(dim: 32)
  positions rope
  residual { norm rms; attention(heads: 2, head_dim: 16, causal) }
  residual { norm rms; pkm(memories: 16^2, heads: 2, topk: 4, key_dim: 16, query_norm: none) }
  norm rms
  lm_head tied
}`,
};

const outRoot = tempDir("peerc-equiv-");
// The runtime sources themselves (what peerc/runtime maps to), so both models share one tfjs instance.
const entry = path.join(ROOT, "runtime/index.ts");

async function emittedFactory(model: IRModel, headLayout?: HeadLayouts): Promise<(o: { seed: number; backend: string }) => LanguageModel> {
  const outDir = path.join(outRoot, headLayout ? `${model.name}-${headLayout.shared}-${headLayout.per_head}` : model.name);
  fs.mkdirSync(outDir, { recursive: true });
  const ctx = emitContext(model, costModel(model), { specFile: path.join(outRoot, "spec.peer"), outDir, runtimeImport: entry, ...(headLayout ? { headLayout } : {}) });
  const files = emitTrainer(ctx);
  fs.writeFileSync(path.join(outDir, "model.ts"), files.get("model.ts")!);
  // PEER/PKM models import their WGSL kernels (registered on every backend, run on webgpu).
  if (files.has("kernels.ts")) fs.writeFileSync(path.join(outDir, "kernels.ts"), files.get("kernels.ts")!);
  const mod = (await import(pathToFileURL(path.join(outDir, "model.ts")).href)) as {
    createModel: (o: { seed: number; backend: string }) => LanguageModel;
  };
  return mod.createModel;
}

function ids(batch: number, seqLen: number, vocab: number, salt: number): Int32Array {
  const out = new Int32Array(batch * seqLen);
  for (let i = 0; i < out.length; i++) out[i] = (i * 7 + salt * 13 + ((i * i) % 5)) % vocab;
  return out;
}

function fixedBatches(model: IRModel, rows: number): BatchSource {
  let n = 0;
  return {
    next(): TrainBatch {
      n++;
      const inputs = ids(rows, model.context, model.vocab, n);
      const targets = ids(rows, model.context, model.vocab, n + 1000);
      return { rows, context: model.context, inputs, targets };
    },
  };
}

function trainLosses(model: LanguageModel, ir: IRModel, steps: number): number[] {
  const trainer = new Trainer(
    model,
    {
      optimizer: { kind: "adamw", lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clip: 1, expertLr: null, decayAll: false },
      schedule: { kind: "constant", warmup: { steps: 0 }, minLr: 1 },
      totalSteps: steps,
      microBatches: 1,
    },
    fixedBatches(ir, 2),
  );
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) losses.push(trainer.step().loss);
  return losses;
}

beforeAll(async () => {
  await selectBackend(BACKEND);
});

afterAll(() => {
  fs.rmSync(outRoot, { recursive: true, force: true });
});

describe.each(Object.keys(SPECS))("emitted %s model", (name) => {
  const ir = checkedModels(SPECS[name]!, `${name}.peer`)[0]!;

  it("gives the generic model's logits within 1e-5", async () => {
    const createModel = await emittedFactory(ir);
    const generic = buildModel(ir, { seed: SEED, backend: BACKEND });
    const emitted = createModel({ seed: SEED, backend: BACKEND });
    const input = tf.tensor2d(ids(2, ir.context, ir.vocab, 0), [2, ir.context], "int32");
    const a = tf.tidy(() => generic.forward(input, "eval").logits.arraySync() as number[][]);
    const b = tf.tidy(() => emitted.forward(input, "eval").logits.arraySync() as number[][]);
    expect(b.length).toBe(a.length);
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) for (let j = 0; j < a[i]!.length; j++) maxDiff = Math.max(maxDiff, Math.abs(a[i]![j]! - b[i]![j]!));
    expect(maxDiff).toBeLessThan(1e-5);
    // Logits are not trivially equal (e.g. all zero): they vary across the vocabulary.
    expect(Math.max(...a[0]!) - Math.min(...a[0]!)).toBeGreaterThan(1e-4);
    // Parameters add up to the static count of the cost model, exactly.
    expect(BigInt(emitted.paramCount())).toBe(costModel(ir).totals.params);
    input.dispose();
    generic.dispose();
    emitted.dispose();
  });

  it("trains to the same losses over 20 steps", async () => {
    const createModel = await emittedFactory(ir);
    const a = trainLosses(buildModel(ir, { seed: SEED, backend: BACKEND }), ir, 20);
    const b = trainLosses(createModel({ seed: SEED, backend: BACKEND }), ir, 20);
    for (let s = 0; s < a.length; s++) expect(Math.abs(a[s]! - b[s]!), `step ${s + 1}`).toBeLessThan(1e-4);
    // Training moved: the last loss differs from the first.
    expect(Math.abs(a[0]! - a[a.length - 1]!)).toBeGreaterThan(1e-3);
  });
});

describe("emitted specs/tiny.peer", () => {
  it("matches the generic model's logits and the cost model's parameter count", async () => {
    const ir = repoModel("specs/tiny.peer");
    const createModel = await emittedFactory(ir);
    const generic = buildModel(ir, { seed: SEED, backend: BACKEND });
    const emitted = createModel({ seed: SEED, backend: BACKEND });
    const input = tf.tensor2d(ids(2, ir.context, ir.vocab, 3), [2, ir.context], "int32");
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(generic.forward(input, "eval").logits, emitted.forward(input, "eval").logits))).dataSync()[0]!);
    expect(diff).toBeLessThan(1e-5);
    expect(BigInt(emitted.paramCount())).toBe(costModel(ir).totals.params);
    input.dispose();
    generic.dispose();
    emitted.dispose();
  });
});

/** Every expert-usage record of one eval forward pass. */
function routingOf(model: LanguageModel, input: tf.Tensor2D): RoutingRecord[] {
  const records: RoutingRecord[] = [];
  tf.tidy(() => {
    model.forward(input, "eval", (r) => records.push(r));
  });
  return records;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(b.length).toBe(a.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const PRODUCT_KEY_SPECS = ["peer", "peer_glu", "peer_per_head_sigmoid", "pkm"];
const LAYOUTS: HeadLayouts[] = [
  { shared: "batched", per_head: "batched" },
  { shared: "unrolled", per_head: "unrolled" },
];

describe.each(PRODUCT_KEY_SPECS.flatMap((name) => LAYOUTS.map((layout) => [name, layout] as const)))(
  "emitted %s retrieval, heads %o",
  (name, layout) => {
    const ir = checkedModels(SPECS[name]!, `${name}.peer`)[0]!;

    it("trains like the generic model: losses, BatchNorm running statistics, eval logits and routing records", async () => {
      const createModel = await emittedFactory(ir, layout);
      const generic = buildModel(ir, { seed: SEED, backend: BACKEND });
      const emitted = createModel({ seed: SEED, backend: BACKEND });
      const a = trainLosses(generic, ir, 4);
      const b = trainLosses(emitted, ir, 4);
      expect(maxAbsDiff(a, b)).toBeLessThan(1e-4);

      // Running statistics moved away from their initial 0 / 1 and moved alike.
      const buffersA = generic.buffers().map((x) => ({ name: x.name, data: x.tensor.dataSync() }));
      const buffersB = emitted.buffers().map((x) => ({ name: x.name, data: x.tensor.dataSync() }));
      expect(buffersB.map((x) => x.name)).toEqual(buffersA.map((x) => x.name));
      for (let i = 0; i < buffersA.length; i++) {
        expect(maxAbsDiff(buffersA[i]!.data, buffersB[i]!.data), buffersA[i]!.name).toBeLessThan(1e-6);
        if (buffersA[i]!.name.endsWith("running_mean")) expect(Math.max(...Array.from(buffersA[i]!.data, Math.abs))).toBeGreaterThan(1e-4);
      }

      // Eval mode reads the running statistics; same logits, same experts and router weights.
      const input = tf.tensor2d(ids(2, ir.context, ir.vocab, 5), [2, ir.context], "int32");
      const la = tf.tidy(() => generic.forward(input, "eval").logits.dataSync());
      const lb = tf.tidy(() => emitted.forward(input, "eval").logits.dataSync());
      expect(maxAbsDiff(la, lb)).toBeLessThan(1e-5);
      const ra = routingOf(generic, input);
      const rb = routingOf(emitted, input);
      expect(ra.length).toBe(1);
      expect(rb.map((r) => [r.path, r.numExperts])).toEqual(ra.map((r) => [r.path, r.numExperts]));
      const layer = ir.layers.find((l) => l.kind === "peer" || l.kind === "pkm")!;
      const slots = layer.kind === "peer" || layer.kind === "pkm" ? layer.heads * layer.topk : 0;
      expect(rb[0]!.ids.length).toBe(2 * ir.context * slots);
      expect(Array.from(rb[0]!.ids)).toEqual(Array.from(ra[0]!.ids));
      expect(maxAbsDiff(ra[0]!.weights, rb[0]!.weights)).toBeLessThan(1e-6);
      input.dispose();
      generic.dispose();
      emitted.dispose();
    });
  },
);
