/**
 * Tokens/s of the emitted trainer's model against the generic model
 * (runtime/model buildModel), on wasm, in one process: same spec, same seed
 * (so the same weights), same batches, training steps alternated so machine
 * noise hits all alike. Prints each model's tokens/s and their ratio.
 *
 *   npx tsx bench/emitted-vs-generic.ts [SPEC [MODEL]] [--steps N] [--batch B] [--aa]
 *   npx tsx bench/emitted-vs-generic.ts --heads [--keys shared|per_head] [SPEC [MODEL]]
 *   npx tsx bench/emitted-vs-generic.ts --profile [SPEC [MODEL]]
 *
 * Default: a dense model of tiny.peer's shape (tiny.peer itself when its PEER
 * layer's runtime is registered). `--heads` races the two layouts of the
 * product-key score matmuls in emitted code (heads folded into a batch vs one
 * matmul per head, kinds/product-keys/emit.ts) against the generic
 * model, on a retrieval-heavy one-layer PEER model unless a spec is given.
 * `--profile` prints, for one training step of each model, the tf.profile
 * kernel times grouped by kernel (matmuls, sums and multiplies by input shape).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { checkFiles } from "../compiler/check/index.js";
import { costModel } from "../compiler/cost/index.js";
import { emitContext } from "../compiler/emit/context.js";
import { emitTrainer } from "../compiler/emit/index.js";
import { ensureRuntimeResolves } from "../compiler/emit/runtime-link.js";
import { peercRoot } from "../compiler/emit/package-root.js";
import type { IRModel } from "../ir/types.js";
import type { HeadLayouts } from "../compiler/emit/layer-types.js";
import { buildModel, hasLayerFactory, selectBackend, Trainer, type LanguageModel, type TrainBatch } from "../runtime/index.js";

const DENSE_TINY = `
model tiny_dense {
  vocab 256
  context 128
  embed tokens(dim: 128)
  positions rope
  repeat 3 {
    residual { norm rms; attention(heads: 4, head_dim: 32, causal) }
    residual { norm rms; ffw(hidden: 512, act: gelu) }
  }
  norm rms
  lm_head tied
}`;

/** Retrieval-heavy: √N = 256 sub-keys per half, 8 heads × top-16, so the score matmuls matter. */
const PEER_RETRIEVAL = (keys: string) => `
model peer_retrieval_${keys} {
  vocab 256
  context 128
  embed tokens(dim: 256)
  residual { norm rms; peer(experts: 256^2, heads: 8, topk: 16, key_dim: 128, act: gelu, query_norm: batch, keys: ${keys}) }
  norm rms
  lm_head tied
}`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    steps: { type: "string", default: "20" },
    batch: { type: "string", default: "8" },
    aa: { type: "boolean", default: false },
    heads: { type: "boolean", default: false },
    keys: { type: "string", default: "shared" },
    profile: { type: "boolean", default: false },
  },
});
const steps = Number(values.steps);
const batch = Number(values.batch);

function loadModel(): IRModel {
  const root = peercRoot();
  if (positionals.length > 0) {
    const spec = positionals[0]!;
    const result = checkFiles([spec], { readFile: (f) => fs.readFileSync(path.resolve(root, f), "utf8") });
    const model = positionals[1] ? result.program.models.find((m) => m.name === positionals[1]) : result.program.models[0];
    if (!model) throw new Error(`${spec}: no model ${positionals[1] ?? ""}`);
    return model;
  }
  const tiny = checkFiles(["specs/tiny.peer"], { readFile: (f) => fs.readFileSync(path.resolve(root, f), "utf8") }).program.models[0]!;
  if (tiny.layers.every((l) => hasLayerFactory(l.kind))) return tiny;
  return checkFiles(["tiny_dense.peer"], { readFile: () => DENSE_TINY }).program.models[0]!;
}

function batches(model: IRModel): { next(): TrainBatch } {
  let n = 0;
  return {
    next() {
      n++;
      const size = batch * model.context;
      const inputs = new Int32Array(size);
      const targets = new Int32Array(size);
      for (let i = 0; i < size; i++) {
        inputs[i] = (i * 31 + n * 17) % model.vocab;
        targets[i] = (i * 31 + n * 17 + 1) % model.vocab;
      }
      return { rows: batch, context: model.context, inputs, targets };
    },
  };
}

function trainer(model: LanguageModel, ir: IRModel): Trainer {
  return new Trainer(
    model,
    {
      optimizer: { kind: "adamw", lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clip: 1, expertLr: null, decayAll: false },
      schedule: { kind: "constant", warmup: { steps: 0 }, minLr: 1 },
      totalSteps: steps + 2,
      microBatches: 1,
    },
    batches(ir),
  );
}

async function emittedFactory(ir: IRModel, dir: string, headLayout?: HeadLayouts): Promise<(o: { seed: number; backend: string }) => LanguageModel> {
  const sub = fs.mkdtempSync(path.join(dir, "m-"));
  const ctx = emitContext(ir, costModel(ir), { specFile: path.join(sub, "spec.peer"), outDir: sub, runtimeImport: path.join(peercRoot(), "runtime/index.ts"), ...(headLayout ? { headLayout } : {}) });
  const files = emitTrainer(ctx);
  // model.ts imports its PEER/PKM layers' WGSL kernels.
  for (const name of ["model.ts", "kernels.ts"]) if (files.has(name)) fs.writeFileSync(path.join(sub, name), files.get(name)!);
  fs.writeFileSync(path.join(sub, "package.json"), '{ "type": "module" }\n');
  ensureRuntimeResolves(sub);
  return ((await import(pathToFileURL(path.join(sub, "model.ts")).href)) as { createModel: (o: { seed: number; backend: string }) => LanguageModel }).createModel;
}

