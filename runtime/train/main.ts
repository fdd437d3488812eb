/**
 * `trainMain`: the command line of every emitted trainer (and of the generic
 * model). Picks the backend (first output line), opens the data, builds the
 * model, resumes if asked, trains with progress, JSONL metrics, validation
 * bits per byte, expert usage and atomic checkpoints, and writes a loss plot.
 * User errors (bad flags, data, checkpoint, divergence) print one message and
 * return exit code 1 (2 for usage errors), never a stack trace.
 *
 * `train` reads top to bottom: settings → memory preflight → data → model →
 * resume → horizon → the loop (step, log, evaluate, checkpoint) → export and
 * summary. Flags: options.ts (the table is ir/trainer-flags.ts); resume:
 * resume.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Writable } from "node:stream";
import * as tf from "@tensorflow/tfjs";
import { UsageError, UserError } from "../../diagnostics/errors.js";
import { visible } from "../../diagnostics/source.js";
import { DEFAULT_BN_RECALIBRATE } from "../../ir/defaults.js";
import type { ModelArchitecture } from "../../ir/types.js";
import { describeMatmul, matmulVariant, setNativeThreads } from "../backend/kernels/native-matmul.js";
import { describeBackend, releaseBackend, selectBackend } from "../backend/select.js";
import { hasExpertTables } from "../../kinds/runtime.js";
import { asyncReads, isDeviceBackend, readableOnHost, webGpuAdapter } from "../backend/webgpu.js";
import { saveCheckpoint } from "../checkpoint/index.js";
import { availableCores, describeExpertThreads, setExpertThreads, startExpertWorkers } from "../experts/kernel-pool.js";
import { BatchSampler, DataError, decodedByteLength, openDataset, sequentialBatches, type Dataset } from "../data/index.js";
import {
  bitsPerByte,
  cachedPeak,
  cachedPeakAsync,
  lossPlotSvg,
  lossSeriesFromMetrics,
  MetricsLogger,
  mfu,
  Progress,
  readMetrics,
  RoutingStats,
  type LossPoint,
  type MatmulTf,
  type MatmulTfAsync,
  type MetricsRecord,
  type UsageSummary,
} from "../metrics/index.js";
import type { LanguageModel } from "../model/model.js";
import { TrainingDivergedError } from "./errors.js";
import { exportModel } from "./export.js";
import { recalibrationBatches } from "./recalibrate.js";
import { HelpRequested, parseTrainArgs, specSteps, trainHelp, trainSection, type TrainOptions, type TrainSection } from "./options.js";
import { preflightMemory, type DenseMemoryFigures } from "./preflight.js";
import { plural, restoreOptimizerFrom, resumedHorizon, resumeModel, type ResumePoint } from "./resume.js";
import { warmupSteps } from "./schedule.js";
import { modelWeights, optimizerMoments, tableStates } from "./state.js";
import { Trainer, type StepStats } from "./trainer.js";

export { parseTrainArgs, trainHelp, type TrainOptions } from "./options.js";

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

/** Runs a training job; returns the process exit code. */
export async function trainMain(argv: readonly string[], target: TrainTarget, io: TrainIO = processIO): Promise<number> {
  const ir = target.ir;
  let options: TrainOptions;
  try {
    options = parseTrainArgs(argv, ir.name);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const help = trainHelp(ir, target.trainFlopsPerToken).trimEnd();
    if (error instanceof HelpRequested) {
      io.out(help);
      return 0;
    }
    io.err(`error: ${error.message}`);
    if (error.hint) io.err(`  help: ${error.hint}`);
    io.err(help);
    return 2;
  }
  const datasets: Dataset[] = [];
  try {
    const report = await selectBackend(options.backend);
    // Before the model is built: expert tables are allocated shared for the workers only then.
    const threads = setExpertThreads(options.threads ?? availableCores());
    // On a device backend PEER/PKM run on the device (kinds/*/device.ts): no host kernels to name or start.
    const hostExperts = !isDeviceBackend(report.name) && ir.layers.some(hasExpertTables);
    if (hostExperts) startExpertWorkers(); // they load while the model is built
    setNativeThreads(threads); // the OpenBLAS matmul (wasm backend) uses the same --threads
    const line = hostExperts ? firstLine(describeBackend(report), threads, ir.train?.optimizer.expertMoments === "bf16") : describeBackend(report);
    const matmul = describeMatmul(report.name);
    io.out(matmul ? afterBackend(line, `, ${matmul}`) : line);
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
    // Dawn keeps the process alive until its device is gone.
    releaseBackend();
  }
}

