/**
 * Query BatchNorm statistics at evaluation (issue #11 item 3): specs/tiny.peer
 * trained once per option with the same seed, initialisation and training
 * batches, one option after the other in one process. At each evaluation point
 * the validation loss is measured twice:
 *
 *   eval mode   running statistics, what the trainer reports (and what an
 *               exported model computes)
 *   train mode  each validation batch normalised with its own statistics (the
 *               statistics the training loss sees; the running ones are saved
 *               and restored around it, so the run is not disturbed)
 *
 * Options, each written out in the spec (so the table does not depend on the
 * defaults): momentum 0.5 (the former default), momentum 0.1, momentum 0.1 with
 * `bn_recalibrate 4` (the default since), LayerNorm queries. Training is the
 * same for every BatchNorm option (train mode never reads the running
 * statistics), so only the evaluation columns differ; with recalibration the
 * momentum does not matter at all (the first recalibration pass has weight 1).
 * The data path is trainMain's: the built-in corpus, BatchSampler over the train
 * split seeded by the spec's seed, the first EVAL_BATCHES sequential batches of
 * the validation split, recalibration batches from recalibrate.ts.
 *
 *   npx tsx bench/bn-eval.ts     (STEPS=n, default 300; EVAL_BATCHES=n, default 16;
 *                                 OPTIONS=comma list of option keys, default all)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { checkSource } from "../compiler/check/index.js";
import type { IRModel } from "../ir/types.js";
import { BatchSampler, openDataset, sequentialBatches, type Batch } from "../runtime/data/index.js";
import { buildModel, selectBackend, Trainer } from "../runtime/index.js";
import { crossEntropyLoss, type LanguageModel } from "../runtime/model/model.js";
import { recalibrationBatches } from "../runtime/train/recalibrate.js";

const STEPS = Number(process.env["STEPS"] ?? 300);
const EVAL_BATCHES = Number(process.env["EVAL_BATCHES"] ?? 16);
const RECALIBRATE = 4;
const POINTS = [5, 10, 25, 50, 100, 150, 200, 250, 300, 400].filter((s) => s < STEPS).concat(STEPS);

const repo = path.resolve(import.meta.dirname, "..");
const specText = fs.readFileSync(path.join(repo, "specs/tiny.peer"), "utf8");

interface Option {
  readonly key: string;
  readonly label: string;
  /** Appended to the peer layer's arguments. */
  readonly layerArgs: string;
  readonly recalibrate: number;
}

const OPTIONS: readonly Option[] = [
  { key: "m05", label: "momentum 0.5", layerArgs: ", bn_momentum: 0.5", recalibrate: 0 },
  { key: "m01", label: "momentum 0.1", layerArgs: ", bn_momentum: 0.1", recalibrate: 0 },
  { key: "m01r", label: `momentum 0.1 + bn_recalibrate ${RECALIBRATE}`, layerArgs: ", bn_momentum: 0.1", recalibrate: RECALIBRATE },
  { key: "ln", label: "LayerNorm queries", layerArgs: "", recalibrate: 0 },
];

function modelFor(option: Option): IRModel {
  let text = specText.replace("query_norm: batch)", `query_norm: ${option.key === "ln" ? "layer" : "batch"}${option.layerArgs})`);
  text = text.replace("  eval_every 100\n", `  eval_every 100\n  bn_recalibrate ${option.recalibrate}\n`);
  const result = checkSource("specs/tiny.peer", text);
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(errors.map((d) => d.message).join("; "));
  return result.program.models[0]!;
}

