/**
 * `--resume`: the newest checkpoint in the run folder that verifies (corrupt
 * newer ones are passed over, said so, and kept as `step-N.corrupt`), restored
 * into the model; and the run's horizon, which stays the interrupted run's
 * unless the command line gives one, said at start when it differs.
 */
import { UsageError } from "../../diagnostics/errors.js";
import { CheckpointError, openNewestGoodCheckpoint, type LoadedCheckpoint, type SafetensorsFile } from "../checkpoint/index.js";
import type { LanguageModel } from "../model/model.js";
import type { AdamW } from "./adamw.js";
import { restoreModel, restoreOptimizer } from "./state.js";

/** A checkpoint whose weights are already in the model; the optimizer is restored once the trainer exists. */
export interface ResumePoint {
  readonly checkpoint: LoadedCheckpoint;
  readonly step: number;
  /** The interrupted run's planned steps (state.json's schedule.totalSteps), null when it did not record them. */
  readonly totalSteps: number | null;
  readonly warmupSteps: number | null;
}

function readF32(checkpoint: LoadedCheckpoint, file: SafetensorsFile, name: string): Float32Array {
  const data = file.read(name);
  if (!(data instanceof Float32Array)) throw new CheckpointError(checkpoint.path, `tensor ${name} is not F32`);
  return data;
}

function checkedReader(checkpoint: LoadedCheckpoint, file: SafetensorsFile) {
  return (name: string, shape: readonly number[]): Float32Array => {
    const info = file.info(name);
    if (info.shape.join(",") !== shape.join(",")) throw new CheckpointError(checkpoint.path, `tensor ${name} has shape [${info.shape}], the model needs [${shape}]`);
    return readF32(checkpoint, file, name);
  };
}

/**
 * Opens the newest good checkpoint of `dir` and restores the model's weights
 * and tables from it (a checkpoint whose tensors do not restore counts as bad
 * and the next older one is tried). `say` gets one line per checkpoint passed over.
 */
export function resumeModel(dir: string, specHash: string, model: LanguageModel, say: (line: string) => void): ResumePoint {
  const { checkpoint, skipped } = openNewestGoodCheckpoint(dir, specHash, (c) =>
    restoreModel(model, checkedReader(c, c.weights), (name) => readF32(c, c.optimizer, name)),
  );
  for (const s of skipped) {
    say(`warning: skipping checkpoint ${s.path}: ${s.reason}; kept as ${s.keptAs} for inspection`);
  }
  if (skipped.length > 0) say(`resuming from the newest checkpoint that verifies, ${checkpoint.path}`);
  const schedule = checkpoint.state.schedule ?? {};
  const number = (x: unknown): number | null => (typeof x === "number" && Number.isSafeInteger(x) && x >= 0 ? x : null);
  return { checkpoint, step: checkpoint.state.step, totalSteps: number(schedule.totalSteps), warmupSteps: number(schedule.warmupSteps) };
}

export function restoreOptimizerFrom(point: ResumePoint, optimizer: AdamW): void {
  const c = point.checkpoint;
  restoreOptimizer(optimizer, checkedReader(c, c.optimizer), c.state.optimizerStep);
}

/** The horizon of a resumed run, and a note when it is not the interrupted run's. */
export function resumedHorizon(
  point: ResumePoint,
  explicit: { steps: number; flag: string } | null,
  /** The spec's horizon in steps; null when it cannot be known here (a FLOP budget without FLOPs per token). */
  specSteps: number | null,
  warmupOf: (totalSteps: number) => number,
): { totalSteps: number; note: string | null } {
  const previous = point.totalSteps;
  if (explicit === null) {
    // Keep the interrupted run's horizon: its learning rate schedule continues unchanged.
    const totalSteps = previous ?? specSteps;
    if (totalSteps === null) throw new UsageError("the checkpoint does not record its horizon and the spec's is a FLOP budget this trainer cannot convert: pass --steps or --tokens");
    const note =
      previous !== null && specSteps !== null && previous !== specSteps
        ? `note: continuing the interrupted run's schedule of ${plural(previous, "step")} (the spec's horizon is ${plural(specSteps, "step")}; --steps N changes it)`
        : null;
    return { totalSteps, note };
  }
  if (explicit.steps <= point.step) {
    throw new UsageError(`${explicit.flag} asks for ${plural(explicit.steps, "step")}, but the checkpoint is already at step ${point.step}: give a horizon past it`);
  }
  if (previous === null || previous === explicit.steps) return { totalSteps: explicit.steps, note: null };
  const warmup = warmupOf(explicit.steps);
  const warmupText = point.warmupSteps !== null && point.warmupSteps !== warmup ? `, warmup ${point.warmupSteps} → ${warmup}` : "";
  return {
    totalSteps: explicit.steps,
    note:
      `note: ${explicit.flag} changes the learning-rate schedule: the interrupted run planned ${plural(previous, "step")}, ` +
      `this one ${plural(explicit.steps, "step")}${warmupText}; from step ${point.step + 1} on the rate follows the new horizon`,
  };
}

export function plural(n: number, word: string): string {
  return `${n.toLocaleString("en-US")} ${word}${n === 1 ? "" : "s"}`;
}
