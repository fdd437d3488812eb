/**
 * Tokens/s of the emitted trainer's model against the generic model
 * (runtime/model buildModel), on wasm, in one process: same spec, same seed
 * (so the same weights), same batches, training steps alternated so machine
 * noise hits both alike. Prints each model's tokens/s and their ratio.
 *
 *   npx tsx bench/emitted-vs-generic.ts [SPEC [MODEL]] [--steps N] [--batch B] [--aa]
 *
 * Default: a dense model of tiny.peer's shape (tiny.peer itself when its PEER
 * layer's runtime is registered).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { checkFiles } from "../compiler/check/index.js";
import { costModel } from "../compiler/cost/index.js";
import { emitContext } from "../compiler/emit/context.js";
import { emitTrainer } from "../compiler/emit/index.js";
import { ensureRuntimeResolves } from "../compiler/emit/runtime-link.js";
import { peercRoot } from "../compiler/emit/package-root.js";
import type { IRModel } from "../compiler/ir/types.js";
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

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { steps: { type: "string", default: "20" }, batch: { type: "string", default: "8" }, aa: { type: "boolean", default: false } },
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

const ir = loadModel();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "peerc-bench-"));
const files = emitTrainer(emitContext(ir, costModel(ir), { specFile: path.join(dir, "spec.peer"), outDir: dir, runtimeImport: path.join(peercRoot(), "runtime/index.ts") }));
fs.writeFileSync(path.join(dir, "model.ts"), files.get("model.ts")!);
fs.writeFileSync(path.join(dir, "package.json"), '{ "type": "module" }\n');
ensureRuntimeResolves(dir);
const emitted = (await import(pathToFileURL(path.join(dir, "model.ts")).href)) as { createModel: (o: { seed: number; backend: string }) => LanguageModel };

const report = await selectBackend("wasm");
// --aa: both sides generic, to see the bench's own bias and noise.
const aa = process.argv.includes("--aa");
const special = trainer(aa ? buildModel(ir, { seed: 1, backend: report.name }) : emitted.createModel({ seed: 1, backend: report.name }), ir);
const generic = trainer(buildModel(ir, { seed: 1, backend: report.name }), ir);
for (let i = 0; i < 2; i++) {
  generic.step();
  special.step();
}
let genericSeconds = 0;
let emittedSeconds = 0;
let tokens = 0;
const pairRatios: number[] = [];
for (let i = 0; i < steps; i++) {
  // Alternate which goes first so drift in machine load does not favour one.
  const order = i % 2 === 0 ? [generic, special] : [special, generic];
  let g = 0;
  let e = 0;
  for (const t of order) {
    const s = t.step();
    if (t === generic) {
      g = s.seconds;
      tokens += s.tokens;
    } else e = s.seconds;
  }
  genericSeconds += g;
  emittedSeconds += e;
  pairRatios.push(g / e);
}
pairRatios.sort((a, b) => a - b);
const median = pairRatios[Math.floor(pairRatios.length / 2)]!;
const genericRate = tokens / genericSeconds;
const emittedRate = tokens / emittedSeconds;
console.log(`model ${ir.name}: ${ir.layers.length} layers; backend ${report.choice}; ${steps} timed training steps × ${batch} × ${ir.context} tokens each`);
console.log(`generic model (buildModel):  ${genericRate.toFixed(0)} tokens/s`);
console.log(`emitted model (model.ts):    ${emittedRate.toFixed(0)} tokens/s`);
console.log(`ratio emitted / generic:     ${(emittedRate / genericRate).toFixed(3)} (median of per-step pairs ${median.toFixed(3)})`);
fs.rmSync(dir, { recursive: true, force: true });
