/**
 * Issue #12 item 5: the d 256, 4-block LM with a 1024² PEER layer in every
 * block (bench/peer-lm-4x1m.peer: h 4, k 16, key dim 128, context 128, batch 16)
 * training on this machine with bf16 expert moments (`expert_moments: bf16`).
 *
 * First the memory figures: the static report's peak (cost model), and the
 * trainer's memory preflight on this machine, for the spec as written and for
 * the same spec with fp32 moments (which the preflight refuses on a 24 GiB
 * machine). Then, if the preflight lets the bf16 run start, it builds the model
 * and trains STEPS timed steps after one warm-up, and prints the build time,
 * step time and tokens/s, the live bytes of the expert tables and the peak RSS.
 * Needs about 19 GiB: run it alone.
 *
 *   /usr/bin/time -v node --import tsx bench/peer-lm-4x1m.ts        (STEPS=n, default 4)
 *   SUBKEYS=64 npx tsx bench/peer-lm-4x1m.ts                       (a 64² pool: a quick check of the bench)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { checkSource } from "../compiler/check/index.js";
import { costModel, denseMemoryFigures } from "../compiler/cost/index.js";
import type { IRModel } from "../ir/types.js";
import { selectBackend } from "../runtime/backend/select.js";
import { BatchSampler, openDataset } from "../runtime/data/index.js";
import { runtimeExpertBytes } from "../runtime/experts/memory.js";
import { ExpertTable } from "../runtime/experts/sparse-table.js";
import { buildModel } from "../runtime/model/model.js";
import { formatBytes, preflightMemory } from "../runtime/train/preflight.js";
import { Trainer } from "../runtime/train/trainer.js";

const STEPS = Number(process.env.STEPS ?? 4);
const SPEC = path.join(import.meta.dirname, "peer-lm-4x1m.peer");
const GiB = 2 ** 30;

function check(text: string): IRModel {
  const result = checkSource("bench/peer-lm-4x1m.peer", text);
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(errors.map((e) => e.message).join("; "));
  return result.program.models[0]!;
}

const text = fs.readFileSync(SPEC, "utf8").replaceAll("experts: 1024^2", `experts: ${process.env.SUBKEYS ?? 1024}^2`);
const ir = check(text);
const fp32 = check(text.replace(", expert_moments: bf16", ""));
const train = ir.train!;
const shape = { batch: train.batch, microBatch: train.microBatch, context: train.context };
const backend = await selectBackend("wasm");

const load = () => fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
console.log(`bench/peer-lm-4x1m.peer (${process.env.SUBKEYS ?? 1024}² experts per block) on ${backend.name}, ${new Date().toISOString()}, load average ${load()}`);
for (const [name, model] of [["bf16 moments (as written)", ir], ["fp32 moments", fp32]] as const) {
  const staticPeak = costModel(model).train!.peakMemory.fp32.total;
  const pre = preflightMemory(model, shape, denseMemoryFigures(costModel(model).layers), backend.name);
  const verdict = pre.problems.length === 0 ? `fits (machine ${formatBytes(pre.machine.bytes)}, ${pre.machine.source})` : `refused: ${pre.problems.join(" | ")}`;
  console.log(`${name}: static peak ${formatBytes(staticPeak)}; preflight ${formatBytes(pre.estimate.totalBytes)}: ${verdict}`);
}

const preflight = preflightMemory(ir, shape, denseMemoryFigures(costModel(ir).layers), backend.name);
if (preflight.problems.length > 0) {
  console.log("not run: the preflight refuses the bf16 run on this machine");
  process.exit(0);
}

const t0 = performance.now();
const model = buildModel(ir, { seed: 1, backend: backend.name });
const buildS = (performance.now() - t0) / 1000;
const tables = model.sparseTables.filter((t): t is ExpertTable => t instanceof ExpertTable);
if (tables.length !== 8 || tables.some((t) => t.moments !== "bf16")) throw new Error("expected 8 expert tables with bf16 moments");
console.log(`built in ${buildS.toFixed(1)} s: ${model.paramCount().toLocaleString("en-US")} parameters, ${tables.length} expert tables with bf16 moments; RSS ${formatBytes(process.memoryUsage().rss)}`);

const ds = openDataset({ path: null, tokenizer: "bytes", valFraction: train.data.valFraction, context: train.context });
const sampler = new BatchSampler(ds.source, ds.train, train.context, train.microBatch, 1);
const trainer = new Trainer(
  model,
  { optimizer: train.optimizer, schedule: train.schedule, totalSteps: train.horizon.kind === "steps" ? train.horizon.steps : STEPS + 1, microBatches: train.batch / train.microBatch },
  { next: () => sampler.next() },
);
const tokensPerStep = train.batch * train.context;
const stepMs: number[] = [];
const losses: number[] = [];
for (let s = 0; s <= STEPS; s++) {
  const t = performance.now();
  const stats = trainer.step();
  const ms = performance.now() - t;
  if (s > 0) stepMs.push(ms);
  losses.push(stats.crossEntropy);
  console.log(`step ${s + 1}${s === 0 ? " (warm-up)" : ""}: ${ms.toFixed(0)} ms, ${((tokensPerStep / ms) * 1000).toFixed(0)} tokens/s, loss ${stats.crossEntropy.toFixed(4)}, load ${load()}`);
}
const sorted = [...stepMs].sort((a, b) => a - b);
const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
const expertBytes = model.layers.reduce((s, l) => s + runtimeExpertBytes(l), 0);
const wasmHeap = (tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.buffer.byteLength ?? 0;
console.log(
  `\n| steps timed | step ms, median (min) | tokens/s | build s | expert tables + state | preflight estimate | wasm heap | peak RSS | loss, step 1 → ${STEPS + 1} |\n|---|---|---|---|---|---|---|---|---|\n` +
    `| ${STEPS} | ${median.toFixed(0)} (${sorted[0]!.toFixed(0)}) | ${((tokensPerStep / median) * 1000).toFixed(0)} | ${buildS.toFixed(1)} | ${formatBytes(expertBytes)} | ` +
    `${formatBytes(preflight.estimate.totalBytes)} | ${formatBytes(wasmHeap)} | ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(1)} GiB | ${losses[0]!.toFixed(2)} → ${losses[losses.length - 1]!.toFixed(2)} |`,
);
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(2)} GiB of ${formatBytes(preflight.machine.bytes)}; ${(preflight.machine.bytes / GiB).toFixed(1)} GiB machine`);
