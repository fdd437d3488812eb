/**
 * Query BatchNorm running statistics: the `bn_momentum` knob, and `bn_recalibrate`
 * (the exact mean of a few train-mode passes' statistics right before each
 * evaluation). Checked by hand computation on a QueryNet, through the generic
 * and the emitted model, and end to end through trainMain: training losses do
 * not change, only evaluation does, and a resumed run still equals the
 * uninterrupted one.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { costModel } from "../../compiler/cost/index.js";
import { emitContext } from "../../compiler/emit/context.js";
import { emitTrainer } from "../../compiler/emit/index.js";
import type { IRModel } from "../../ir/types.js";
import { DEFAULT_BN_RECALIBRATE } from "../../ir/defaults.js";
import { BN_MOMENTUM, QueryNet, recomputeQueryStatistics } from "../../runtime/experts/query-net.js";
import { SafetensorsFile } from "../../runtime/checkpoint/index.js";
import { openDataset } from "../../runtime/data/index.js";
import { readMetrics } from "../../runtime/metrics/index.js";
import { restoreModel } from "../../runtime/train/state.js";
import { buildModel, type LanguageModel } from "../../runtime/model/model.js";
import { trainMain } from "../../runtime/train/main.js";
import { recalibrateQueryStatistics, recalibrationBatches, recalibrationSeed } from "../../runtime/train/recalibrate.js";
import type { TrainBatch } from "../../runtime/train/trainer.js";
import { checkedModels, ROOT, tempDir } from "../emit/helpers.js";
import { peerSpec, randomArray, seededRng, useWasm } from "./experts-fixtures.js";

beforeAll(useWasm);

/** Column means and unbiased variances of x·W + b ([tokens, d] · [d, width]) in float64. */
function projectedStats(x: Float32Array, w: Float32Array, b: Float32Array, tokens: number, d: number, width: number) {
  const mean = new Float64Array(width);
  const variance = new Float64Array(width);
  const q = new Float64Array(tokens * width);
  for (let t = 0; t < tokens; t++) {
    for (let j = 0; j < width; j++) {
      let s = b[j]!;
      for (let c = 0; c < d; c++) s += x[t * d + c]! * w[c * width + j]!;
      q[t * width + j] = s;
      mean[j]! += s / tokens;
    }
  }
  for (let t = 0; t < tokens; t++) for (let j = 0; j < width; j++) variance[j]! += (q[t * width + j]! - mean[j]!) ** 2 / (tokens - 1);
  return { mean, variance };
}

function queryNet(over: Parameters<typeof peerSpec>[0]) {
  const spec = { ...peerSpec({ heads: 2, keyDim: 4, dModel: 5, queryNorm: "batch", queryBias: true, ...over }) };
  const net = new QueryNet(spec, seededRng(7));
  // A non-zero bias, so the hand computation covers it.
  const bias = net.variables.find((v) => v.name.endsWith("query.b"))!.variable;
  bias.assign(tf.tensor1d(Float32Array.from({ length: 8 }, (_, i) => 0.3 * i - 1)));
  const weight = net.variables.find((v) => v.name.endsWith("query.w"))!.variable;
  return { net, w: weight.dataSync() as Float32Array, b: bias.dataSync() as Float32Array, d: spec.dModel, width: spec.heads * spec.keyDim };
}

function closeTo(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThan(tol);
}

