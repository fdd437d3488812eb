/**
 * Inline position markers for tests: `let <|x|> = 1` marks the span of `x`.
 * `marked` strips the markers and returns the plain text plus the marked
 * ranges in order, with 1-based line and column computed on the plain text.
 */
export interface Marked {
  readonly offset: number;
  readonly length: number;
  readonly line: number;
  readonly column: number;
}

export function marked(withMarkers: string): { text: string; spans: Marked[] } {
  let text = "";
  const spans: Marked[] = [];
  const open: number[] = [];
  for (let i = 0; i < withMarkers.length; i++) {
    if (withMarkers.startsWith("<|", i)) {
      open.push(text.length);
      i++;
    } else if (withMarkers.startsWith("|>", i)) {
      const start = open.pop();
      if (start === undefined) throw new Error(`unbalanced '|>' at ${i}`);
      spans.push(position(text, start, text.length - start));
      i++;
    } else text += withMarkers[i];
  }
  if (open.length) throw new Error("unclosed '<|'");
  spans.sort((a, b) => a.offset - b.offset || b.length - a.length);
  return { text, spans };
}

function position(text: string, offset: number, length: number): Marked {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - (before.lastIndexOf("\n") + 1) + 1;
  return { offset, length, line, column };
}

/** The fields of a span a test compares against a marker. */
export function where(span: { offset: number; length: number; line: number; column: number } | undefined) {
  return span ? { offset: span.offset, length: span.length, line: span.line, column: span.column } : undefined;
}
