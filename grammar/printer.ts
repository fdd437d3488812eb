/**
 * `peerc fmt`: prints an AST in the one canonical layout. 2-space indent, one
 * statement per line, `{` on the header line, spaces around binary operators
 * except `^`, at most one blank line where the source had any. Numbers and
 * strings are printed as written. Comments are re-attached by position: a
 * comment on the line where the previous item ended stays at the end of that
 * line; any other comment goes on its own line before the next item (comments
 * inside a one-line item move just above it).
 */
import type * as A from "./ast.js";
import type { Span, SourceFile } from "../diagnostics/source.js";
import { hasErrors, type Diagnostic } from "../diagnostics/diagnostic.js";
import { parseSpec } from "./parse.js";

const INDENT = "  ";

/** Parses and formats; refuses (text null) when the file has syntax errors. */
export function formatSource(source: SourceFile): { text: string | null; diagnostics: Diagnostic[] } {
  const { file, diagnostics } = parseSpec(source);
  if (hasErrors(diagnostics)) return { text: null, diagnostics };
  return { text: formatSpec(file, source), diagnostics };
}

/** Prints a parsed file (it must come from `parseSpec(source)` without syntax errors). */
export function formatSpec(file: A.SpecFile, source: SourceFile): string {
  void source; // spans already carry lines; the source is part of the signature for callers' symmetry
  return new Printer(file.comments).file(file);
}

export function formatExpr(e: A.Expr): string {
  switch (e.kind) {
    case "Number":
    case "String":
      return e.raw;
    case "Bool":
      return e.value ? "true" : "false";
    case "Name":
      return e.name;
    case "Unary":
      return e.op === "not" ? `not ${formatExpr(e.operand)}` : `${e.op}${formatExpr(e.operand)}`;
    case "Binary":
      return e.op === "^" ? `${formatExpr(e.left)}^${formatExpr(e.right)}` : `${formatExpr(e.left)} ${e.op} ${formatExpr(e.right)}`;
    case "Paren":
      return `(${formatExpr(e.inner)})`;
    case "Tuple":
      return `(${e.items.map(formatExpr).join(", ")}${e.items.length === 1 ? "," : ""})`;
    case "List":
      return `[${e.items.map(formatExpr).join(", ")}]`;
  }
}

function formatArgs(args: readonly A.Argument[] | null): string {
  if (args === null) return "";
  return `(${args.map((a) => (a.name ? `${a.name.name}: ${formatExpr(a.value)}` : formatExpr(a.value))).join(", ")})`;
}

function end(span: { offset: number; length: number }): number {
  return span.offset + span.length;
}

class Printer {
  private readonly out: string[] = [];
  private depth = 0;
  private next = 0;
  /** Source line on which the last printed thing ended (0 before anything). */
  private lastLine = 0;
  /** True right after a `{` line or at the start of the file: no blank line may follow. */
  private atStart = true;
  private readonly comments: readonly A.Comment[];

  constructor(comments: readonly A.Comment[]) {
    this.comments = [...comments].sort((a, b) => a.span.offset - b.span.offset);
  }

  file(file: A.SpecFile): string {
    for (const d of file.declarations) this.declaration(d);
    this.flushComments(Number.POSITIVE_INFINITY);
    return this.out.length ? `${this.out.join("\n")}\n` : "";
  }

  // ─── Lines and comments ───────────────────────────────────────────────────

  private emit(text: string, firstLine: number, lastLine: number): void {
    if (!this.atStart && this.out.length > 0 && firstLine - this.lastLine >= 2) this.out.push("");
    this.out.push(INDENT.repeat(this.depth) + text);
    this.lastLine = lastLine;
    this.atStart = false;
  }

  /** Comments before `offset`: trailing when on the last printed line, else on their own line. */
  private flushComments(offset: number): void {
    while (this.next < this.comments.length && this.comments[this.next]!.span.offset < offset) {
      const c = this.comments[this.next++]!;
      if (c.span.line === this.lastLine && this.out.length > 0) {
        this.out[this.out.length - 1] += ` ${c.text}`;
        this.lastLine = c.span.endLine;
      } else {
        this.emit(c.text, c.span.line, c.span.endLine);
      }
    }
  }

  /** Comments inside a one-line item cannot stay where they were: they go just above it. */
  private line(text: string, span: Span, regionEnd = end(span), lastLine = span.endLine): void {
    this.flushComments(span.offset);
    while (this.next < this.comments.length && this.comments[this.next]!.span.offset < regionEnd) {
      const c = this.comments[this.next++]!;
      this.emit(c.text, Math.min(c.span.line, span.line), span.line);
    }
    this.emit(text, span.line, lastLine);
  }