/** The backend line with the host expert kernels' threads after the chosen backend (before any "not used" list). */
function firstLine(backendLine: string, threads: number, bf16Tables: boolean): string {
  return afterBackend(backendLine, `, host expert kernels: ${describeExpertThreads(threads, bf16Tables)}`);
}

/** Inserts `part` after what the backend line says about the chosen backend, before any "not used" list. */
function afterBackend(backendLine: string, part: string): string {
  const cut = backendLine.indexOf("; not used: ");
  return cut < 0 ? backendLine + part : backendLine.slice(0, cut) + part + backendLine.slice(cut);
}

/** The run's shape and intervals: flags over the train section (or the smoke-run defaults). */
interface RunSettings {
  readonly spec: TrainSection;
  readonly context: number;
  readonly batch: number;
  readonly microBatch: number;
  readonly tokensPerStep: number;
  readonly seed: number;
  readonly logEvery: number;
  readonly evalEvery: number;
  readonly checkpointEvery: number;
}

async function train(options: TrainOptions, target: TrainTarget, backend: string, io: TrainIO, datasets: Dataset[]): Promise<number> {
  const ir = target.ir;
  const settings = runSettings(options, ir);
  if (!ir.train) io.out(defaultsNote(ir, options, settings));
  checkMemory(options, settings, target, backend, io);
  const momentsNote = deviceMomentsNote(ir, backend);
  if (momentsNote) io.err(momentsNote);
  const { ds, val } = openData(options, settings.spec, target.dataBase ?? process.cwd(), settings.context, (m) => io.err(m));
  datasets.push(ds, ...(val ? [val] : []));
  if (ds.tokenizer.vocabSize > ir.vocab) {
    throw new UsageError(`the ${settings.spec.data.tokenizer} tokenizer has ${ds.tokenizer.vocabSize} tokens but the model's vocab is ${ir.vocab}`);
  }
  const model = target.build({ seed: settings.seed, backend });
  const run = startRun(options, settings, target, model, ds, io);
  const { trainer } = run;
  const totalSteps = trainer.config.totalSteps;
  io.out(startLine(ir, model, ds, settings, totalSteps));

  if (asyncReads() && target.forwardFlopsPerToken) await measureDevicePeak();
  const log = openRunLog(options.out, trainer.stepCount, totalSteps, settings.logEvery, io);
  const evaluate = evaluator(target, settings, options, trainer, val ? { source: val.source, split: val.train } : { source: ds.source, split: ds.val }, ds, log);
  const checkpoints = checkpointer(options.out, ir, run);
  try {
    while (trainer.stepCount < totalSteps) {
      const stats = await stepOrExplain(trainer, checkpoints.last, settings.checkpointEvery);
      run.tokensSeen += stats.tokens;
      const last = stats.step === totalSteps;
      logStep(log, stats, run.tokensSeen, target, stats.step % settings.logEvery === 0 || last);
      if (stats.step % settings.evalEvery === 0 || last) await evaluate(stats.step, run.tokensSeen);
      if (stats.step % settings.checkpointEvery === 0 || last) await checkpoints.save(stats.step);
    }
  } finally {
    log.close(`${ir.name} loss`);
  }

  if (options.export) {
    await readableOnHost([...model.variables.map((v) => v.variable), ...model.buffers().map((b) => b.tensor)]);
    const exported = exportModel(options.export, model, ir);
    io.out(`exported ${exported.tensors} tensors (${exported.values.toLocaleString("en-US")} values) to ${exported.weightsFile}, the architecture to ${exported.architectureFile}`);
  }
  io.out(`done: ${plural(trainer.stepCount, "step")}, ${run.tokensSeen.toLocaleString("en-US")} tokens; run folder ${options.out}`);
  if (log.lastValidation) io.out(`validation: ${log.lastValidation.bpb.toFixed(4)} bits/byte at step ${log.lastValidation.step}`);
  io.out(`loss plot: ${path.join(options.out, "loss.svg")}`);
  return 0;
}

/** Before anything large exists: refuse a run that cannot fit (runtime/train/preflight.ts). */
function checkMemory(options: TrainOptions, s: RunSettings, target: TrainTarget, backend: string, io: TrainIO): void {
  const shape = { batch: s.batch, microBatch: s.microBatch, context: s.context };
  for (const problem of preflightMemory(target.ir, shape, target.memory ?? null, backend).problems) {
    if (!options.forceMemory) throw new UsageError(problem);
    io.err(`warning: ${problem} (--force-memory given: starting anyway)`);
  }
}

