/** Learning-rate schedules: linear warmup, then cosine / linear decay to min_lr·peak, or constant. */
import type { IRSchedule } from "../../ir/types.js";

export function warmupSteps(schedule: IRSchedule, totalSteps: number): number {
  const w = "steps" in schedule.warmup ? schedule.warmup.steps : Math.round(schedule.warmup.fraction * totalSteps);
  return Math.max(0, Math.min(w, totalSteps));
}

/**
 * Learning rate of optimizer step `step` (0-based: the first update uses step 0).
 * Warmup ramps (step+1)/warmup·peak, so the first update is not zero; the decay
 * reaches min_lr·peak at the last step (totalSteps − 1).
 */
export function learningRate(step: number, totalSteps: number, peak: number, schedule: IRSchedule): number {
  const warmup = warmupSteps(schedule, totalSteps);
  if (step < warmup) return (peak * (step + 1)) / warmup;
  if (schedule.kind === "constant") return peak;
  const minLr = schedule.minLr * peak;
  const decaySteps = totalSteps - warmup - 1;
  const progress = decaySteps <= 0 ? 1 : Math.min(1, (step - warmup) / decaySteps);
  if (schedule.kind === "linear") return peak - (peak - minLr) * progress;
  return minLr + (peak - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
