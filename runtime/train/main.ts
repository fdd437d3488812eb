/**
 * `trainMain`: the command line of every emitted trainer (and of the generic
 * model). Picks the backend (first output line), opens the data, builds the
 * model, resumes if asked, trains with progress, JSONL metrics, validation
 * bits per byte, expert usage and atomic checkpoints, and writes a loss plot.
 * User errors (bad flags, data, checkpoint, divergence) print one message and
 * return exit code 1 (2 for usage errors), never a stack trace.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Writable } from "node:stream";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { UsageError, UserError } from "../../diagnostics/errors.js";
import { defaultTrain } from "../../ir/defaults.js";
import type { ModelArchitecture } from "../../ir/types.js";
import { BACKEND_REQUESTS, describeBackend, selectBackend, type BackendRequest } from "../backend/select.js";
import { CheckpointError, latestCheckpoint, loadCheckpoint, saveCheckpoint } from "../checkpoint/index.js";
import { BatchSampler, DataError, decodedByteLength, openDataset, sequentialBatches, type Dataset } from "../data/index.js";
import {
  bitsPerByte,
  cachedPeak,
  lossPlotSvg,
  lossSeriesFromMetrics,
  MetricsLogger,
  mfu,
  Progress,
  readMetrics,
  RoutingStats,
  type LossPoint,
  type MatmulTf,
  type MetricsRecord,
} from "../metrics/index.js";
import type { LanguageModel } from "../model/model.js";
import { exportModel } from "./export.js";
import { modelWeights, optimizerMoments, restoreModel, restoreOptimizer, tableStates } from "./state.js";
import { Trainer } from "./trainer.js";
import { warmupSteps } from "./schedule.js";
import { preflightMemory, type DenseMemoryFigures } from "./preflight.js";

/** What an emitted trainer hands to trainMain. */
export interface TrainTarget {
  /** The checked model, with its train section (hash, name, defaults); source locations are not needed. */
  readonly ir: ModelArchitecture;
  /** Folder the train section's data path is relative to (the spec's folder); default: the working directory. */
  readonly dataBase?: string;
  /** Builds the model on the selected backend (the generic one: `(o) => buildModel(ir, o)`). */
  build(options: { seed: number; backend: string }): LanguageModel;
  /** Forward FLOPs per token from the cost model, for MFU; omitted = no MFU. */
  readonly forwardFlopsPerToken?: number;
  /** Training FLOPs per token, to turn a FLOP budget into steps. */
  readonly trainFlopsPerToken?: number;
  /** The cost model's dense memory figures for the preflight; omitted = only expert tables are checked. */
  readonly memory?: DenseMemoryFigures;
}

export interface TrainIO {
  out(line: string): void;
  err(line: string): void;
}

const processIO: TrainIO = {
  out: (line) => process.stdout.write(line + "\n"),
  err: (line) => process.stderr.write(line + "\n"),
};


export const TRAIN_USAGE = `usage: train [options]
  --data <file>            training text (default: the spec's data, else the built-in corpus)
  --val-data <file>        separate validation text (default: the last val% of --data)
  --steps <n> | --tokens <n>  training horizon (default: the spec's)
  --batch <n>              sequences per optimizer step (default: the spec's)
  --backend <b>            auto | node-gpu | node | wasm | cpu (default auto)
  --out <dir>              run folder: checkpoints, metrics.jsonl, loss.svg (default runs/<model>)
  --resume                 continue from the latest checkpoint in --out
  --seed <n>               weights and data order (default: the spec's)
  --eval-every <n>         validation every n steps
  --eval-batches <n>       validation batches per evaluation (default 16)
  --log-every <n>          metrics line every n steps
  --checkpoint-every <n>   checkpoint every n steps
  --force-memory           start even if the memory preflight estimates the run will not fit
  --export <dir>           write the final weights (dir/weights.safetensors) and dir/architecture.json`;