/**
 * `expert_moments: bf16` is a setting of the host expert tables (ExpertTable); on a
 * device backend the tables are device variables under the dense AdamW, whose moments are fp32.
 */
function deviceMomentsNote(ir: ModelArchitecture, backend: string): string | null {
  if (ir.train?.optimizer.expertMoments !== "bf16" || !isDeviceBackend(backend)) return null;
  if (!ir.layers.some(hasExpertTables)) return null;
  return `note: expert_moments: bf16 applies to host expert tables; on the ${backend} backend the expert tables are device variables and their Adam moments stay fp32`;
}

/** The trainer, its data and position: fresh, or restored from the newest good checkpoint with its horizon. */
interface Run {
  readonly trainer: Trainer;
  readonly sampler: BatchSampler;
  tokensSeen: number;
  /** The checkpoint this run resumed from, or null. */
  readonly resumedFrom: { step: number; path: string } | null;
}

function startRun(options: TrainOptions, s: RunSettings, target: TrainTarget, model: LanguageModel, ds: Dataset, io: TrainIO): Run {
  const resumed = options.resume ? resumeModel(options.out, target.ir.hash, model, (line) => io.err(line)) : null;
  try {
    const horizon = planHorizon(options, s, target, resumed);
    if (horizon.note) io.err(horizon.note);
    const sampler = new BatchSampler(ds.source, ds.train, s.context, s.microBatch, resumed ? resumed.checkpoint.state.data : s.seed);
    const trainer = new Trainer(
      model,
      { optimizer: s.spec.optimizer, schedule: s.spec.schedule, totalSteps: horizon.totalSteps, microBatches: s.batch / s.microBatch },
      { next: () => sampler.next() },
    );
    if (resumed === null) return { trainer, sampler, tokensSeen: 0, resumedFrom: null };
    restoreOptimizerFrom(resumed, trainer.optimizer);
    io.out(`resumed from ${resumed.checkpoint.path} at step ${resumed.step}`);
    return { trainer, sampler, tokensSeen: resumed.checkpoint.state.tokensSeen, resumedFrom: { step: resumed.step, path: resumed.checkpoint.path } };
  } finally {
    resumed?.checkpoint.close();
  }
}

function startLine(ir: ModelArchitecture, model: LanguageModel, ds: Dataset, s: RunSettings, totalSteps: number): string {
  const { batch, microBatch, context } = s;
  return (
    `model ${visible(ir.name)}: ${model.paramCount().toLocaleString("en-US")} parameters; data ${visible(ds.label)}: ${ds.bytes.toLocaleString("en-US")} bytes; ` +
    `${plural(totalSteps, "step")} × ${batch} × ${context} tokens (${batch / microBatch} micro-batch${batch === microBatch ? "" : "es"} of ${microBatch}), ` +
    `warmup ${warmupSteps(s.spec.schedule, totalSteps)}`
  );
}

/** One step's progress frame and loss point; a metrics record when `record`. */
function logStep(log: RunLog, stats: StepStats, tokensSeen: number, target: TrainTarget, record: boolean): void {
  const tokensPerSecond = stats.tokens / stats.seconds;
  const utilisation = target.forwardFlopsPerToken ? mfu(target.forwardFlopsPerToken, tokensPerSecond, peakFlops()) : Number.NaN;
  log.train.push({ step: stats.step, loss: stats.crossEntropy });
  log.progress.update({ step: stats.step, loss: stats.crossEntropy, tokensPerSecond, mfu: utilisation });
  if (!record) return;
  log.metrics.log({
    step: stats.step, tokens: tokensSeen, loss: stats.crossEntropy, lr: stats.lr, grad_norm: stats.gradNorm, tokens_per_s: tokensPerSecond,
    ...(stats.auxLoss ? { aux_loss: stats.auxLoss } : {}), ...(Number.isFinite(utilisation) ? { mfu: utilisation } : {}),
  });
}

function runSettings(options: TrainOptions, ir: ModelArchitecture): RunSettings {
  const spec = trainSection(ir);
  if (options.context !== undefined && options.context > ir.context) {
    throw new UsageError(`--context ${options.context} is longer than the model's context, ${ir.context}`);
  }
  const context = options.context ?? spec.context;
  const batch = options.batch ?? spec.batch;
  return {
    spec,
    context,
    batch,
    microBatch: batch % spec.microBatch === 0 ? spec.microBatch : batch,
    tokensPerStep: batch * context,
    seed: options.seed ?? spec.seed,
    logEvery: options.logEvery ?? spec.logEvery,
    evalEvery: options.evalEvery ?? spec.evalEvery,
    checkpointEvery: options.checkpointEvery ?? spec.checkpointEvery,
  };
}

