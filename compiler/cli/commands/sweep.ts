/**
 * `peerc sweep FILE --flops-budget X [-o DIR] [--jobs N] [--target tfjs]`: the
 * isoFLOP experiment as a command. Every model of FILE (every variant of a
 * model with value lists) is compiled into the trainer cache like `peerc
 * train` does, then trained for the steps the budget buys it
 * (compiler/sweep/plan.ts) in a child process; results, plots and a markdown
 * table go into DIR (compiler/sweep/run.ts). Running the same command again
 * resumes: recorded variants are never rerun.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import type { CliIO } from "../io.js";
import { EXIT_OK, EXIT_SPEC_ERRORS, EXIT_USAGE, UsageError } from "../../../diagnostics/errors.js";
import { checkSpecs, costsOrDiagnostics, printDiagnostics } from "../load.js";
import { emitModelTrainer } from "../../emit/index.js";
import { cacheDir, cacheIsCurrent, filesDigest, STAMP_FILE } from "../../emit/cache.js";
import { PEERC_VERSION } from "../../../ir/version.js";
import { displayPath, reportRuntimeLink, typecheckOrReport, writeTrainer } from "./compile.js";
import { planSweep, type PlannedVariant } from "../../sweep/plan.js";
import { runSweep, EXPERTS_PLOT, PARAMS_PLOT } from "../../sweep/run.js";

export interface SweepCommandOptions {
  flopsBudget: number;
  outDir: string;
  jobs: number;
  target: string;
  seed: number;
  data?: string;
  valData?: string;
  evalBatches?: number;
  backend?: string;
}

/** Environment variable for tests: SIGKILL the sweep right after it records this many variants (a kill between variants). */
export const CRASH_AFTER_ENV = "PEERC_SWEEP_CRASH_AFTER";

export async function sweepCommand(io: CliIO, file: string, options: SweepCommandOptions): Promise<number> {
  if (options.target === "torch") {
    throw new UsageError(
      "peerc sweep --target torch is not available yet: sweeps run the TensorFlow.js trainer (--target tfjs) until the PyTorch target's runs report results a sweep can collect (docs/experiments.md)",
    );
  }
  if (options.target !== "tfjs" && options.target !== "ts") throw new UsageError(`--target must be tfjs (or torch, later), got ${JSON.stringify(options.target)}`);
  const result = checkSpecs(io, [file]);
  if (printDiagnostics(io, result, result.diagnostics, "human")) return EXIT_SPEC_ERRORS;
  const costs = costsOrDiagnostics(io, result, "human");
  if (costs === null) return EXIT_SPEC_ERRORS;
  const variants = planSweep(costs, options.flopsBudget);

  const specFile = path.resolve(io.cwd, file);
  const outDir = path.resolve(io.cwd, options.outDir);
  if (fs.existsSync(outDir) && !fs.statSync(outDir).isDirectory()) throw new UsageError(`-o ${options.outDir}: not a folder`);
  const resolveData = (f: string | undefined): string | null => {
    if (f === undefined) return null;
    const abs = path.resolve(io.cwd, f);
    if (!fs.existsSync(abs)) throw new UsageError(`data file ${f} does not exist`);
    return abs;
  };
  const settings = {
    spec: file,
    flopsBudget: options.flopsBudget,
    seed: options.seed,
    data: resolveData(options.data),
    valData: resolveData(options.valData),
    evalBatches: options.evalBatches ?? null,
    backend: options.backend ?? null,
    jobs: options.jobs,
  };
  const crashAfter = io.env[CRASH_AFTER_ENV] ? Number(io.env[CRASH_AFTER_ENV]) : null;
  io.stderr(`sweep of ${variants.length} variant${variants.length === 1 ? "" : "s"} at ${options.flopsBudget.toPrecision(3)} training FLOPs each into ${displayPath(io.cwd, outDir)}\n`);
  const { failed } = await runSweep(outDir, variants, settings, {
    prepare: async (v) => prepareTrainer(io, v, specFile),
    runTrainer: (script, args, logFile) => runLogged(script, args, logFile, io.cwd),
    say: (line) => io.stderr(line + "\n"),
    recorded: (count) => {
      if (crashAfter !== null && count >= crashAfter) process.kill(process.pid, "SIGKILL");
    },
  });
  const shown = displayPath(io.cwd, outDir);
  const plots = [PARAMS_PLOT, ...(fs.existsSync(path.join(outDir, EXPERTS_PLOT)) ? [EXPERTS_PLOT] : [])].map((p) => path.join(shown, p));
  io.stderr(`results: ${path.join(shown, "results.json")}, ${path.join(shown, "results.md")}; plots: ${plots.join(", ")}\n`);
  if (failed.length > 0) {
    io.stderr(`peerc: ${failed.length} variant${failed.length === 1 ? "" : "s"} failed: ${failed.join(", ")}; run the same command again to retry them\n`);
    return EXIT_SPEC_ERRORS;
  }
  return EXIT_OK;
}

/** The variant's trainer in the cache (compiled and type-checked unless the cache already holds exactly it), like `peerc train`. */
async function prepareTrainer(io: CliIO, v: PlannedVariant, specFile: string): Promise<string> {
  const dir = cacheDir(specFile, v.model, PEERC_VERSION, io.env);
  const files = emitModelTrainer(v.model, { specFile, outDir: dir });
  const shown = displayPath(io.cwd, dir);
  if (!cacheIsCurrent(dir, files)) {
    if (!typecheckOrReport(io, dir, files)) throw new UsageError(`the trainer of ${v.name} does not type-check (a peerc bug, see above)`);
    writeTrainer(dir, files);
    fs.writeFileSync(path.join(dir, STAMP_FILE), filesDigest(files) + "\n");
    io.stderr(`compiled ${v.name} into ${shown}\n`);
  }
  const quiet: CliIO = { ...io, stderr: () => undefined };
  reportRuntimeLink(quiet, dir, shown);
  return path.join(dir, "train.js");
}

function runLogged(script: string, args: readonly string[], logFile: string, cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const fd = fs.openSync(logFile, "w");
    const child = spawn(process.execPath, [script, ...args], { cwd, stdio: ["ignore", fd, fd] });
    child.on("error", (error) => {
      fs.closeSync(fd);
      reject(error);
    });
    child.on("exit", (code, signal) => {
      fs.closeSync(fd);
      resolve(code ?? (signal ? 128 : EXIT_USAGE));
    });
  });
}
