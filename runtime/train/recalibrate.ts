/**
 * `bn_recalibrate N` (docs/experts.md, "Query BatchNorm running statistics"):
 * right before an evaluation the query BatchNorm running statistics are
 * recomputed as the exact mean over N training batches, forward in train mode
 * with no gradient and no optimizer step. The batches come from their own
 * stream, seeded by the run's seed and the step, so the training batches are
 * the ones a run without recalibration draws, and a resumed run recalibrates
 * exactly as the uninterrupted one did (no state to checkpoint).
 */
import * as tf from "@tensorflow/tfjs";
import { BatchSampler } from "../data/batches.js";
import type { TokenSource } from "../data/source.js";
import type { Split } from "../data/split.js";
import { recomputeQueryStatistics } from "../experts/query-net.js";
import type { LanguageModel } from "../model/model.js";
import type { Batch as TrainBatch } from "../data/batches.js";

/** Whether any layer keeps query BatchNorm running statistics (else recalibrating would only cost time). */
export function hasQueryBatchNorm(model: LanguageModel): boolean {
  return model.buffers().some((b) => b.name.endsWith(".query.bn.running_mean"));
}

/** The recalibration stream's seed at `step`: one stream per evaluation, unrelated to the training stream (splitmix32 mixes it). */
export function recalibrationSeed(seed: number, step: number): number {
  return (Math.imul(seed ^ 0x2545f491, 0x9e3779b1) + Math.imul(step + 1, 0x6a09e667)) >>> 0;
}

/** `count` training-split batches of `rows` windows for the evaluation at `step`. */
export function recalibrationBatches(
  source: TokenSource,
  split: Split,
  o: { readonly context: number; readonly rows: number; readonly seed: number; readonly step: number; readonly count: number },
): TrainBatch[] {
  const sampler = new BatchSampler(source, split, o.context, o.rows, recalibrationSeed(o.seed, o.step));
  return Array.from({ length: o.count }, () => sampler.next());
}

/**
 * Replaces the running statistics by the mean of the batches' statistics (the
 * running variance by the mean of their unbiased variances). Weights, optimizer
 * and routing records are untouched. Returns the passes run (0 without query BatchNorm).
 */
export function recalibrateQueryStatistics(model: LanguageModel, batches: readonly TrainBatch[]): number {
  if (batches.length === 0 || !hasQueryBatchNorm(model)) return 0;
  recomputeQueryStatistics(batches.length, (i) => {
    const batch = batches[i]!;
    tf.tidy(() => {
      const ids = tf.tensor2d(batch.inputs, [batch.rows, batch.context], "int32");
      model.forward(ids, "train");
    });
  });
  return batches.length;
}
