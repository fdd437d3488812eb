/**
 * specs/tiny.peer trained with float32 and with bf16 expert moments (the spec
 * knob `expert_moments: bf16`: stochastic rounding), same seed and data, one
 * after the other in one process: the loss curves and their difference, and
 * the expert state's bytes.
 *
 *   npx tsx bench/bf16-moments.ts          (STEPS=n, default 400)
 *   PRECISIONS=bf16 npx tsx bench/bf16-moments.ts   (one side only; its per-step losses are printed as JSON)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkSource } from "../compiler/check/index.js";
import { buildModel, selectBackend, Trainer } from "../runtime/index.js";
import { builtinCorpus } from "../runtime/data/index.js";
import { ExpertTable, type MomentPrecision } from "../runtime/experts/sparse-table.js";

const STEPS = Number(process.env["STEPS"] ?? 400);
const repo = path.resolve(import.meta.dirname, "..");
const source = fs.readFileSync(path.join(repo, "specs/tiny.peer"), "utf8");
/** specs/tiny.peer with `expert_moments: <precision>` in its optimizer. */
const specWith = (precision: MomentPrecision) =>
  checkSource("specs/tiny.peer", source.replace("expert_lr: 1e-2)", `expert_lr: 1e-2, expert_moments: ${precision})`)).program.models[0]!;
const ir = specWith("fp32");
const train = ir.train!;
const backend = await selectBackend("wasm");
const corpus = builtinCorpus();

function run(precision: MomentPrecision): { losses: number[]; expertBytes: number } {
  const lm = buildModel(specWith(precision), { seed: 1, backend: backend.name });
  if (lm.sparseTables.some((t) => (t as ExpertTable).moments !== precision)) throw new Error(`the tables do not have ${precision} moments`);
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
  const trainer = new Trainer(lm, { optimizer: train.optimizer, schedule: train.schedule, totalSteps: STEPS, microBatches: train.batch / train.microBatch }, data);
  const losses: number[] = [];
  for (let i = 0; i < STEPS; i++) losses.push(trainer.step().loss);
  const expertBytes = lm.sparseTables.reduce((sum, t) => sum + (t instanceof ExpertTable ? t.table.byteLength + t.m.byteLength + t.v.byteLength : 0), 0);
  lm.dispose();
  return { losses, expertBytes };
}

const precisions = (process.env["PRECISIONS"] ?? "fp32,bf16").split(",") as MomentPrecision[];
if (precisions.length === 1) {
  const r = run(precisions[0]!);
  const k = Math.max(1, Math.floor(STEPS / 10));
  const end = r.losses.slice(-k).reduce((a, b) => a + b, 0) / k;
  console.log(`specs/tiny.peer, ${STEPS} steps, ${precisions[0]} moments: loss step 1 ${r.losses[0]!.toFixed(4)}, mean of the last ${k} steps ${end.toFixed(4)}`);
  console.log(`losses ${JSON.stringify(r.losses.map((x) => Number(x.toFixed(6))))}`);
  process.exit(0);
}
const fp32 = run("fp32");
const bf16 = run("bf16");
const tail = (xs: number[]): number => {
  const k = Math.max(1, Math.floor(xs.length / 10));
  return xs.slice(-k).reduce((a, b) => a + b, 0) / k;
};
let worst = 0;
for (let i = 0; i < STEPS; i++) worst = Math.max(worst, Math.abs(bf16.losses[i]! - fp32.losses[i]!));
console.log(`specs/tiny.peer, ${STEPS} steps, same seed and batches; loss = mean of the last ${Math.max(1, Math.floor(STEPS / 10))} steps`);
console.log(`| moments | loss, first step | loss, end | expert weights + moments MiB |\n|---|---:|---:|---:|`);
for (const [name, r] of [["fp32", fp32], ["bf16 (stochastic)", bf16]] as const) {
  console.log(`| ${name} | ${r.losses[0]!.toFixed(4)} | ${tail(r.losses).toFixed(4)} | ${(r.expertBytes / 2 ** 20).toFixed(2)} |`);
}
console.log(`end-of-run difference bf16 − fp32: ${(tail(bf16.losses) - tail(fp32.losses)).toFixed(4)} nats; largest per-step difference ${worst.toFixed(4)}`);
