/**
 * Kernel calls per training step of specs/tiny.peer on wasm, counted with
 * tf.profile around one Trainer.step (after a warm-up step), split into the
 * optimizer part (clip norm + scaling + AdamW, profiled on their own over the
 * same gradients) and the rest (forward + backward).
 *
 *   npx tsx bench/kernel-calls.ts
 *
 * Counts are deterministic (no timing): the same spec and seed give the same
 * kernel list on every run.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { checkSource } from "../compiler/check/index.js";
import { buildModel, selectBackend, Trainer } from "../runtime/index.js";
import { builtinCorpus } from "../runtime/data/index.js";
import { clipFactor, gradSquaredSum, scaleGradients, tableGradSquaredSum } from "../runtime/train/clip.js";

const repo = path.resolve(import.meta.dirname, "..");
const spec = process.env["SPEC"] ?? "specs/tiny.peer";
const result = checkSource(spec, fs.readFileSync(path.join(repo, spec), "utf8"));
const errors = result.diagnostics.filter((d) => d.severity === "error");
if (errors.length > 0) throw new Error(`${spec}: ${errors[0]!.message}`);
const ir = result.program.models[0]!;
const train = ir.train!;

const backend = await selectBackend("wasm");
const lm = buildModel(ir, { seed: 1, backend: backend.name });
const corpus = builtinCorpus();
let cursor = 0;
const data = {
  next: () => {
    const n = train.batch * ir.context;
    const inputs = new Int32Array(n);
    const targets = new Int32Array(n);
    for (let r = 0; r < train.batch; r++) {
      const start = (cursor = (cursor + 7919 * (r + 1)) % (corpus.length - ir.context - 1));
      for (let t = 0; t < ir.context; t++) {
        inputs[r * ir.context + t] = corpus[start + t]!;
        targets[r * ir.context + t] = corpus[start + t + 1]!;
      }
    }
    return { rows: train.batch, context: ir.context, inputs, targets };
  },
};
const trainer = new Trainer(lm, { optimizer: train.optimizer, schedule: train.schedule, totalSteps: 1000, microBatches: train.batch / train.microBatch }, data);
trainer.step(); // warm-up

function byKernel(kernels: { name: string }[]): string {
  const counts = new Map<string, number>();
  for (const k of kernels) counts.set(k.name, (counts.get(k.name) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([n, c]) => `${n} ${c}`).join(", ");
}

// tf.profile returns the engine's one profile object, so read it before the next profile.
const wholeProfile = await tf.profile(() => {
  trainer.step();
});
const whole = { count: wholeProfile.kernels.length, top: byKernel(wholeProfile.kernels) };
// The optimizer part alone, over one step's gradients.
const { grads, lastIds } = trainer.accumulateGradients();
const tables = lm.sparseTables;
const optimizerProfile = await tf.profile(() => {
  // As Trainer.step does it.
  const dense = gradSquaredSum(grads.values());
  const norm = Math.sqrt((dense === null ? 0 : dense.dataSync()[0]!) + tableGradSquaredSum(tables));
  dense?.dispose();
  scaleGradients(grads, tables, clipFactor(norm, train.optimizer.clip));
  const { lr, tableLr } = trainer.currentLearningRates();
  trainer.optimizer.apply(grads, lr, tableLr);
});
const optimizerPart = { count: optimizerProfile.kernels.length, top: byKernel(optimizerProfile.kernels) };
for (const g of grads.values()) g.dispose();
lastIds.dispose();

const dense = lm.variables.length;
console.log(`${spec} on wasm: ${dense} dense variables, ${tables.length} expert tables`);
console.log(`| part | kernel calls per step | most frequent |`);
console.log(`|---|---:|---|`);
console.log(`| whole Trainer.step | ${whole.count} | ${whole.top} |`);
console.log(`| of it clip + AdamW | ${optimizerPart.count} | ${optimizerPart.top} |`);
lm.dispose();
