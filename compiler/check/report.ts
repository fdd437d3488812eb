/** The diagnostics sink shared by every checking step. */
import { diagnostic, type Diagnostic, type DiagnosticInit } from "../../diagnostics/diagnostic.js";
import type { CheckCode } from "../../diagnostics/codes/check.js";

export interface CheckDiagnostic extends Omit<DiagnosticInit, "code"> {
  code: CheckCode;
}

export class Reporter {
  readonly diagnostics: Diagnostic[] = [];
  /** Errors reported so far, counting repeats (a model is clean when this does not move while checking it). */
  errorCount = 0;

  report(init: CheckDiagnostic): void {
    const d = diagnostic(init);
    if (d.severity === "error") this.errorCount++;
    this.diagnostics.push(d);
  }

  /** Diagnostics without repeats: a loop body or a shared `let` reports once. */
  unique(): Diagnostic[] {
    const seen = new Set<string>();
    const out: Diagnostic[] = [];
    for (const d of this.diagnostics) {
      const key = `${d.code}|${d.span?.file}|${d.span?.offset}|${d.span?.length}|${d.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(d);
    }
    return out;
  }
}
