/** Shared by every command that reads specs: check them and print what is wrong. */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkFiles, type CheckResult, type FileHost } from "../check/index.js";
import { renderDiagnostics } from "../../diagnostics/render.js";
import { hasErrors, type Diagnostic } from "../../diagnostics/diagnostic.js";
import type { CliIO } from "./io.js";
import { wantsColor } from "./io.js";
import { UsageError } from "../../diagnostics/errors.js";
import { fsHost } from "./spec-host.js";
import { costModel, type ModelCost } from "../cost/index.js";
import { CostModelError } from "../cost/layer.js";

export type DiagnosticFormat = "human" | "json" | "github";

/** Fails with a usage error (exit 2) when a named file does not exist: that is not a spec problem. */
export function requireFiles(io: CliIO, files: readonly string[]): void {
  for (const file of files) {
    const full = path.resolve(io.cwd, file);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(full);
    } catch {
      throw new UsageError(`no such file: ${file}`);
    }
    if (stat.isDirectory()) throw new UsageError(`${file} is a folder; name the .peer files in it (e.g. ${path.join(file, "*.peer")})`);
  }
}

export function checkSpecs(io: CliIO, files: readonly string[], host?: FileHost): CheckResult {
  if (!host) requireFiles(io, files);
  return checkFiles([...files], host ?? fsHost(io.cwd));
}

/** Prints diagnostics to stderr in the human format (or stdout for machine formats); returns whether any is an error. */
export function printDiagnostics(
  io: CliIO,
  result: CheckResult,
  diagnostics: readonly Diagnostic[],
  format: DiagnosticFormat,
  maxErrors = 50,
): boolean {
  if (diagnostics.length === 0) return false;
  const stream = format === "human" ? "stderr" : "stdout";
  const text = renderDiagnostics([...diagnostics], result.sources, {
    format,
    color: wantsColor(io, stream),
    maxErrors,
  });
  if (text.length > 0) (stream === "stderr" ? io.stderr : io.stdout)(text.endsWith("\n") ? text : text + "\n");
  return hasErrors(diagnostics);
}

/**
 * After errors, what a command may still work on (docs/diagnostics.md: a model
 * with an error is left out, the others are usable). `report` goes on when any
 * model checked clean; `compile`/`train` go on only for a `--model` that
 * checked clean (without `--model` the choice would silently skip the broken
 * one). The errors have been printed already; this prints one note saying
 * what was left out, and the command still exits 1.
 */
export function usableAfterErrors(io: CliIO, result: CheckResult, requested?: string | null): boolean {
  const models = result.program.models;
  if (models.length === 0) return false;
  if (requested === null) return false;
  if (requested !== undefined) {
    if (!models.some((m) => m.name === requested || m.baseName === requested)) return false;
    if (result.modelsWithErrors.includes(requested)) return false;
  }
  const left = result.modelsWithErrors.filter((n) => n !== requested);
  const what = left.length ? `model${left.length === 1 ? "" : "s"} ${left.map((n) => `\`${n}\``).join(", ")} (errors above)` : "nothing but the errors above";
  io.stderr(`note: going on with the models that checked clean; left out: ${what}\n`);
  return true;
}

/**
 * Costs of every checked model. A layer kind without a cost formula is a
 * compile error at that layer (E0690), never a silent zero: it is printed
 * like any other diagnostic and the caller exits 1.
 */
export function costsOrDiagnostics(
  io: CliIO,
  result: CheckResult,
  format: DiagnosticFormat,
  options?: { cpuPeakFlops?: number; cpuBandwidth?: number },
): ModelCost[] | null {
  try {
    return result.program.models.map((model) => costModel(model, options));
  } catch (error) {
    if (error instanceof CostModelError) {
      printDiagnostics(io, result, [error.diagnostic], format);
      return null;
    }
    throw error;
  }
}