interface Entrant {
  readonly label: string;
  readonly trainer: Trainer;
  seconds: number;
  /** Per-step time ratio against the first entrant, per round. */
  readonly ratios: number[];
}

/** Runs `steps` rounds; each round steps every entrant once, rotating who goes first. */
function race(entrants: Entrant[]): number {
  for (const e of entrants) for (let i = 0; i < 2; i++) e.trainer.step();
  let tokens = 0;
  for (let i = 0; i < steps; i++) {
    const order = entrants.map((_, j) => entrants[(i + j) % entrants.length]!);
    const times = new Map<Entrant, number>();
    for (const e of order) {
      const s = e.trainer.step();
      times.set(e, s.seconds);
      if (e === entrants[0]) tokens += s.tokens;
    }
    for (const e of entrants) {
      e.seconds += times.get(e)!;
      e.ratios.push(times.get(entrants[0]!)! / times.get(e)!);
    }
  }
  return tokens;
}

/** One profiled training step: kernel time per kernel name, and the step's wall time (the rest is JS between kernels). */
async function profileStep(label: string, t: Trainer): Promise<void> {
  for (let i = 0; i < 3; i++) t.step();
  let wall = 0;
  const info = await tf.profile(() => {
    const started = performance.now();
    t.step();
    wall = performance.now() - started;
  });
  const byName = new Map<string, { ms: number; calls: number }>();
  let kernelMs = 0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    const key = ["BatchMatMul", "Sum", "Multiply", "Exp", "Mean", "Concat", "SplitV"].includes(k.name) ? `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join("x")}` : k.name;
    const entry = byName.get(key) ?? { ms: 0, calls: 0 };
    entry.ms += ms;
    entry.calls++;
    byName.set(key, entry);
    kernelMs += ms;
  }
  console.log(`${label}: step ${wall.toFixed(1)} ms under the profiler, ${info.kernels.length} kernel calls, kernels ${kernelMs.toFixed(1)} ms`);
  for (const [name, e] of [...byName].sort((a, b) => b[1].ms - a[1].ms).slice(0, 40)) {
    console.log(`  ${name.padEnd(40)} ${e.calls.toString().padStart(5)} calls ${e.ms.toFixed(2).padStart(9)} ms`);
  }
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-bench-"));
const report = await selectBackend("wasm");
const entrant = (label: string, model: LanguageModel, ir: IRModel): Entrant => ({ label, trainer: trainer(model, ir), seconds: 0, ratios: [] });

if (values.profile) {
  const ir = loadModel();
  const createModel = await emittedFactory(ir, dir);
  await profileStep("generic", trainer(buildModel(ir, { seed: 1, backend: report.name }), ir));
  await profileStep("emitted", trainer(createModel({ seed: 1, backend: report.name }), ir));
} else if (values.heads) {
  const ir = positionals.length > 0 ? loadModel() : checkFiles(["bench.peer"], { readFile: () => PEER_RETRIEVAL(values.keys!) }).program.models[0]!;
  const batched = await emittedFactory(ir, dir, { shared: "batched", per_head: "batched" });
  const unrolled = await emittedFactory(ir, dir, { shared: "unrolled", per_head: "unrolled" });
  const entrants = [
    entrant("generic model (buildModel)", buildModel(ir, { seed: 1, backend: report.name }), ir),
    entrant("emitted, heads batched", batched({ seed: 1, backend: report.name }), ir),
    entrant("emitted, heads unrolled", unrolled({ seed: 1, backend: report.name }), ir),
  ];
  const tokens = race(entrants);
  console.log(`model ${ir.name}: backend ${report.choice}; ${steps} timed training steps × ${batch} × ${ir.context} tokens each, rotated`);
  for (const e of entrants) {
    console.log(`${e.label.padEnd(28)} ${(tokens / e.seconds).toFixed(0).padStart(7)} tokens/s  (vs generic: total ${(entrants[0]!.seconds / e.seconds).toFixed(3)}, median per step ${median(e.ratios).toFixed(3)})`);
  }
  const [, b, u] = entrants;
  const perStep = b!.ratios.map((r, i) => u!.ratios[i]! / r);
  console.log(`unrolled / batched: total ${(b!.seconds / u!.seconds).toFixed(3)}, median per step ${median(perStep).toFixed(3)}`);
} else {
  const ir = loadModel();
  const createModel = await emittedFactory(ir, dir);
  // --aa: both sides generic, to see the bench's own bias and noise.
  const special = values.aa ? buildModel(ir, { seed: 1, backend: report.name }) : createModel({ seed: 1, backend: report.name });
  const entrants = [entrant("generic model (buildModel):", buildModel(ir, { seed: 1, backend: report.name }), ir), entrant("emitted model (model.ts):", special, ir)];
  const tokens = race(entrants);
  const [generic, emitted] = entrants;
  console.log(`model ${ir.name}: ${ir.layers.length} layers; backend ${report.choice}; ${steps} timed training steps × ${batch} × ${ir.context} tokens each`);
  console.log(`generic model (buildModel):  ${(tokens / generic!.seconds).toFixed(0)} tokens/s`);
  console.log(`emitted model (model.ts):    ${(tokens / emitted!.seconds).toFixed(0)} tokens/s`);
  console.log(`ratio emitted / generic:     ${(generic!.seconds / emitted!.seconds).toFixed(3)} (median of per-step pairs ${median(emitted!.ratios).toFixed(3)})`);
}
fs.rmSync(dir, { recursive: true, force: true });