describe("query BatchNorm running statistics (QueryNet, by hand)", () => {
  it("bn_momentum sets the weight of the newest batch; the default is PyTorch's 0.1", () => {
    expect(BN_MOMENTUM).toBe(0.1);
    const tokens = 6;
    for (const momentum of [undefined, 0.1, 1]) {
      const { net, w, b, d, width } = queryNet({ subKeys: 4, ...(momentum === undefined ? {} : { bnMomentum: momentum }) });
      const x = randomArray(tokens * d, seededRng(11));
      tf.tidy(() => net.queries(tf.tensor2d(x, [tokens, d]), true));
      const m = momentum ?? BN_MOMENTUM;
      const stats = projectedStats(x, w, b, tokens, d, width);
      // From the initial 0 / 1: running = (1 − m)·initial + m·batch.
      closeTo(net.runningMean!.dataSync(), Array.from(stats.mean, (v) => m * v), 1e-5);
      closeTo(net.runningVar!.dataSync(), Array.from(stats.variance, (v) => 1 - m + m * v), 1e-5);
    }
  });

  it("recomputing sets the running statistics to the plain mean of the passes' batch statistics", () => {
    const tokens = 7;
    const { net, w, b, d, width } = queryNet({ subKeys: 4, bnMomentum: 0.1 });
    // Stale statistics first: recomputing must not keep any of them.
    net.runningMean!.assign(tf.fill([width], 5));
    net.runningVar!.assign(tf.fill([width], 9));
    const xs = [0, 1, 2].map((i) => randomArray(tokens * d, seededRng(20 + i)));
    recomputeQueryStatistics(xs.length, (i) => tf.tidy(() => void net.queries(tf.tensor2d(xs[i]!, [tokens, d]), true)));
    const per = xs.map((x) => projectedStats(x, w, b, tokens, d, width));
    const mean = Array.from({ length: width }, (_, j) => per.reduce((s, p) => s + p.mean[j]!, 0) / per.length);
    const variance = Array.from({ length: width }, (_, j) => per.reduce((s, p) => s + p.variance[j]!, 0) / per.length);
    closeTo(net.runningMean!.dataSync(), mean, 1e-5);
    closeTo(net.runningVar!.dataSync(), variance, 1e-5);
    // Afterwards ordinary training uses the layer's momentum again.
    const x = randomArray(tokens * d, seededRng(30));
    tf.tidy(() => net.queries(tf.tensor2d(x, [tokens, d]), true));
    const next = projectedStats(x, w, b, tokens, d, width);
    closeTo(net.runningMean!.dataSync(), mean.map((v, j) => 0.9 * v + 0.1 * next.mean[j]!), 1e-5);
  });
});

const SPEC = (extra: { layer?: string; train?: string } = {}) => `
model bn {
  vocab 256
  context 16
  embed tokens(dim: 16)
  positions rope
  residual { norm rms; attention(heads: 2, head_dim: 8, causal) }
  residual { norm rms; peer(experts: 8^2, heads: 2, topk: 4, key_dim: 8${extra.layer ?? ""}) }
  norm rms
  lm_head tied
}
train bn {
  batch 4
  micro_batch 2
  steps 6
  optimizer adamw(lr: 3e-3)
  seed 5
  eval_every 2
  checkpoint_every 3
  log_every 1
${extra.train ?? ""}}
`;

const outRoot = tempDir("peerc-bn-");
const entry = path.join(ROOT, "runtime/index.ts");

async function emitted(model: IRModel, folder: string): Promise<(o: { seed: number; backend: string }) => LanguageModel> {
  const outDir = path.join(outRoot, folder);
  fs.mkdirSync(outDir, { recursive: true });
  const files = emitTrainer(emitContext(model, costModel(model), { specFile: path.join(outRoot, "spec.peer"), outDir, runtimeImport: entry }));
  // model.ts and whatever TypeScript modules it imports from its folder.
  for (const [name, text] of files) if (name.endsWith(".ts") && name !== "train.ts") fs.writeFileSync(path.join(outDir, name), text);
  return ((await import(pathToFileURL(path.join(outDir, "model.ts")).href)) as { createModel: (o: { seed: number; backend: string }) => LanguageModel }).createModel;
}

function batch(salt: number): TrainBatch {
  const inputs = Int32Array.from({ length: 2 * 16 }, (_, i) => (i * 31 + salt * 17 + ((i * i) % 7)) % 256);
  return { rows: 2, context: 16, inputs, targets: inputs };
}