/** A model without a train section trains a smoke run: say so, with the values the flags did not set. */
function defaultsNote(ir: ModelArchitecture, options: TrainOptions, s: RunSettings): string {
  const parts: string[] = [];
  if (options.context === undefined) parts.push(`context ${s.context} (the model's)`);
  if (options.batch === undefined) parts.push(`batch ${s.batch}`);
  // A resumed run keeps the interrupted run's horizon (said separately).
  if (options.steps === undefined && options.tokens === undefined && !options.resume && s.spec.horizon.kind === "steps") parts.push(plural(s.spec.horizon.steps, "step"));
  const o = s.spec.optimizer;
  parts.push(`adamw lr ${o.lr}, ${s.spec.schedule.kind} schedule, clip ${o.clip ?? "off"}`);
  if (options.seed === undefined) parts.push(`seed ${s.seed}`);
  if (options.data === null) parts.push("the built-in corpus");
  return `note: model ${visible(ir.name)} has no train section; using the defaults (docs/runtime.md, "No train section"): ${parts.join(", ")}`;
}

/** Steps of this run: the command line's, else a resumed run's own, else the spec's. */
function planHorizon(options: TrainOptions, s: RunSettings, target: TrainTarget, resumed: ResumePoint | null): { totalSteps: number; note: string | null } {
  const explicit =
    options.steps !== undefined
      ? { steps: options.steps, flag: `--steps ${options.steps}` }
      : options.tokens !== undefined
        ? { steps: Math.ceil(options.tokens / s.tokensPerStep), flag: `--tokens ${options.tokens}` }
        : null;
  const spec = specSteps(s.spec, s.tokensPerStep, target.trainFlopsPerToken);
  if (resumed !== null) return resumedHorizon(resumed, explicit, spec, (total) => warmupSteps(s.spec.schedule, total));
  const totalSteps = explicit?.steps ?? spec;
  if (totalSteps === null) throw new UsageError("the spec's horizon is a FLOP budget but this trainer has no FLOPs per token: pass --steps or --tokens");
  return { totalSteps, note: null };
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

/** Metrics log, progress and the loss curve of a run; a resumed run continues the interrupted run's. */
interface RunLog {
  readonly metrics: MetricsLogger;
  readonly progress: Progress;
  readonly train: LossPoint[];
  readonly val: LossPoint[];
  lastValidation: { step: number; bpb: number } | null;
  /** Stops progress, closes the log and writes loss.svg. */
  close(title: string): void;
}

function openRunLog(out: string, startStep: number, totalSteps: number, logEvery: number, io: TrainIO): RunLog {
  fs.mkdirSync(out, { recursive: true });
  const metricsFile = path.join(out, "metrics.jsonl");
  // A resumed run drops what the interrupted run logged after its checkpoint
  // (those steps run again) and plots the whole run, not just its second half.
  const earlier = startStep > 0 && fs.existsSync(metricsFile) ? keepMetricsUpTo(metricsFile, startStep) : [];
  const series = lossSeriesFromMetrics(earlier);
  const metrics = new MetricsLogger(metricsFile);
  const progress = new Progress({ total: totalSteps, startStep, logEvery, ...(io === processIO ? {} : { stream: lineStream(io), tty: false }) });
  const log: RunLog = {
    metrics,
    progress,
    train: [...series.train],
    val: [...series.val],
    lastValidation: null,
    close: (title) => {
      progress.stop();
      metrics.close();
      fs.writeFileSync(path.join(out, "loss.svg"), lossPlotSvg({ train: log.train, val: log.val }, { title }));
    },
  };
  return log;
}

/** Validation at a step: loss, bits per byte and the usage of every routed layer, logged and printed above the bar. */
function evaluator(
  target: TrainTarget,
  s: RunSettings,
  options: TrainOptions,
  trainer: Trainer,
  valSource: { source: Dataset["source"]; split: Dataset["val"] },
  ds: Dataset,
  log: RunLog,
): (step: number, tokensSeen: number) => Promise<void> {
  const kindOf = new Map(target.ir.layers.map((l) => [l.path, l.kind] as const));
  return async (step, tokensSeen) => {
    const recalibrate = s.spec.bnRecalibrate ?? DEFAULT_BN_RECALIBRATE;
    if (recalibrate > 0) {
      trainer.recalibrateStatistics(recalibrationBatches(ds.source, ds.train, { context: s.context, rows: s.microBatch, seed: s.seed, step, count: recalibrate }));
    }
    const routing = new RoutingStats();
    const batches = [...sequentialBatches(valSource.source, valSource.split, s.context, s.microBatch, options.evalBatches)];
    if (batches.length === 0) return;
    const { crossEntropy, tokens } = asyncReads() ? await trainer.evaluateAsync(batches, routing.recorder) : trainer.evaluate(batches, routing.recorder);
    await routing.settle(); // webgpu: the routing records read in the background
    const bytes = batches.reduce((n, b) => n + decodedByteLength(ds.tokenizer, b.targets), 0);
    const bpb = bitsPerByte(crossEntropy, tokens, bytes);
    log.val.push({ step, loss: crossEntropy });
    const usage = routing.summaries();
    log.metrics.log({ step, tokens: tokensSeen, val_loss: crossEntropy, val_bpb: bpb, ...(usage.length > 0 ? { expert_usage: usage } : {}) });
    log.lastValidation = { step, bpb };
    const routed = usage.map((u) => usageText(u, kindOf.get(u.path))).join("; ");
    log.progress.log(`step ${step}: val loss ${crossEntropy.toFixed(4)}, ${bpb.toFixed(4)} bits/byte${routed ? ` | ${routed}` : ""}`);
  };
}

/** `blocks.1.peer: 97.3% of 16,384 experts used, unevenness 0.12`; a PKM layer's rows are memories. */
export function usageText(u: UsageSummary, kind: string | undefined): string {
  const noun = kind === "pkm" ? "memories" : "experts";
  return `${visible(u.path)}: ${(100 * u.usage).toFixed(1)}% of ${u.numExperts.toLocaleString("en-US")} ${noun} used, unevenness ${u.unevenness.toFixed(2)}`;
}

/** Atomic checkpoints of the run; `last` is the newest good one (a resumed run starts with the one it resumed from). */
function checkpointer(out: string, ir: ModelArchitecture, run: Run): { save(step: number): Promise<void>; readonly last: { step: number; path: string } | null } {
  const state = { last: run.resumedFrom };
  const { trainer } = run;
  const { optimizer: settings, schedule, totalSteps } = trainer.config;
  return {
    async save(step) {
      // webgpu reads only asynchronously: fetch every tensor first, then the writer's reads hit the host copies.
      await readableOnHost([...trainer.model.variables.map((v) => v.variable), ...trainer.model.buffers().map((b) => b.tensor), ...trainer.optimizer.state().map((s) => s.tensor)]);
      const folder = saveCheckpoint(out, {
        weights: modelWeights(trainer.model),
        optimizer: [...optimizerMoments(trainer.optimizer), ...tableStates(trainer.model)],
        state: {
          specHash: ir.hash,
          model: ir.name,
          step,
          tokensSeen: run.tokensSeen,
          data: run.sampler.state(),
          optimizerStep: trainer.optimizer.step,
          schedule: { lr: settings.lr, totalSteps, warmupSteps: warmupSteps(schedule, totalSteps), kind: schedule.kind },
        },
      });
      state.last = { step, path: folder };
    },
    get last() {
      return state.last;
    },
  };
}

/** One optimizer step; a divergence says what is true of this run's checkpoints. */
async function stepOrExplain(trainer: Trainer, last: { step: number; path: string } | null, checkpointEvery: number) {
  try {
    return asyncReads() ? await trainer.stepAsync() : trainer.step();
  } catch (error) {
    if (!(error instanceof TrainingDivergedError)) throw error;
    const kept =
      last !== null
        ? `The last good checkpoint, step ${last.step} (${last.path}), was kept: --resume continues from it.`
        : `No checkpoint was written yet (the first is due at step ${checkpointEvery}); the run starts over.`;
    throw new TrainingDivergedError(error.step, error.layerPath, `${error.message} ${kept}`);
  }
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
  // webgpu reads only asynchronously: its probe ran before the first step (measureDevicePeak).
  if (asyncReads()) return peak ?? Number.NaN;
  // A quick probe every run (3 timed 512² matmuls, ~20 ms) that can only raise the cached peak.
  if (peak === null) peak = cachedPeak(tf as unknown as MatmulTf, { refresh: true, trials: 3, variant: matmulVariant(tf.getBackend()) });
  return peak;
}

/** webgpu: the matmul-peak probe with awaited reads, once, before the first step (its reads are no step's). */
async function measureDevicePeak(): Promise<void> {
  const adapter = webGpuAdapter();
  if (peak === null) peak = await cachedPeakAsync(tf as unknown as MatmulTfAsync, { refresh: true, variant: adapter ? `${adapter.vendor}-${adapter.architecture}` : undefined });
}
