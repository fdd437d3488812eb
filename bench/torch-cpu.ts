/**
 * CPU training tokens/s of the two targets in one run: the TypeScript trainer
 * (runtime Trainer on the best tfjs backend here) and the PyTorch target's
 * train.py (targets/torch), on specs/tiny.peer and on a d 256 PEER LM, same
 * batch and context. Each figure is the median of the timed steps after one
 * warm-up step.
 *
 *   npx tsx bench/torch-cpu.ts [--steps N] [--threads T]
 *
 * Needs a python3 that imports torch (PEERC_PYTHON, python3 or /usr/bin/python3).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { checkFiles } from "../compiler/check/index.js";
import { writeOutputs } from "../compiler/emit/write.js";
import type { IRModel } from "../ir/types.js";
import { buildModel, selectBackend, Trainer, type TrainBatch } from "../runtime/index.js";
import { emitTorchModelTrainer } from "../targets/torch/index.js";
import { findTorchPython } from "../targets/torch/python-env.js";

const PEER_D256 = `
model peer_d256 {
  vocab 256
  context 128
  embed tokens(dim: 256)
  positions rope
  repeat 2 as i {
    residual { norm rms; attention(heads: 4, head_dim: 64, causal) }
    residual { norm rms; peer(experts: 128^2, heads: 4, topk: 16, key_dim: 128, act: gelu, query_norm: batch) }
  }
  norm rms
  lm_head tied
}
train peer_d256 {
  batch 16
  steps 100
  optimizer adamw(lr: 1e-3, expert_lr: 1e-2)
  data bytes(val: 5%)
}`;

const { values } = parseArgs({ options: { steps: { type: "string", default: "6" }, threads: { type: "string", default: String(os.availableParallelism()) } } });
const steps = Number(values.steps);
const threads = Number(values.threads);
const { found, tried } = findTorchPython();
if (!found) {
  console.error(`no python3 with torch: ${tried.join("; ")}`);
  process.exit(1);
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-bench-torch-"));
const corpus = path.join(dir, "corpus.txt");
fs.writeFileSync(corpus, Array.from({ length: 20000 }, (_, i) => `line ${i}: the ${["cat", "owl", "fig", "sea"][i % 4]} sat ${(i * 7919) % 1000} times.`).join("\n"));

function model(file: string, text: string | null): IRModel {
  const host = { readFile: (f: string) => (f === file && text !== null ? text : fs.existsSync(f) ? fs.readFileSync(f, "utf8") : undefined) };
  return checkFiles([file], host).program.models[0]!;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function tsTokensPerSecond(ir: IRModel, backend: string): number {
  const train = ir.train!;
  const net = buildModel(ir, { seed: 1, backend });
  const rows = train.microBatch;
  let s = 7;
  const batch = (): TrainBatch => {
    const inputs = new Int32Array(rows * train.context).map(() => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) % 256);
    return { rows, context: train.context, inputs, targets: inputs.map((x) => (x + 1) % 256) };
  };
  const trainer = new Trainer(net, { optimizer: train.optimizer, schedule: train.schedule, totalSteps: steps + 1, microBatches: train.batch / train.microBatch }, { next: batch });
  trainer.step();
  const rates: number[] = [];
  for (let i = 0; i < steps; i++) {
    const st = trainer.step();
    rates.push(st.tokens / st.seconds);
  }
  net.dispose();
  return median(rates);
}

function torchTokensPerSecond(ir: IRModel): number {
  const folder = path.join(dir, ir.name);
  writeOutputs(folder, [...emitTorchModelTrainer(ir, { specFile: path.join(dir, "spec.peer"), outDir: folder })].map(([name, text]) => ({ name, text })));
  const out = path.join(dir, `${ir.name}-run`);
  const big = "1000000";
  const r = spawnSync(found!.python, [path.join(folder, "train.py"), "--data", corpus, "--steps", String(steps + 1), "--log-every", "1", "--eval-every", big, "--checkpoint-every", big, "--eval-batches", "1", "--threads", String(threads), "--out", out], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  const records = fs.readFileSync(path.join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { step: number; tokens_per_s?: number });
  return median(records.filter((x) => x.tokens_per_s !== undefined && x.step > 1).map((x) => x.tokens_per_s!));
}

const report = await selectBackend("auto");
console.log(`TypeScript backend ${report.name}; torch ${found.torchVersion} (${found.python}), ${threads} threads; ${steps} timed steps after 1 warm-up; ${os.cpus()[0]?.model ?? "cpu"}, load ${os.loadavg()[0]!.toFixed(1)}`);
for (const ir of [model(path.resolve("specs/tiny.peer"), null), model("peer_d256.peer", PEER_D256)]) {
  const ts = tsTokensPerSecond(ir, report.name);
  const torch = torchTokensPerSecond(ir);
  console.log(`${ir.name.padEnd(10)} batch ${ir.train!.batch} × ${ir.train!.context}: TypeScript ${ts.toFixed(0)} tokens/s, torch ${torch.toFixed(0)} tokens/s (torch/TS ${(torch / ts).toFixed(2)}×)`);
}
fs.rmSync(dir, { recursive: true, force: true });
