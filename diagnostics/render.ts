/**
 * Rendering diagnostics: `human` (rustc-style snippets with carets), `json`
 * (schema peerc.diagnostics/v1) and `github` (workflow commands that become
 * annotations on a pull request).
 */
import { visible, type SourceFile, type Span } from "./source.js";
import type { Diagnostic } from "./diagnostic.js";
import { renderSnippet } from "./snippet.js";
import { paint, type Palette } from "./style.js";

export type DiagnosticFormat = "human" | "json" | "github";

export interface RenderOptions {
  readonly format: DiagnosticFormat;
  readonly color: boolean;
  /** Most diagnostics shown in the human format; 0 shows all. Default 50. */
  readonly maxErrors?: number;
}

export const JSON_SCHEMA = "peerc.diagnostics/v1";

export function renderDiagnostics(diags: readonly Diagnostic[], sources: ReadonlyMap<string, SourceFile>, opts: RenderOptions): string {
  // Text from a spec (names, strings, paths) never reaches a terminal or a log raw: control characters become escapes.
  diags = diags.map(visibleText);
  switch (opts.format) {
    case "json":
      return renderJson(diags);
    case "github":
      return diags.map(renderGithub).join("\n");
    case "human":
      return renderHuman(diags, sources, opts.color, opts.maxErrors ?? 50);
  }
}

/** The diagnostic with control characters escaped in every text field (spans keep their file, the key into `sources`). */
function visibleText(d: Diagnostic): Diagnostic {
  return {
    ...d,
    message: visible(d.message),
    label: d.label === undefined ? undefined : visible(d.label),
    labels: d.labels.map((l) => ({ ...l, message: visible(l.message) })),
    notes: d.notes.map(visible),
    help: d.help === undefined ? undefined : visible(d.help),
  };
}

// ─── human ──────────────────────────────────────────────────────────────────

function renderHuman(diags: readonly Diagnostic[], sources: ReadonlyMap<string, SourceFile>, color: boolean, maxErrors: number): string {
  if (diags.length === 0) return "";
  const p = paint(color);
  const shown = maxErrors > 0 ? diags.slice(0, maxErrors) : diags;
  const blocks = shown.map((d) => renderOne(d, sources, p));
  const hidden = diags.slice(shown.length);
  if (hidden.length > 0) {
    blocks.push(`… ${countPhrase(hidden, "more ")} not shown (use --max-errors 0 to show all)`);
  }
  blocks.push(summary(diags, p));
  return blocks.join("\n\n") + "\n";
}

function countPhrase(diags: readonly Diagnostic[], prefix = ""): string {
  const errors = diags.filter((d) => d.severity === "error").length;
  const warnings = diags.filter((d) => d.severity === "warning").length;
  const notes = diags.length - errors - warnings;
  const parts: string[] = [];
  if (errors) parts.push(`${errors} ${prefix}error${errors === 1 ? "" : "s"}`);
  if (warnings) parts.push(`${warnings} ${parts.length ? "" : prefix}warning${warnings === 1 ? "" : "s"}`);
  if (notes) parts.push(`${notes} ${parts.length ? "" : prefix}note${notes === 1 ? "" : "s"}`);
  return parts.join(", ");
}

function summary(diags: readonly Diagnostic[], p: Palette): string {
  const files = [...new Set(diags.map((d) => d.span?.file).filter((f): f is string => f !== undefined))];
  const where = files.length === 1 ? ` in ${visible(files[0]!)}` : files.length > 1 ? ` in ${files.length} files` : "";
  const worst = diags.some((d) => d.severity === "error") ? "error" : diags.some((d) => d.severity === "warning") ? "warning" : "note";
  return `${p.severity(worst, worst)}${p.bold(`: ${countPhrase(diags)}${where}`)}`;
}

function renderOne(d: Diagnostic, sources: ReadonlyMap<string, SourceFile>, p: Palette): string {
  const lines: string[] = [`${p.severity(d.severity, `${d.severity}[${d.code}]`)}${p.bold(`: ${d.message}`)}`];
  const gutterWidth = gutterFor(d);
  const pad = " ".repeat(gutterWidth);
  if (d.span) {
    lines.push(`${pad}${p.accent("-->")} ${location(d.span)}`);
    const annotations = [
      { span: d.span, message: d.label ?? "", primary: true },
      ...d.labels.filter((l) => l.span.file === d.span!.file).map((l) => ({ span: l.span, message: l.message, primary: false })),
    ];
    lines.push(...renderSnippet(sources.get(d.span.file), annotations, gutterWidth, d.severity, p));
    const others = new Map<string, typeof d.labels[number][]>();
    for (const label of d.labels) {
      if (label.span.file === d.span.file) continue;
      others.set(label.span.file, [...(others.get(label.span.file) ?? []), label]);
    }
    for (const [file, labels] of others) {
      lines.push(`${pad}${p.accent(":::")} ${location(labels[0]!.span)}`);
      lines.push(
        ...renderSnippet(sources.get(file), labels.map((l) => ({ span: l.span, message: l.message, primary: false })), gutterWidth, d.severity, p),
      );
    }
  } else {
    for (const label of d.labels) lines.push(`${pad}${p.accent("-->")} ${location(label.span)}: ${label.message}`);
  }
  for (const note of d.notes) lines.push(`${pad} ${p.accent("=")} ${p.bold("note")}: ${note}`);
  if (d.help) lines.push(`${pad} ${p.accent("=")} ${p.help("help")}: ${d.help}`);
  return lines.join("\n");
}

function gutterFor(d: Diagnostic): number {
  const spans: Span[] = [...(d.span ? [d.span] : []), ...d.labels.map((l) => l.span)];
  return Math.max(1, ...spans.map((s) => String(s.line).length));
}

function location(span: Span): string {
  return `${visible(span.file)}:${span.line}:${span.column}`;
}

// ─── json ───────────────────────────────────────────────────────────────────

function spanFields(span: Span | undefined) {
  return {
    file: span ? visible(span.file) : null,
    line: span?.line ?? null,
    column: span?.column ?? null,
    endLine: span?.endLine ?? null,
    endColumn: span?.endColumn ?? null,
  };
}

function renderJson(diags: readonly Diagnostic[]): string {
  return JSON.stringify(
    {
      schema: JSON_SCHEMA,
      diagnostics: diags.map((d) => ({
        code: d.code,
        severity: d.severity,
        message: d.message,
        ...spanFields(d.span),
        label: d.label ?? null,
        labels: d.labels.map((l) => ({ ...spanFields(l.span), message: l.message })),
        notes: [...d.notes],
        help: d.help ?? null,
      })),
    },
    null,
    2,
  );
}

// ─── github ─────────────────────────────────────────────────────────────────

/** Escapes the message part of a workflow command. */
export function escapeData(text: string): string {
  return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/** Escapes a property value (file=…, title=…), where `:` and `,` are separators too. */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

function renderGithub(d: Diagnostic): string {
  const command = d.severity === "error" ? "error" : d.severity === "warning" ? "warning" : "notice";
  const props: string[] = [];
  if (d.span) {
    props.push(
      `file=${escapeProperty(visible(d.span.file))}`,
      `line=${d.span.line}`,
      `col=${d.span.column}`,
      `endLine=${d.span.endLine}`,
      `endColumn=${d.span.endColumn}`,
    );
  }
  props.push(`title=${escapeProperty(d.code)}`);
  const body = [d.message, ...d.notes.map((n) => `note: ${n}`), ...(d.help ? [`help: ${d.help}`] : [])].join("\n");
  return `::${command} ${props.join(",")}::${escapeData(body)}`;
}
