/** `peerc report FILE…`: the static cost report, sweeps, and (with --budget) the CI gate. */
import type { CliIO } from "../io.js";
import { wantsColor } from "../io.js";
import { EXIT_OK, EXIT_SPEC_ERRORS } from "../../../diagnostics/errors.js";
import { checkSpecs, costsOrDiagnostics, printDiagnostics, usableAfterErrors } from "../load.js";
import { renderReport } from "../../report/index.js";
import { renderSweep } from "../../report/sweep.js";
import { evaluateBudgets } from "../../budget/evaluate.js";
import type { Diagnostic } from "../../../diagnostics/diagnostic.js";

export interface ReportOptions {
  format: "table" | "json" | "md" | "github";
  depth: number;
  budget: boolean;
  target?: "h100" | "a100" | "cpu";
  cpuPeakFlops?: number;
  cpuBandwidth?: number;
  flopsBudget?: number;
}

export async function reportCommand(io: CliIO, files: string[], options: ReportOptions): Promise<number> {
  const result = checkSpecs(io, files);
  const diagnosticFormat = options.format === "github" ? "github" : "human";
  // A model with errors is left out; the others are still reported (exit 1 all the same).
  const specErrors = printDiagnostics(io, result, result.diagnostics, diagnosticFormat);
  if (specErrors && !usableAfterErrors(io, result)) return EXIT_SPEC_ERRORS;
  const done = (code: number) => (specErrors ? EXIT_SPEC_ERRORS : code);

  const models = result.program.models;
  const costs = costsOrDiagnostics(io, result, diagnosticFormat, {
    cpuPeakFlops: options.cpuPeakFlops,
    cpuBandwidth: options.cpuBandwidth,
  });
  if (costs === null) return EXIT_SPEC_ERRORS;
  const color = wantsColor(io, "stdout");
  io.stdout(ensureNewline(renderReport(costs, { format: options.format, depth: options.depth, color, target: options.target, flopsBudget: options.flopsBudget })));

  const swept = costs.filter((c) => c.model.sweep !== null);
  if (swept.length > 0 && options.format !== "json") {
    io.stdout("\n" + ensureNewline(renderSweep(swept, { format: options.format === "md" ? "md" : "table", flopsBudget: options.flopsBudget })));
  }

  if (!options.budget) return done(EXIT_OK);
  const broken: Diagnostic[] = [];
  models.forEach((model, i) => broken.push(...evaluateBudgets(model, costs[i]!)));
  if (broken.length === 0) {
    if (options.format !== "json") io.stderr(`budgets: all ${countBudgets(models)} limits hold\n`);
    return done(EXIT_OK);
  }
  printDiagnostics(io, result, broken, options.format === "github" ? "github" : "human");
  return EXIT_SPEC_ERRORS;
}

function countBudgets(models: readonly { budgets: readonly unknown[] }[]): number {
  return models.reduce((n, m) => n + m.budgets.length, 0);
}

function ensureNewline(text: string): string {
  return text.endsWith("\n") ? text : text + "\n";
}
