/**
 * Defaults of the `train` section, in one place: the checker fills omitted
 * settings from here, the runtime trains a model that has no `train` section
 * with `defaultTrain`, and the emitter prints these in a trainer's --help.
 * docs/language.md lists them for users.
 */
import type { IRData, IROptimizer, IRSchedule, IRTrain } from "./types.js";

/** Optimizer settings a spec may omit (`lr` is required in a spec; this one is for spec-less runs). */
export const DEFAULT_OPTIMIZER: IROptimizer = {
  kind: "adamw",
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  weightDecay: 0.1,
  clip: 1.0,
  expertLr: null,
  decayAll: false,
};

export const DEFAULT_SCHEDULE: IRSchedule = { kind: "cosine", warmup: { steps: 0 }, minLr: 0.1 };

export const DEFAULT_DATA: IRData = { tokenizer: "bytes", path: null, valFraction: 0.05, bpeVocab: null };

/** BPE vocabulary when `data bpe(…)` names none. */
export const DEFAULT_BPE_VOCAB = 4096;

export const DEFAULT_SEED = 1;
export const DEFAULT_EVAL_EVERY = 100;
export const DEFAULT_CHECKPOINT_EVERY = 500;
export const DEFAULT_LOG_EVERY = 10;
/**
 * `bn_recalibrate` when a spec omits it: the query BatchNorm running statistics
 * are recomputed from 4 training micro-batches before each evaluation
 * (docs/experts.md, "Query BatchNorm running statistics": eval-mode loss then
 * equals train-mode loss across a run; a 0.1 or 0.5 running average lags).
 */
export const DEFAULT_BN_RECALIBRATE = 4;

/** Batch and horizon of a run whose model has no `train` section (its context is the model's). */
export const DEFAULT_BATCH = 8;
export const DEFAULT_STEPS = 100;

/**
 * The train section of a model that has none: a short smoke run on the
 * built-in corpus at the model's own context (docs/runtime.md lists these;
 * the trainer prints them at start).
 */
export function defaultTrain(modelContext: number): Omit<IRTrain, "span"> {
  return {
    batch: DEFAULT_BATCH,
    microBatch: DEFAULT_BATCH,
    context: modelContext,
    horizon: { kind: "steps", steps: DEFAULT_STEPS },
    optimizer: DEFAULT_OPTIMIZER,
    schedule: DEFAULT_SCHEDULE,
    data: DEFAULT_DATA,
    seed: DEFAULT_SEED,
    evalEvery: DEFAULT_EVAL_EVERY,
    checkpointEvery: DEFAULT_CHECKPOINT_EVERY,
    logEvery: DEFAULT_LOG_EVERY,
  };
}
