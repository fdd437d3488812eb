/**
 * The one diagnostic type of peerc, shared by every stage (parser, checker,
 * cost model, budgets, CLI). Modelled on rustc's: a stable code, a primary
 * span, labelled secondary spans, notes and a concrete `help` suggestion.
 */
import type { Span } from "./source.js";

export type Severity = "error" | "warning" | "note";

export interface Label {
  readonly span: Span;
  readonly message: string;
}

export interface Diagnostic {
  /** Stable code from a stage's catalog, e.g. "E0301". Codes never change meaning. */
  readonly code: string;
  readonly severity: Severity;
  /** One sentence, lower-case start, no trailing period. */
  readonly message: string;
  /** Where the problem is. Absent only for problems with no place in a spec (e.g. a CLI flag). */
  readonly span?: Span;
  /** Short text printed under the caret of the primary span. */
  readonly label?: string;
  /** Other places that explain the problem ("first defined here"). */
  readonly labels: readonly Label[];
  readonly notes: readonly string[];
  /** A concrete way out: "use 1024^2 = 1,048,576". */
  readonly help?: string;
}

export interface DiagnosticInit {
  code: string;
  severity?: Severity;
  message: string;
  span?: Span;
  label?: string;
  labels?: Label[];
  notes?: string[];
  help?: string;
}

export function diagnostic(init: DiagnosticInit): Diagnostic {
  return {
    code: init.code,
    severity: init.severity ?? (init.code.startsWith("W") ? "warning" : "error"),
    message: init.message,
    span: init.span,
    label: init.label,
    labels: init.labels ?? [],
    notes: init.notes ?? [],
    help: init.help,
  };
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}

/** Stable order: by file, then position, then code. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort((a, b) => {
    const fa = a.span?.file ?? "";
    const fb = b.span?.file ?? "";
    if (fa !== fb) return fa < fb ? -1 : 1;
    const oa = a.span?.offset ?? -1;
    const ob = b.span?.offset ?? -1;
    if (oa !== ob) return oa - ob;
    return a.code < b.code ? -1 : a.code > b.code ? 1 : 0;
  });
}

/**
 * A catalog entry: every code a stage can emit, with a one-line title.
 * docs/diagnostics.md is generated from the catalogs plus the golden fixtures.
 */
export interface CatalogEntry {
  readonly code: string;
  readonly severity: Severity;
  readonly title: string;
}
