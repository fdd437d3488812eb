/**
 * Tokens/s and MFU of two small language models on wasm, trained with the
 * runtime's Trainer in one process: specs/tiny.peer (3 blocks, a PEER layer of
 * 64^2 experts in the middle block) and the same model with a dense
 * feed-forward in place of the PEER layer.
 *
 *   npx tsx bench/small-lms.ts            (STEPS=n to change the timed steps)
 *
 * MFU = static forward FLOPs/token × 3 × tokens/s ÷ the backend's matmul peak,
 * the peak measured in this run by the runtime's probe (512×512 matmuls).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { checkSource } from "../compiler/check/index.js";
import { costModel } from "../compiler/cost/index.js";
import type { IRModel } from "../ir/types.js";
import { buildModel, describeBackend, selectBackend, Trainer } from "../runtime/index.js";
import { measureMatmulPeak, mfu } from "../runtime/metrics/index.js";
import { builtinCorpus } from "../runtime/data/index.js";

const STEPS = Number(process.env["STEPS"] ?? 10);
const repo = path.resolve(import.meta.dirname, "..");
const tinyText = fs.readFileSync(path.join(repo, "specs/tiny.peer"), "utf8");
const denseText = tinyText.replace(/peer\(experts: [^)]*\)/, "ffw(hidden: 4 * d, act: gelu)");
if (denseText === tinyText) throw new Error("bench/small-lms.ts: could not find the PEER layer in specs/tiny.peer");

function model(name: string, text: string): IRModel {
  const result = checkSource(`specs/${name}.peer`, text);
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(`${name}: ${errors[0]!.message}`);
  return result.program.models[0]!;
}

const report = await selectBackend("wasm");
console.log(describeBackend(report));
const peak = measureMatmulPeak(tf as never, { size: 512, trials: 5 });
console.log(`matmul peak (512×512, best of 5): ${(peak / 1e9).toFixed(1)} GFLOP/s`);

const corpus = builtinCorpus();
const rows: string[] = [];
for (const [label, text] of [["dense (tiny with a dense FFW)", denseText], ["PEER (specs/tiny.peer, N = 64^2)", tinyText]] as const) {
  const ir = model(label.startsWith("dense") ? "tiny-dense" : "tiny", text);
  const cost = costModel(ir);
  const train = ir.train!;
  const lm = buildModel(ir, { seed: 1, backend: report.name });
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
  const trainer = new Trainer(
    lm,
    { optimizer: train.optimizer, schedule: train.schedule, totalSteps: 1000, microBatches: train.batch / train.microBatch },
    data,
  );
  trainer.step(); // warm-up: kernel set-up, XNNPACK packing
  const seconds: number[] = [];
  for (let i = 0; i < STEPS; i++) seconds.push(trainer.step().seconds);
  seconds.sort((a, b) => a - b);
  const median = seconds[Math.floor(seconds.length / 2)]!;
  const tokens = train.batch * ir.context;
  const tps = tokens / median;
  rows.push(
    `| ${label} | ${Number(cost.totals.params).toLocaleString("en-US")} | ${(cost.totals.flopsPerToken.forward / 1e6).toFixed(2)} | ` +
      `${tokens} | ${(median * 1000).toFixed(0)} (min ${(seconds[0]! * 1000).toFixed(0)}) | ${tps.toFixed(0)} | ${(100 * mfu(cost.totals.flopsPerToken.forward, tps, peak)).toFixed(1)}% |`,
  );
  lm.dispose();
}
console.log(`\n| model | params | fwd MFLOP/token | tokens/step | step ms, median of ${STEPS} | tokens/s | MFU |\n|---|---:|---:|---:|---:|---:|---:|`);
for (const row of rows) console.log(row);