/** A train section without source locations (what a ModelArchitecture carries). */
type TrainSection = NonNullable<ModelArchitecture["train"]>;


function positiveInt(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new UsageError(`--${flag} must be a positive integer, got "${text}"`);
  return value;
}

export interface TrainOptions {
  readonly data: string | null;
  readonly valData: string | null;
  readonly steps: number | undefined;
  readonly tokens: number | undefined;
  readonly batch: number | undefined;
  readonly backend: BackendRequest;
  readonly out: string;
  readonly resume: boolean;
  readonly seed: number | undefined;
  readonly evalEvery: number | undefined;
  readonly evalBatches: number;
  readonly logEvery: number | undefined;
  readonly checkpointEvery: number | undefined;
  readonly export: string | null;
  /** Start even when the memory preflight says the run will not fit. */
  readonly forceMemory: boolean;
}

export function parseTrainArgs(argv: readonly string[], modelName: string): TrainOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        data: { type: "string" },
        "val-data": { type: "string" },
        steps: { type: "string" },
        tokens: { type: "string" },
        batch: { type: "string" },
        backend: { type: "string", default: "auto" },
        out: { type: "string" },
        resume: { type: "boolean", default: false },
        seed: { type: "string" },
        "eval-every": { type: "string" },
        "eval-batches": { type: "string" },
        "log-every": { type: "string" },
        "checkpoint-every": { type: "string" },
        export: { type: "string" },
        "force-memory": { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) throw new UsageError("");
  if (v.steps !== undefined && v.tokens !== undefined) throw new UsageError("give --steps or --tokens, not both");
  const backend = v.backend as BackendRequest;
  if (!BACKEND_REQUESTS.includes(backend)) throw new UsageError(`--backend must be one of ${BACKEND_REQUESTS.join(", ")}, got "${v.backend}"`);
  const seedText = v.seed;
  if (seedText !== undefined && !Number.isSafeInteger(Number(seedText))) throw new UsageError(`--seed must be an integer, got "${seedText}"`);
  return {
    data: v.data ?? null,
    valData: v["val-data"] ?? null,
    steps: positiveInt("steps", v.steps),
    tokens: positiveInt("tokens", v.tokens),
    batch: positiveInt("batch", v.batch),
    backend,
    out: v.out ?? path.join("runs", modelName.replace(/[^A-Za-z0-9_.-]+/g, "_")),
    resume: v.resume ?? false,
    seed: seedText === undefined ? undefined : Number(seedText),
    evalEvery: positiveInt("eval-every", v["eval-every"]),
    evalBatches: positiveInt("eval-batches", v["eval-batches"]) ?? 16,
    logEvery: positiveInt("log-every", v["log-every"]),
    checkpointEvery: positiveInt("checkpoint-every", v["checkpoint-every"]),
    export: v.export ?? null,
    forceMemory: v["force-memory"] ?? false,
  };
}

function planSteps(options: TrainOptions, train: TrainSection, tokensPerStep: number, target: TrainTarget): number {
  if (options.steps !== undefined) return options.steps;
  if (options.tokens !== undefined) return Math.ceil(options.tokens / tokensPerStep);
  const h = train.horizon;
  if (h.kind === "steps") return h.steps;
  if (h.kind === "tokens") return Math.max(1, Math.ceil(h.tokens / tokensPerStep));
  if (!target.trainFlopsPerToken) throw new UsageError("the spec's horizon is a FLOP budget but this trainer has no FLOPs per token: pass --steps or --tokens");
  return Math.max(1, Math.floor(h.flops / (target.trainFlopsPerToken * tokensPerStep)));
}

