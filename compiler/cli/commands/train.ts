/**
 * `peerc train FILE [--model NAME] [-- trainer flags]`: compile into the
 * trainer cache (reused when it already holds exactly this output), then run
 * the trainer as a child process with inherited stdio; its exit code is ours.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { runForeground } from "../../child-process.js";
import type { CliIO } from "../io.js";
import { EXIT_SPEC_ERRORS, EXIT_USAGE, UsageError } from "../../../diagnostics/errors.js";
import { trainTorch } from "../../../targets/torch/train-command.js";
import { checkSpecs, printDiagnostics, usableAfterErrors } from "../load.js";
import { emitModelTrainer, selectModel } from "../../emit/index.js";
import { cacheDir, cacheIsCurrent, filesDigest, STAMP_FILE } from "../../emit/cache.js";
import { PEERC_VERSION } from "../../../ir/version.js";
import { displayPath, reportRuntimeLink, typecheckOrReport, writeTrainer } from "./compile.js";

export interface TrainOptions {
  model?: string;
  trainerArgs: string[];
  /** "ts" (default) or "torch" (targets/torch/train-command.ts). */
  target?: string;
}

/** Runs `node script args…`; resolves to its exit code. Tests pass their own. */
export type TrainerRunner = (script: string, args: readonly string[], cwd: string) => Promise<number>;

export async function trainCommand(io: CliIO, file: string, options: TrainOptions, run: TrainerRunner = runNode): Promise<number> {
  const result = checkSpecs(io, [file]);
  if (printDiagnostics(io, result, result.diagnostics, "human") && !usableAfterErrors(io, result, options.model ?? null)) return EXIT_SPEC_ERRORS;
  const { model, note } = selectModel(result.program.models, file, options.model);
  if (note) io.stderr(`note: ${note}\n`);

  const specFile = path.resolve(io.cwd, file);
  if (options.target !== undefined && !["ts", "tfjs", "torch"].includes(options.target)) throw new UsageError(`--target must be ts (alias tfjs) or torch, got ${JSON.stringify(options.target)}`);
  if (options.target === "torch") return trainTorch(io, model, specFile, options.trainerArgs);
  const dir = cacheDir(specFile, model, PEERC_VERSION, io.env);
  const files = emitModelTrainer(model, { specFile, outDir: dir });
  const shown = displayPath(io.cwd, dir);
  if (cacheIsCurrent(dir, files)) {
    io.stderr(`using cached trainer ${shown}\n`);
  } else {
    if (!typecheckOrReport(io, dir, files)) return EXIT_USAGE;
    writeTrainer(dir, files);
    // The stamp goes last: a cache entry interrupted mid-write is never taken as current.
    fs.writeFileSync(path.join(dir, STAMP_FILE), filesDigest(files) + "\n");
    io.stderr(`compiled ${model.name} into ${shown}\n`);
  }
  reportRuntimeLink(io, dir, shown);
  return run(path.join(dir, "train.js"), options.trainerArgs, io.cwd);
}

function runNode(script: string, args: readonly string[], cwd: string): Promise<number> {
  return runForeground(process.execPath, [script, ...args], cwd);
}
