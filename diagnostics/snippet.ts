/**
 * The source excerpt of a human diagnostic: numbered lines with `^^^` under
 * the primary span and `---` under secondary ones, each followed by its label.
 * Tabs are expanded to 4 columns in both the line and the underline, control
 * characters are shown as escapes (`\x1b`) with the underline following; lines
 * longer than 120 columns are windowed around the annotation.
 */
import { escapeControl, isControl, lineStarts, visible, type SourceFile, type Span } from "./source.js";
import type { Severity } from "./diagnostic.js";
import type { Palette } from "./style.js";

export interface Annotation {
  readonly span: Span;
  readonly message: string;
  readonly primary: boolean;
}

const TAB = 4;
const MAX_WIDTH = 120;
const CONTEXT = 40;

const lineCache = new WeakMap<SourceFile, number[]>();

function lineText(source: SourceFile, line: number): string | null {
  let starts = lineCache.get(source);
  if (!starts) {
    starts = lineStarts(source.text);
    lineCache.set(source, starts);
  }
  if (line < 1 || line > starts.length) return null;
  const start = starts[line - 1]!;
  const end = starts[line] ?? source.text.length;
  return source.text.slice(start, end).replace(/\r?\n$|\r$/, "");
}

/** How one code unit is drawn: a tab as spaces to the next stop, a control character as its escape. */
function shownAs(ch: string, col: number): string {
  if (ch === "\t") return " ".repeat(TAB - (col % TAB));
  return isControl(ch) ? escapeControl(ch) : ch;
}

/** Display column (0-based) of a 0-based code-unit index, with tabs expanded and control characters escaped. */
function displayColumn(text: string, index: number): number {
  let col = 0;
  for (let i = 0; i < index && i < text.length; i++) col += shownAs(text[i]!, col).length;
  return col + Math.max(0, index - text.length);
}

/** The line as drawn: tabs expanded, control characters escaped (never sent raw to a terminal). */
function expandTabs(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) out += shownAs(text[i]!, out.length);
  return out;
}

export function renderSnippet(
  source: SourceFile | undefined,
  annotations: readonly Annotation[],
  gutterWidth: number,
  severity: Severity,
  p: Palette,
): string[] {
  if (!source || annotations.length === 0) return [];
  const pad = " ".repeat(gutterWidth);
  const bar = p.accent("|");
  const byLine = new Map<number, Annotation[]>();
  for (const a of annotations) byLine.set(a.span.line, [...(byLine.get(a.span.line) ?? []), a]);
  const lineNumbers = [...byLine.keys()].sort((a, b) => a - b);
  const out = [`${pad} ${bar}`];
  let previous: number | null = null;
  for (const line of lineNumbers) {
    const raw = lineText(source, line);
    if (raw === null) continue;
    if (previous !== null && line > previous + 1) out.push(p.accent("..."));
    previous = line;
    const text = expandTabs(raw);
    const marks = byLine.get(line)!.map((a) => {
      const start = displayColumn(raw, a.span.column - 1);
      const endIndex = a.span.endLine === line ? a.span.endColumn - 1 : raw.length;
      const end = Math.max(start + 1, displayColumn(raw, endIndex));
      return { a, start, end };
    });
    // Window very long lines around the annotations.
    let offset = 0;
    let shown = text;
    if (text.length > MAX_WIDTH) {
      const first = Math.min(...marks.map((m) => m.start));
      offset = Math.max(0, Math.min(first - CONTEXT, text.length - MAX_WIDTH));
      shown = (offset > 0 ? "…" : "") + text.slice(offset, offset + MAX_WIDTH) + (offset + MAX_WIDTH < text.length ? "…" : "");
      if (offset > 0) offset -= 1; // the leading "…" takes one column
    }
    out.push(`${p.accent(String(line).padStart(gutterWidth))} ${bar} ${shown}`);
    marks.sort((x, y) => Number(y.a.primary) - Number(x.a.primary) || x.start - y.start);
    for (const { a, start, end } of marks) {
      const from = Math.max(0, start - offset);
      const width = Math.max(1, Math.min(end - offset, MAX_WIDTH + 2) - from);
      const underline = (a.primary ? "^" : "-").repeat(width);
      const label = a.message ? ` ${visible(a.message)}` : "";
      out.push(`${pad} ${bar} ${" ".repeat(from)}${p.underline(severity, a.primary, underline + label)}`);
    }
  }
  return out;
}
