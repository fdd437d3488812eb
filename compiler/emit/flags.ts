/**
 * The emitted trainer's flags with this model's defaults, for the README's
 * flag table (readme-file.ts). The flags themselves are listed once, in
 * ir/trainer-flags.ts, which the runtime's trainMain parses and prints as its
 * help; a model without a train section gets the defaults of ir/defaults.ts.
 */
import { defaultTrain } from "../../ir/defaults.js";
import { safeRunName, trainerFlags as flagsWithDefaults, type TrainerFlag } from "../../ir/trainer-flags.js";
import type { EmitContext } from "./context.js";

export { safeRunName, type TrainerFlag };

export function trainerFlags(ctx: EmitContext): TrainerFlag[] {
  const model = ctx.model;
  const train = model.train ?? defaultTrain(model.context);
  const steps = ctx.cost.train?.steps ?? (train.horizon.kind === "steps" ? train.horizon.steps : null);
  return flagsWithDefaults({
    data: ctx.dataPath,
    dataRelativeTo: "path relative to this trainer's folder",
    steps: steps === null ? null : Number(steps),
    context: train.context,
    batch: train.batch,
    seed: train.seed,
    evalEvery: train.evalEvery,
    logEvery: train.logEvery,
    checkpointEvery: train.checkpointEvery,
    modelName: model.name,
  });
}