const statsOf = (model: LanguageModel) => model.buffers().map((b) => Array.from(b.tensor.dataSync()));
const weightsOf = (model: LanguageModel) => model.variables.map((v) => Array.from(v.variable.dataSync()));

describe("recalibration through the generic and the emitted model", () => {
  it("two batches give the mean of each batch's statistics; weights are untouched; both models agree", async () => {
    const ir = checkedModels(SPEC({ layer: ", bn_momentum: 0.25" }))[0]!;
    const makers = { generic: (o: { seed: number; backend: string }) => buildModel(ir, o), emitted: await emitted(ir, "recal") };
    const results: Record<string, number[][]> = {};
    for (const [name, make] of Object.entries(makers)) {
      const model = make({ seed: 3, backend: "wasm" });
      const before = weightsOf(model);
      expect(recalibrateQueryStatistics(model, [batch(1)])).toBe(1);
      const s1 = statsOf(model);
      recalibrateQueryStatistics(model, [batch(2)]);
      const s2 = statsOf(model);
      expect(recalibrateQueryStatistics(model, [batch(1), batch(2)])).toBe(2);
      const s12 = statsOf(model);
      expect(s12).toHaveLength(2);
      for (let k = 0; k < s12.length; k++) closeTo(s12[k]!, s1[k]!.map((v, i) => (v + s2[k]![i]!) / 2), 1e-5);
      expect(s1[0]).not.toEqual(s2[0]);
      expect(weightsOf(model)).toEqual(before);
      results[name] = s12;
    }
    for (let k = 0; k < results.generic!.length; k++) closeTo(results.emitted![k]!, results.generic![k]!, 1e-6);
  });

  it("the emitted model honours bn_momentum like the generic one", async () => {
    const once = async (layer: string, folder: string) => {
      const ir = checkedModels(SPEC({ layer }))[0]!;
      const out: number[][][] = [];
      for (const make of [(o: { seed: number; backend: string }) => buildModel(ir, o), await emitted(ir, folder)]) {
        const model = make({ seed: 3, backend: "wasm" });
        tf.tidy(() => void model.forward(tf.tensor2d(batch(4).inputs, [2, 16], "int32"), "train"));
        out.push(statsOf(model));
      }
      closeTo(out[1]![0]!, out[0]![0]!, 1e-6);
      return out[0]![0]!;
    };
    const slow = await once(", bn_momentum: 0.1", "m01");
    const full = await once(", bn_momentum: 1", "m1");
    // From a zero running mean, momentum m leaves m × the batch mean.
    closeTo(slow, full.map((v) => 0.1 * v), 1e-6);
  });

  it("a model without query BatchNorm runs no pass", () => {
    const ir = checkedModels(SPEC({ layer: ", query_norm: layer" }))[0]!;
    expect(recalibrateQueryStatistics(buildModel(ir, { seed: 1, backend: "wasm" }), [batch(1)])).toBe(0);
  });

  it("each evaluation's stream has its own seed", () => {
    const seeds = new Set([0, 1, 2, 100].flatMap((step) => [1, 2].map((seed) => recalibrationSeed(seed, step))));
    expect(seeds.size).toBe(8);
  });
});

