/** `peerc compile FILE [--model NAME] -o DIR`: the specialised trainer of one model, type-checked, written into DIR. */
import * as path from "node:path";
import type { CliIO } from "../io.js";
import { EXIT_OK, EXIT_SPEC_ERRORS, EXIT_USAGE, UsageError } from "../../../diagnostics/errors.js";
import { checkSpecs, printDiagnostics, usableAfterErrors } from "../load.js";
import {
  emitModelTrainer,
  ensureEsmScope,
  ensureRuntimeResolves,
  formatProblems,
  selectModel,
  typecheckEmitted,
  typecheckUnavailable,
  UnsafeOutputError,
  writeOutputs,
} from "../../emit/index.js";
import { emitTorchModelTrainer } from "../../../targets/torch/index.js";

export interface CompileOptions {
  model?: string;
  outDir: string;
  typecheck: boolean;
  /** "ts" (default): the TypeScript trainer; "torch": the PyTorch trainer (targets/torch). */
  target?: string;
}

export async function compileCommand(io: CliIO, file: string, options: CompileOptions): Promise<number> {
  const result = checkSpecs(io, [file]);
  if (printDiagnostics(io, result, result.diagnostics, "human") && !usableAfterErrors(io, result, options.model ?? null)) return EXIT_SPEC_ERRORS;
  const { model, note } = selectModel(result.program.models, file, options.model);
  if (note) io.stderr(`note: ${note}\n`);

  const outDir = path.resolve(io.cwd, options.outDir);
  const target = options.target ?? "ts";
  if (target !== "ts" && target !== "tfjs" && target !== "torch") throw new UsageError(`--target must be ts (alias tfjs) or torch, got ${JSON.stringify(target)}`);
  if (target === "torch") {
    const torchFiles = emitTorchModelTrainer(model, { specFile: path.resolve(io.cwd, file), outDir });
    writeTrainer(outDir, torchFiles);
    const shownDir = displayPath(io.cwd, outDir);
    io.stderr(`wrote ${[...torchFiles.keys()].map((n) => path.join(shownDir, n)).join(", ")}\n`);
    io.stderr(`run: python3 ${path.join(shownDir, "train.py")} --help\n`);
    return EXIT_OK;
  }
  const files = emitModelTrainer(model, { specFile: path.resolve(io.cwd, file), outDir });
  if (options.typecheck && !typecheckOrReport(io, outDir, files)) return EXIT_USAGE;

  writeTrainer(outDir, files);
  const shown = displayPath(io.cwd, outDir);
  reportRuntimeLink(io, outDir, shown);
  io.stderr(`wrote ${[...files.keys()].map((n) => path.join(shown, n)).join(", ")}\n`);
  io.stderr(`run: node ${path.join(shown, "train.js")} --help\n`);
  return EXIT_OK;
}

/** Writes the files; a folder peerc must not write into is the user's to fix (exit 2), not a crash. */
export function writeTrainer(outDir: string, files: ReadonlyMap<string, string>): void {
  try {
    writeOutputs(outDir, [...files].map(([name, text]) => ({ name, text })));
  } catch (error) {
    if (error instanceof UnsafeOutputError) throw new UsageError(error.message);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOTDIR" || code === "EACCES" || code === "EROFS") {
      throw new UsageError(`cannot write the trainer into ${outDir}: ${(error as Error).message}`);
    }
    throw error;
  }
}

/** Emitted code that does not type-check is a peerc bug: say so, write nothing. */
export function typecheckOrReport(io: CliIO, outDir: string, files: ReadonlyMap<string, string>): boolean {
  const unavailable = typecheckUnavailable();
  if (unavailable !== null) {
    io.stderr(`note: skipped type-checking the emitted code: ${unavailable}\n`);
    return true;
  }
  const problems = typecheckEmitted(outDir, files);
  if (problems.length === 0) return true;
  io.stderr("peerc: internal error: the emitted trainer does not type-check (nothing was written)\n");
  io.stderr(formatProblems(problems.slice(0, 20)) + "\n");
  io.stderr("  this is a bug in peerc, not in your spec; please report it with the spec and this command line\n");
  return false;
}

export function reportRuntimeLink(io: CliIO, outDir: string, shown: string): void {
  if (ensureEsmScope(outDir)) io.stderr(`note: wrote ${path.join(shown, "package.json")} ({"type": "module"}) so node runs the trainer as an ES module\n`);
  const link = ensureRuntimeResolves(outDir);
  if (link.kind === "linked") {
    io.stderr(`note: ${path.join(shown, "node_modules", "peerc")} links to this peerc so the trainer can import peerc/runtime\n`);
  }
  if (link.linkedTfjs) {
    io.stderr(`note: ${path.join(shown, "node_modules", "@tensorflow", "tfjs")} links to peerc's tfjs so the trainer can import it\n`);
  } else if (link.kind === "other-peerc") {
    io.stderr(`warning: peerc/runtime resolves to another peerc at ${link.packageRoot} from ${shown}; the trainer will use that one\n`);
  }
}

/** A folder as the user would write it: relative below the working folder, absolute elsewhere. */
export function displayPath(cwd: string, dir: string): string {
  const rel = path.relative(cwd, dir);
  if (rel === "") return ".";
  return rel.startsWith("..") || path.isAbsolute(rel) ? dir : rel;
}
