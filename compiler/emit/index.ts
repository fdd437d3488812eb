/**
 * compiler/emit: from one checked model to the files of its trainer.
 *
 *   model.ts   the model's forward as straight-line tfjs code (weights made by the runtime)
 *   train.ts   the entry point: flags with the spec's defaults, runtime wiring
 *   kernels.ts the WGSL kernels of each PEER/PKM layer (none for a dense model)
 *   model.js, train.js   the same, types erased, so `node DIR/train.js` needs no build
 *   report.json, README.md   the static cost report, how to run
 *
 * Emission is pure (IR + cost → bytes); writing, type-checking and linking
 * the runtime are separate steps the commands compose.
 */
import type { IRModel } from "../../ir/types.js";
import { costModel } from "../cost/index.js";
import { emitContext, type ContextOptions, type EmitContext } from "./context.js";
import { emitModelFile } from "./model-file.js";
import { emitKernelsFile } from "./kernels-file.js";
import { emitTrainFile } from "./train-file.js";
import { emitReadme } from "./readme-file.js";
import { emitReportJson } from "./report-file.js";
import { transpile } from "./typecheck.js";
import { formatTypeScript } from "./format.js";

export type { EmitContext } from "./context.js";
export { typecheckEmitted, typecheckFolders, typecheckUnavailable, formatProblems, type TypecheckProblem } from "./typecheck.js";
export { writeOutputs, UnsafeOutputError } from "./write.js";
export { ensureEsmScope, ensureRuntimeResolves } from "./runtime-link.js";
export { selectModel } from "./select.js";

/** File names of a trainer folder, in the order they are written. */
export const TRAINER_FILES = ["model.ts", "train.ts", "model.js", "train.js", "report.json", "README.md"] as const;
/** Written too, after model.js, for a model with PEER/PKM layers: their WGSL kernels. */
export const KERNEL_FILES = ["kernels.ts", "kernels.js"] as const;

/** All files of the trainer for `ctx`, name → text, in TRAINER_FILES order (KERNEL_FILES after model.js). */
export function emitTrainer(ctx: EmitContext): Map<string, string> {
  const modelTs = formatTypeScript(emitModelFile(ctx));
  const trainTs = formatTypeScript(emitTrainFile(ctx));
  const kernels = emitKernelsFile(ctx);
  const kernelsTs = kernels === null ? null : formatTypeScript(kernels);
  return new Map<string, string>([
    ["model.ts", modelTs],
    ["train.ts", trainTs],
    ["model.js", transpile("model.ts", modelTs)],
    ...(kernelsTs === null ? [] : ([["kernels.ts", kernelsTs], ["kernels.js", transpile("kernels.ts", kernelsTs)]] as const)),
    ["train.js", transpile("train.ts", trainTs)],
    ["report.json", emitReportJson(ctx)],
    ["README.md", emitReadme(ctx)],
  ]);
}

/** Cost the model and emit its trainer for `options.outDir`. */
export function emitModelTrainer(model: IRModel, options: ContextOptions): Map<string, string> {
  return emitTrainer(emitContext(model, costModel(model), options));
}