describe("bn_recalibrate through trainMain", () => {
  const corpus = path.join(outRoot, "corpus.txt");
  fs.writeFileSync(corpus, "the quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. ".repeat(60));
  const run = async (ir: IRModel, out: string, extra: string[] = []) => {
    const lines: string[] = [];
    const sink = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
    const code = await trainMain(["--data", corpus, "--backend", "wasm", "--out", out, "--eval-batches", "2", ...extra], { ir, build: (o) => buildModel(ir, o) }, sink);
    expect(code, lines.join("\n")).toBe(0);
    return readMetrics(path.join(out, "metrics.jsonl"));
  };
  const losses = (m: ReturnType<typeof readMetrics>) => m.filter((r) => r.loss !== undefined).map((r) => r.loss);
  const vals = (m: ReturnType<typeof readMetrics>) => m.filter((r) => r.val_loss !== undefined).map((r) => [r.step, r.val_loss]);

  it("changes evaluation only, and a resumed run equals the uninterrupted one", async () => {
    const plain = checkedModels(SPEC({ layer: ", bn_momentum: 0.1", train: "  bn_recalibrate 0\n" }))[0]!;
    const recal = checkedModels(SPEC({ layer: ", bn_momentum: 0.1", train: "  bn_recalibrate 2\n" }))[0]!;
    const a = await run(plain, path.join(outRoot, "plain"));
    const b = await run(recal, path.join(outRoot, "recal"));
    expect(losses(a)).toHaveLength(6);
    // The training batches and losses are exactly those of the run without recalibration.
    expect(losses(b)).toEqual(losses(a));
    expect(vals(b).map(([s]) => s)).toEqual([2, 4, 6]);
    expect(vals(b)).not.toEqual(vals(a));

    // Interrupted after the step-3 checkpoint (between two evaluations), then resumed.
    const out = path.join(outRoot, "resumed");
    await run(recal, out);
    fs.rmSync(path.join(out, "step-000006"), { recursive: true, force: true });
    fs.writeFileSync(path.join(out, "latest"), "step-000003\n");
    const c = await run(recal, out, ["--resume"]);
    expect(losses(c)).toEqual(losses(b));
    expect(vals(c)).toEqual(vals(b));
  });

  it(`is on by default (${DEFAULT_BN_RECALIBRATE} batches) when the spec does not write it`, async () => {
    expect(DEFAULT_BN_RECALIBRATE).toBe(4);
    const implicit = checkedModels(SPEC())[0]!;
    const explicit = checkedModels(SPEC({ train: `  bn_recalibrate ${DEFAULT_BN_RECALIBRATE}\n` }))[0]!;
    const off = checkedModels(SPEC({ train: "  bn_recalibrate 0\n" }))[0]!;
    const a = await run(implicit, path.join(outRoot, "implicit"));
    expect(vals(a)).toEqual(vals(await run(explicit, path.join(outRoot, "explicit"))));
    expect(vals(a)).not.toEqual(vals(await run(off, path.join(outRoot, "off"))));
  });

  it("--export writes the statistics recalibrated at the last step", async () => {
    const ir = checkedModels(SPEC())[0]!;
    const exported = path.join(outRoot, "export");
    await run(ir, path.join(outRoot, "exporting"), ["--export", exported]);
    const file = SafetensorsFile.open(path.join(exported, "weights.safetensors"));
    const model = buildModel(ir, { seed: 99, backend: "wasm" });
    let written: number[][];
    try {
      const read = (name: string) => file.read(name) as Float32Array;
      restoreModel(model, read, (name) => {
        if (file.names().includes(name)) return read(name);
        const table = model.sparseTables.find((t) => name.startsWith(t.name + "."))!;
        return name.endsWith(".last_step") ? new Float32Array(table.rows) : new Float32Array(table.rows * table.cols);
      });
      written = statsOf(model);
    } finally {
      file.close();
    }
    // Recalibrating the exported weights with step 6's batches reproduces the exported statistics; step 5's do not.
    const ds = openDataset({ path: corpus, tokenizer: "bytes", valFraction: ir.train!.data.valFraction, context: 16 });
    try {
      const at = (step: number) => {
        recalibrateQueryStatistics(model, recalibrationBatches(ds.source, ds.train, { context: 16, rows: 2, seed: 5, step, count: DEFAULT_BN_RECALIBRATE }));
        return statsOf(model);
      };
      const other = at(5);
      expect(other[0]).not.toEqual(written[0]);
      const again = at(6);
      for (let k = 0; k < written.length; k++) closeTo(again[k]!, written[k]!, 1e-6);
    } finally {
      ds.close();
    }
  });
});