function openData(options: TrainOptions, train: TrainSection, dataBase: string, context: number, log: (m: string) => void): { ds: Dataset; val: Dataset | null } {
  const specPath = train.data.path === null ? null : path.resolve(dataBase, train.data.path);
  let ds: Dataset;
  try {
    ds = openDataset({
      path: options.data ?? specPath,
      tokenizer: train.data.tokenizer,
      bpeVocab: train.data.bpeVocab,
      valFraction: options.valData ? 0 : train.data.valFraction,
      context,
      onProgress: log,
    });
  } catch (error) {
    // Say where a path the user did not type on this command line came from.
    if (error instanceof DataError && !options.data && specPath !== null) {
      throw new DataError(
        error.path,
        `${error.message} (named by the spec's \`data\` line as "${train.data.path}", relative to the spec's folder; --data FILE trains on another file)`,
      );
    }
    throw error;
  }
  if (!options.valData) return { ds, val: null };
  const val = openDataset({
    path: options.valData,
    tokenizer: train.data.tokenizer,
    bpeVocab: train.data.bpeVocab,
    valFraction: 0,
    context,
    tokenizerFile: ds.tokenizerPath ?? undefined,
    onProgress: log,
  });
  return { ds, val };
}

/** Runs a training job; returns the process exit code. */
export async function trainMain(argv: readonly string[], target: TrainTarget, io: TrainIO = processIO): Promise<number> {
  const ir = target.ir;
  let options: TrainOptions;
  try {
    options = parseTrainArgs(argv, ir.name);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (error.message) io.err(`error: ${error.message}`);
    io.err(TRAIN_USAGE);
    return error.message ? 2 : 0;
  }
  const datasets: Dataset[] = [];
  try {
    const report = await selectBackend(options.backend);
    io.out(describeBackend(report));
    return await train(options, target, report.name, io, datasets);
  } catch (error) {
    if (error instanceof UserError) {
      io.err(`error: ${error.describe()}`);
      if (error.hint) io.err(`  help: ${error.hint}`);
      return 1;
    }
    io.err(`internal error while training ${ir.name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 70;
  } finally {
    for (const d of datasets) d.close();
  }
}

async function train(options: TrainOptions, target: TrainTarget, backend: string, io: TrainIO, datasets: Dataset[]): Promise<number> {
  const ir = target.ir;
  const spec = ir.train ?? defaultTrain(ir.context);
  const context = spec.context;
  const batch = options.batch ?? spec.batch;
  const microBatch = batch % spec.microBatch === 0 ? spec.microBatch : batch;
  const tokensPerStep = batch * context;
  const totalSteps = planSteps(options, spec, tokensPerStep, target);
  const seed = options.seed ?? spec.seed;
  const logEvery = options.logEvery ?? spec.logEvery;
  const evalEvery = options.evalEvery ?? spec.evalEvery;
  const checkpointEvery = options.checkpointEvery ?? spec.checkpointEvery;
  // Before anything large exists: refuse a run that cannot fit (runtime/train/preflight.ts).
  for (const problem of preflightMemory(ir, { batch, microBatch, context }, target.memory ?? null, backend).problems) {
    if (!options.forceMemory) throw new UsageError(problem);
    io.err(`warning: ${problem} (--force-memory given: starting anyway)`);
  }

  const { ds, val } = openData(options, spec, target.dataBase ?? process.cwd(), context, (m) => io.err(m));
  datasets.push(ds);
  if (val) datasets.push(val);
  if (ds.tokenizer.vocabSize > ir.vocab) {
    throw new UsageError(`the ${spec.data.tokenizer} tokenizer has ${ds.tokenizer.vocabSize} tokens but the model's vocab is ${ir.vocab}`);
  }
  const model = target.build({ seed, backend });
  const valSource = val ? { source: val.source, split: val.train } : { source: ds.source, split: ds.val };

  let sampler = new BatchSampler(ds.source, ds.train, context, microBatch, seed);
  const trainer = new Trainer(model, { optimizer: spec.optimizer, schedule: spec.schedule, totalSteps, microBatches: batch / microBatch }, { next: () => sampler.next() });
  let tokensSeen = 0;
  if (options.resume) {
    if (latestCheckpoint(options.out) === null) throw new UsageError(`--resume: no checkpoint in ${options.out}`);
    const ckpt = loadCheckpoint(options.out, ir.hash);
    try {
      const readF32 = (file: typeof ckpt.weights, name: string): Float32Array => {
        const data = file.read(name);
        if (!(data instanceof Float32Array)) throw new CheckpointError(ckpt.path, `tensor ${name} is not F32`);
        return data;
      };
      const checked = (file: typeof ckpt.weights) => (name: string, shape: readonly number[]) => {
        const info = file.info(name);
        if (info.shape.join(",") !== shape.join(",")) throw new CheckpointError(ckpt.path, `tensor ${name} has shape [${info.shape}], the model needs [${shape}]`);
        return readF32(file, name);
      };
      restoreModel(model, checked(ckpt.weights), (name) => readF32(ckpt.optimizer, name));
      restoreOptimizer(trainer.optimizer, checked(ckpt.optimizer), ckpt.state.optimizerStep);
      sampler = new BatchSampler(ds.source, ds.train, context, microBatch, ckpt.state.data);
      tokensSeen = ckpt.state.tokensSeen;
      io.out(`resumed from ${ckpt.path} at step ${ckpt.state.step}`);
    } finally {
      ckpt.close();
    }
  }

  io.out(
    `model ${ir.name}: ${model.paramCount().toLocaleString("en-US")} parameters; data ${ds.label}: ${ds.bytes.toLocaleString("en-US")} bytes; ` +
      `${totalSteps} steps × ${batch} × ${context} tokens (${batch / microBatch} micro-batch${batch === microBatch ? "" : "es"} of ${microBatch}), warmup ${warmupSteps(spec.schedule, totalSteps)}`,
  );
  fs.mkdirSync(options.out, { recursive: true });
  const metricsFile = path.join(options.out, "metrics.jsonl");
  // A resumed run drops what the interrupted run logged after its checkpoint
  // (those steps run again) and plots the whole run, not just its second half.
  const earlier = trainer.stepCount > 0 && fs.existsSync(metricsFile) ? keepMetricsUpTo(metricsFile, trainer.stepCount) : [];
  const metrics = new MetricsLogger(metricsFile);
  const progress = new Progress({ total: totalSteps, startStep: trainer.stepCount, logEvery, ...(io === processIO ? {} : { stream: lineStream(io), tty: false }) });
  const earlierSeries = lossSeriesFromMetrics(earlier);
  const trainPoints: LossPoint[] = [...earlierSeries.train];
  const valPoints: LossPoint[] = [...earlierSeries.val];
  const saveAt = (step: number) =>
    saveCheckpoint(options.out, {
      weights: modelWeights(model),
      optimizer: [...optimizerMoments(trainer.optimizer), ...tableStates(model)],
      state: {
        specHash: ir.hash,
        model: ir.name,
        step,
        tokensSeen,
        data: sampler.state(),
        optimizerStep: trainer.optimizer.step,
        schedule: { lr: spec.optimizer.lr, totalSteps, warmupSteps: warmupSteps(spec.schedule, totalSteps), kind: spec.schedule.kind },
      },
    });
  // Read after the loop; a holder object because TypeScript does not see closure assignments.
  const validation: { last: { step: number; bpb: number } | null } = { last: null };
  const evaluate = (step: number) => {
    const routing = new RoutingStats();
    const batches = [...sequentialBatches(valSource.source, valSource.split, context, microBatch, options.evalBatches)];
    if (batches.length === 0) return;
    const { crossEntropy, tokens } = trainer.evaluate(batches, routing.recorder);
    const bytes = batches.reduce((n, b) => n + decodedByteLength(ds.tokenizer, b.targets), 0);
    const bpb = bitsPerByte(crossEntropy, tokens, bytes);
    valPoints.push({ step, loss: crossEntropy });
    const usage = routing.summaries();
    metrics.log({ step, tokens: tokensSeen, val_loss: crossEntropy, val_bpb: bpb, ...(usage.length > 0 ? { expert_usage: usage } : {}) });
    validation.last = { step, bpb };
    const experts = usage
      .map((u) => `${u.path}: ${(100 * u.usage).toFixed(1)}% of ${u.numExperts.toLocaleString("en-US")} experts used, unevenness ${u.unevenness.toFixed(2)}`)
      .join("; ");
    progress.log(`step ${step}: val loss ${crossEntropy.toFixed(4)}, ${bpb.toFixed(4)} bits/byte${experts ? ` | ${experts}` : ""}`);
  };

  try {
    while (trainer.stepCount < totalSteps) {
      const stats = trainer.step();
      tokensSeen += stats.tokens;
      const tokensPerSecond = stats.tokens / stats.seconds;
      const utilisation = target.forwardFlopsPerToken ? mfu(target.forwardFlopsPerToken, tokensPerSecond, peakFlops()) : Number.NaN;
      trainPoints.push({ step: stats.step, loss: stats.crossEntropy });
      progress.update({ step: stats.step, loss: stats.crossEntropy, tokensPerSecond, mfu: utilisation });
      if (stats.step % logEvery === 0 || stats.step === totalSteps) {
        metrics.log({
          step: stats.step, tokens: tokensSeen, loss: stats.crossEntropy, lr: stats.lr, grad_norm: stats.gradNorm, tokens_per_s: tokensPerSecond,
          ...(stats.auxLoss ? { aux_loss: stats.auxLoss } : {}), ...(Number.isFinite(utilisation) ? { mfu: utilisation } : {}),
        });
      }
      if (stats.step % evalEvery === 0 || stats.step === totalSteps) evaluate(stats.step);
      if (stats.step % checkpointEvery === 0 || stats.step === totalSteps) saveAt(stats.step);
    }
  } finally {
    progress.stop();
    metrics.close();
    fs.writeFileSync(path.join(options.out, "loss.svg"), lossPlotSvg({ train: trainPoints, val: valPoints }, { title: `${ir.name} loss` }));
  }
  if (options.export) {
    const exported = exportModel(options.export, model, ir);
    io.out(`exported ${exported.tensors} tensors (${exported.values.toLocaleString("en-US")} values) to ${exported.weightsFile}, the architecture to ${exported.architectureFile}`);
  }
  io.out(`done: ${trainer.stepCount} steps, ${tokensSeen.toLocaleString("en-US")} tokens; run folder ${options.out}`);
  if (validation.last) io.out(`validation: ${validation.last.bpb.toFixed(4)} bits/byte at step ${validation.last.step}`);
  io.out(`loss plot: ${path.join(options.out, "loss.svg")}`);
  return 0;
}

/** Rewrites a metrics log (temp file + rename) keeping the records up to `step`; returns them. */
function keepMetricsUpTo(file: string, step: number): MetricsRecord[] {
  const kept = readMetrics(file).filter((record) => record.step <= step);
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, kept.map((record) => JSON.stringify(record) + "\n").join(""));
  fs.renameSync(temp, file);
  return kept;
}

/** A writable stream that hands complete lines to io.err (progress output of embedded runs and tests). */
function lineStream(io: TrainIO): NodeJS.WritableStream {
  let pending = "";
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) io.err(line);
      done();
    },
  });
}

let peak: number | null = null;
/** Peak matmul FLOP/s of this backend, measured once and cached on disk by runtime/metrics. */
function peakFlops(): number {
  // A quick probe every run (3 timed 512² matmuls, ~20 ms) that can only raise the cached peak.
  if (peak === null) peak = cachedPeak(tf as unknown as MatmulTf, { refresh: true, trials: 3 });
  return peak;
}