/** Mean validation cross entropy with each batch normalised by its own statistics; the running statistics are restored. */
function trainModeLoss(model: LanguageModel, batches: readonly Batch[]): number {
  const saved = model.buffers().map((b) => ({ tensor: b.tensor, copy: tf.clone(b.tensor) }));
  let sum = 0;
  let tokens = 0;
  for (const batch of batches) {
    const loss = tf.tidy(() => {
      const ids = tf.tensor2d(batch.inputs, [batch.rows, batch.context], "int32");
      return crossEntropyLoss(model.forward(ids, "train").logits, tf.tensor1d(batch.targets, "int32"));
    });
    sum += loss.dataSync()[0]! * batch.rows * batch.context;
    tokens += batch.rows * batch.context;
    loss.dispose();
  }
  for (const s of saved) {
    s.tensor.assign(s.copy);
    s.copy.dispose();
  }
  return sum / tokens;
}

interface Point {
  readonly step: number;
  readonly trainLoss: number;
  readonly evalMode: number;
  readonly trainMode: number;
}

async function run(option: Option): Promise<Point[]> {
  const ir = modelFor(option);
  const train = ir.train!;
  const ds = openDataset({ path: null, tokenizer: "bytes", valFraction: train.data.valFraction, context: train.context });
  const model = buildModel(ir, { seed: train.seed, backend: "wasm" });
  const sampler = new BatchSampler(ds.source, ds.train, train.context, train.microBatch, train.seed);
  const trainer = new Trainer(
    model,
    { optimizer: train.optimizer, schedule: train.schedule, totalSteps: STEPS, microBatches: train.batch / train.microBatch },
    { next: () => sampler.next() },
  );
  const val = [...sequentialBatches(ds.source, ds.val, train.context, train.microBatch, EVAL_BATCHES)];
  const points: Point[] = [];
  const started = performance.now();
  let recent: number[] = [];
  for (let step = 1; step <= STEPS; step++) {
    recent.push(trainer.step().crossEntropy);
    if (!POINTS.includes(step)) continue;
    if (option.recalibrate > 0) {
      trainer.recalibrateStatistics(recalibrationBatches(ds.source, ds.train, { context: train.context, rows: train.microBatch, seed: train.seed, step, count: option.recalibrate }));
    }
    const evalMode = trainer.evaluate(val).crossEntropy;
    const trainMode = option.key === "ln" ? evalMode : trainModeLoss(model, val);
    const trainLoss = recent.reduce((a, b) => a + b, 0) / recent.length;
    recent = [];
    points.push({ step, trainLoss, evalMode, trainMode });
    process.stderr.write(`${option.key} step ${step}: train ${trainLoss.toFixed(3)} eval-mode ${evalMode.toFixed(3)} train-mode ${trainMode.toFixed(3)} (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
  }
  model.dispose();
  ds.close();
  return points;
}

await selectBackend("wasm");
const chosen = (process.env["OPTIONS"] ?? OPTIONS.map((o) => o.key).join(",")).split(",");
const results = new Map<string, Point[]>();
for (const option of OPTIONS.filter((o) => chosen.includes(o.key))) results.set(option.key, await run(option));

console.log(`specs/tiny.peer, ${STEPS} steps (cosine schedule over ${STEPS}), seed 1, built-in corpus; validation = the first ${EVAL_BATCHES} batches of the val split.`);
console.log("Cells: eval-mode / train-mode validation loss (nats); Δ = eval − train mode. LayerNorm has no running statistics (the two modes are one).");
const ran = OPTIONS.filter((o) => results.has(o.key));
console.log(`| step | train loss | ${ran.map((o) => o.label).join(" | ")} |`);
console.log(`|---:|---:|${ran.map(() => "---|").join("")}`);
for (let i = 0; i < POINTS.length; i++) {
  const first = results.get(ran[0]!.key)![i]!;
  const cells = ran.map((o) => {
    const p = results.get(o.key)![i]!;
    return `${p.evalMode.toFixed(3)} / ${p.trainMode.toFixed(3)} (Δ ${(p.evalMode - p.trainMode >= 0 ? "+" : "")}${(p.evalMode - p.trainMode).toFixed(3)})`;
  });
  console.log(`| ${first.step} | ${first.trainLoss.toFixed(3)} | ${cells.join(" | ")} |`);
}
