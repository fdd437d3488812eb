/**
 * Which model of a file `compile` and `train` work on. `--model` matches a
 * model's full name, or the declared name of a sweep (then the first variant
 * is taken and the others are listed, so the choice is never silent).
 */
import type { IRModel } from "../../ir/types.js";
import { UsageError } from "../../diagnostics/errors.js";

export interface Selection {
  readonly model: IRModel;
  /** A note for stderr when the choice needs one (a sweep's first variant). */
  readonly note: string | null;
}

export function selectModel(models: readonly IRModel[], file: string, requested: string | undefined): Selection {
  if (models.length === 0) throw new UsageError(`${file} declares no model`);
  const names = models.map((m) => m.name);
  if (requested === undefined) {
    const bases = new Set(models.map((m) => m.baseName));
    if (bases.size > 1) {
      throw new UsageError(`${file} declares ${bases.size} models; pick one with --model`, `models: ${[...bases].join(", ")}`);
    }
    return sweepChoice(models, models[0]!.baseName);
  }
  const exact = models.find((m) => m.name === requested);
  if (exact) return { model: exact, note: null };
  if (models.some((m) => m.baseName === requested)) return sweepChoice(models, requested);
  throw new UsageError(`${file} has no model named ${JSON.stringify(requested)}`, `models: ${names.join(", ")}`);
}

function sweepChoice(models: readonly IRModel[], base: string): Selection {
  const variants = models.filter((m) => m.baseName === base);
  const first = variants[0]!;
  if (variants.length === 1) return { model: first, note: null };
  return {
    model: first,
    note:
      `${base} is a sweep of ${variants.length} variants; using the first, ${first.name}. ` +
      `Pick another with --model: ${variants.map((v) => JSON.stringify(v.name)).join(", ")}`,
  };
}
