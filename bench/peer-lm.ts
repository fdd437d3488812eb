/**
 * The small PEER language model of specs/peer-1m.peer (width 256, 4 blocks,
 * PEER in block 2: h 4, k 16, key dim 128, query BN) training on this machine
 * with its paper-size pool of 1024² experts, and the same model with 64²
 * experts for comparison. Each size runs in its own process, so peak RSS is its
 * own. Per size: model build (initialisation) time, median (min) step time and
 * tokens/s over the timed steps after one warm-up, peak RSS, the wasm heap, the
 * live bytes of the expert tables, and the memory preflight's estimate.
 *
 *   npx tsx bench/peer-lm.ts                   # 1024² and 64², 5 timed steps
 *   STEPS=10 SIZES=1024 npx tsx bench/peer-lm.ts
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { checkSource } from "../compiler/check/index.js";
import { selectBackend } from "../runtime/backend/select.js";
import { BatchSampler, openDataset } from "../runtime/data/index.js";
import { runtimeExpertBytes } from "../runtime/experts/memory.js";
import { buildModel } from "../runtime/model/model.js";
import { estimateRunMemory } from "../runtime/train/preflight.js";
import { Trainer } from "../runtime/train/trainer.js";

const STEPS = Number(process.env.STEPS ?? 5);
const SPEC_FILE = fileURLToPath(new URL("../specs/peer-1m.peer", import.meta.url));
const MiB = 2 ** 20;

interface Result {
  readonly subKeys: number;
  readonly params: number;
  readonly tokensPerStep: number;
  readonly initS: number;
  readonly stepMs: number[];
  readonly peakRssMiB: number;
  readonly wasmHeapMiB: number;
  readonly expertMiB: number;
  readonly estimateMiB: number;
  readonly losses: number[];
}

/** specs/peer-1m.peer with its 1024² pool replaced by subKeys². */
function modelFor(subKeys: number) {
  const text = fs.readFileSync(SPEC_FILE, "utf8").replace("experts: 1024^2", `experts: ${subKeys}^2`);
  const checked = checkSource(SPEC_FILE, text);
  const errors = checked.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(errors.map((e) => e.message).join("; "));
  return checked.program.models[0];
}

async function child(subKeys: number): Promise<Result> {
  await selectBackend("wasm");
  const ir = modelFor(subKeys);
  const train = ir.train!;
  const shape = { batch: train.batch, microBatch: train.microBatch, context: train.context };
  const t0 = performance.now();
  const model = buildModel(ir, { seed: 0, backend: "wasm" });
  const initS = (performance.now() - t0) / 1000;
  const ds = openDataset({ path: null, tokenizer: "bytes", valFraction: train.data.valFraction, context: train.context });
  const sampler = new BatchSampler(ds.source, ds.train, train.context, train.microBatch, 0);
  const trainer = new Trainer(
    model,
    { optimizer: train.optimizer, schedule: train.schedule, totalSteps: STEPS + 1, microBatches: train.batch / train.microBatch },
    { next: () => sampler.next() },
  );
  const stepMs: number[] = [];
  const losses: number[] = [];
  for (let s = 0; s <= STEPS; s++) {
    const t = performance.now();
    const stats = trainer.step();
    if (s > 0) stepMs.push(performance.now() - t);
    losses.push(stats.crossEntropy);
  }
  const peer = model.layers.find((l) => l.kind === "peer")!;
  return {
    subKeys,
    params: model.paramCount(),
    tokensPerStep: train.batch * train.context,
    initS,
    stepMs,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    wasmHeapMiB: (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength / MiB,
    expertMiB: runtimeExpertBytes(peer) / MiB,
    estimateMiB: estimateRunMemory(ir, shape).totalBytes / MiB,
    losses,
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function parent(): void {
  const sizes = (process.env.SIZES ?? "1024,64").split(",").map(Number);
  const self = fileURLToPath(import.meta.url);
  const results: Result[] = [];
  for (const subKeys of sizes) {
    const out = spawnSync(process.execPath, [...process.execArgv, self, "--child", String(subKeys)], { encoding: "utf8", maxBuffer: 1 << 24 });
    const line = out.stdout.split("\n").find((l) => l.startsWith("RESULT "));
    if (out.status !== 0 || line === undefined) {
      console.log(`N=${subKeys}^2: failed (${out.status})\n${out.stderr.slice(-2000)}`);
      continue;
    }
    results.push(JSON.parse(line.slice(7)) as Result);
    console.error(`done N=${subKeys}^2`);
  }
  const load = fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  console.log(`\nspecs/peer-1m.peer on wasm (1 thread), ${new Date().toISOString()}, load average ${load}; median (min) of ${STEPS} steps after 1 warm-up`);
  console.log("| N | params | init s | step ms | tokens/s | peak RSS MiB | preflight estimate MiB | wasm heap MiB | expert tables + state MiB | loss first → last |");
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  for (const r of results) {
    const step = median(r.stepMs);
    console.log(
      `| ${r.subKeys}² = ${(r.subKeys ** 2).toLocaleString("en-US")} | ${(r.params / 1e6).toFixed(1)} M | ${r.initS.toFixed(1)} | ` +
        `${step.toFixed(0)} (${Math.min(...r.stepMs).toFixed(0)}) | ${((r.tokensPerStep / step) * 1000).toFixed(0)} | ${r.peakRssMiB.toFixed(0)} | ` +
        `${r.estimateMiB.toFixed(0)} | ${r.wasmHeapMiB.toFixed(0)} | ${r.expertMiB.toFixed(0)} | ${r.losses[0].toFixed(2)} → ${r.losses[r.losses.length - 1].toFixed(2)} |`,
    );
  }
  const [big, small] = [results.find((r) => r.subKeys === 1024), results.find((r) => r.subKeys === 64)];
  if (big && small) console.log(`step time 1024² / 64²: ${(median(big.stepMs) / median(small.stepMs)).toFixed(2)}`);
}

if (process.argv[2] === "--child") {
  const result = await child(Number(process.argv[3]));
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exit(0);
} else {
  parent();
}