  private bodyLines(header: string, start: Span, body: A.Body): void {
    this.line(`${header} {`, start, body.span.offset + 1, body.span.line);
    this.bodyRest(body);
  }

  /** The statements of a body and its closing `}` (the `{` is already printed). */
  private bodyRest(body: A.Body): void {
    const close = end(body.span) - 1;
    const hasComment = this.next < this.comments.length && this.comments[this.next]!.span.offset < close;
    if (body.statements.length === 0 && !hasComment) {
      this.out[this.out.length - 1] += "}";
      this.lastLine = body.span.endLine;
      return;
    }
    this.depth++;
    this.atStart = true;
    for (const s of body.statements) this.statement(s);
    this.flushComments(close);
    this.depth--;
    this.out.push(`${INDENT.repeat(this.depth)}}`);
    this.lastLine = body.span.endLine;
    this.atStart = false;
  }

  // ─── Declarations ─────────────────────────────────────────────────────────

  private declaration(d: A.Declaration): void {
    switch (d.kind) {
      case "Import":
        return this.line(`import ${d.path.raw}`, d.span);
      case "Let":
        return this.line(`let ${d.name.name} = ${formatExpr(d.value)}`, d.span);
      case "Block": {
        const params = d.params.map((p) => (p.default ? `${p.name.name} = ${formatExpr(p.default)}` : p.name.name)).join(", ");
        return this.bodyLines(`block ${d.name.name}(${params})`, d.span, d.body);
      }
      case "Model":
        return this.bodyLines(`model ${d.name.name}`, d.span, d.body);
      case "Train":
        return this.bodyLines(`train ${d.model.name}`, d.span, d.body);
      case "Budget":
        return this.budget(d);
    }
  }

  private budget(d: A.BudgetDecl): void {
    this.line(`budget ${d.model.name} {`, d.span, d.model.span.offset + d.model.span.length, d.model.span.endLine);
    const close = end(d.span) - 1;
    const hasComment = this.next < this.comments.length && this.comments[this.next]!.span.offset < close;
    if (d.items.length === 0 && !hasComment) {
      this.out[this.out.length - 1] += "}";
      this.lastLine = d.span.endLine;
      return;
    }
    this.depth++;
    this.atStart = true;
    for (const item of d.items) {
      const qualifiers = item.qualifiers.length ? `(${item.qualifiers.map((q) => q.name).join(", ")})` : "";
      const unit = item.unit ? ` ${item.unit.name}` : "";
      const target = item.target ? ` on ${item.target.name}` : "";
      this.line(`${item.metric.name}${qualifiers} ${item.op} ${formatExpr(item.limit)}${unit}${target}`, item.span);
    }
    this.flushComments(close);
    this.depth--;
    this.out.push(`${INDENT.repeat(this.depth)}}`);
    this.lastLine = d.span.endLine;
    this.atStart = false;
  }

  // ─── Statements ───────────────────────────────────────────────────────────

  private statement(s: A.BodyStatement): void {
    switch (s.kind) {
      case "Statement": {
        const value = s.value ? ` ${formatExpr(s.value)}` : "";
        return this.line(`${s.head.name}${value}${formatArgs(s.args)}`, s.span);
      }
      case "Let":
        return this.line(`let ${s.name.name} = ${formatExpr(s.value)}`, s.span);
      case "Repeat":
        return this.bodyLines(`repeat ${formatExpr(s.count)}${s.index ? ` as ${s.index.name}` : ""}`, s.span, s.body);
      case "Residual":
        return this.bodyLines("residual", s.span, s.body);
      case "If":
        return this.ifChain(s);
    }
  }

  /** `if … {` … `} else if … {` … `} else {` … `}` — iterative, so long chains cost no stack. */
  private ifChain(first: A.IfStatement): void {
    this.bodyLines(`if ${formatExpr(first.condition)}`, first.span, first.then);
    let current: A.IfStatement = first;
    while (current.otherwise !== null) {
      const other: A.Body | A.IfStatement = current.otherwise;
      const header = other.kind === "If" ? `else if ${formatExpr(other.condition)} {` : "else {";
      const body = other.kind === "If" ? other.then : other;
      // The `}` just printed becomes `} else … {`; comments between go to the end of that line.
      this.out[this.out.length - 1] += ` ${header}`;
      this.lastLine = body.span.line;
      this.trailingUpTo(body.span.offset + 1);
      this.bodyRest(body);
      if (other.kind !== "If") break;
      current = other;
    }
  }

  private trailingUpTo(offset: number): void {
    while (this.next < this.comments.length && this.comments[this.next]!.span.offset < offset) {
      const c = this.comments[this.next++]!;
      this.out[this.out.length - 1] += ` ${c.text}`;
      this.lastLine = Math.max(this.lastLine, c.span.endLine);
    }
  }
}
