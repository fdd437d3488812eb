/**
 * Source text and spans. Every AST node, IR layer and diagnostic points back
 * into a `SourceFile` through a `Span`, so a message can always show the line
 * the user wrote.
 */

export interface SourceFile {
  /** Path as the user named it (relative paths stay relative: messages show them). */
  readonly path: string;
  readonly text: string;
}

/**
 * A half-open range [offset, offset + length) in one file.
 * `line` and `column` are 1-based and count UTF-16 code units, like editors do;
 * `endLine`/`endColumn` point one past the last character.
 */
export interface Span {
  readonly file: string;
  readonly offset: number;
  readonly length: number;
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
}

/** Offsets at which each line starts; line i (0-based) starts at result[i]. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 /* \n */) starts.push(i + 1);
    else if (c === 13 /* \r */) {
      if (text.charCodeAt(i + 1) === 10) i++;
      starts.push(i + 1);
    }
  }
  return starts;
}

/** 1-based line and column of an offset, by binary search over `starts`. */
export function positionAt(starts: readonly number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - starts[lo]! + 1 };
}

/** Builds spans for one file; clamps to the text so a span is always in bounds. */
export class SpanFactory {
  private readonly starts: number[];
  constructor(readonly source: SourceFile) {
    this.starts = lineStarts(source.text);
  }
  span(offset: number, length: number): Span {
    const size = this.source.text.length;
    const start = Math.max(0, Math.min(offset, size));
    const end = Math.max(start, Math.min(offset + Math.max(0, length), size));
    const a = positionAt(this.starts, start);
    const b = positionAt(this.starts, end);
    return {
      file: this.source.path,
      offset: start,
      length: end - start,
      line: a.line,
      column: a.column,
      endLine: b.line,
      endColumn: b.column,
    };
  }
  /** The smallest span covering both. */
  cover(a: Span, b: Span): Span {
    const start = Math.min(a.offset, b.offset);
    const end = Math.max(a.offset + a.length, b.offset + b.length);
    return this.span(start, end - start);
  }
  lineText(line: number): string {
    const start = this.starts[line - 1] ?? this.source.text.length;
    const next = this.starts[line] ?? this.source.text.length;
    return this.source.text.slice(start, next).replace(/\r?\n$|\r$/, "");
  }
  get lineCount(): number {
    return this.starts.length;
  }
}

/** Span covering two spans of the same file (no factory needed; lines taken from the ends). */
export function coverSpans(a: Span, b: Span): Span {
  const first = a.offset <= b.offset ? a : b;
  const aEnd = a.offset + a.length;
  const bEnd = b.offset + b.length;
  const last = aEnd >= bEnd ? a : b;
  return {
    file: a.file,
    offset: first.offset,
    length: Math.max(aEnd, bEnd) - first.offset,
    line: first.line,
    column: first.column,
    endLine: last.endLine,
    endColumn: last.endColumn,
  };
}

/**
 * Characters a terminal acts on instead of showing: C0 controls but tab and
 * line feed (a message may span lines; a source line never holds one), DEL,
 * C1 controls, bidirectional overrides and isolates, line and paragraph
 * separators. A spec can hold any of them (in a string, a comment, a file
 * name), and a byte-order mark; diagnostics show them as escapes so a spec can neither retitle the
 * terminal nor hide text.
 */
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069\uFEFF]/g;

/** The visible form of one control character: `\x1b`, `\n`, `\u202e`. */
export function escapeControl(ch: string): string {
  const code = ch.charCodeAt(0);
  if (code === 10) return "\\n";
  if (code === 13) return "\\r";
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** `text` with every control character (tab and line feed excepted) written as an escape. */
export function visible(text: string): string {
  return text.replace(CONTROL, escapeControl);
}

/** Whether one UTF-16 code unit is a control character that `visible` escapes. */
export function isControl(ch: string): boolean {
  CONTROL.lastIndex = 0;
  const hit = CONTROL.test(ch);
  CONTROL.lastIndex = 0;
  return hit;
}
