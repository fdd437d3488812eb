import { describe, expect, it } from "vitest";
import { diagnostic, type Diagnostic } from "../../diagnostics/diagnostic.js";
import { escapeData, escapeProperty, renderDiagnostics } from "../../diagnostics/render.js";
import { SpanFactory, type SourceFile } from "../../diagnostics/source.js";

function setup(files: Record<string, string>) {
  const sources = new Map<string, SourceFile>();
  const spans = new Map<string, SpanFactory>();
  for (const [path, text] of Object.entries(files)) {
    sources.set(path, { path, text });
    spans.set(path, new SpanFactory({ path, text }));
  }
  /** Span of the first occurrence of `needle` in `file`. */
  const at = (file: string, needle: string, length = needle.length) => {
    const offset = files[file]!.indexOf(needle);
    if (offset < 0) throw new Error(`${needle} not in ${file}`);
    return spans.get(file)!.span(offset, length);
  };
  return { sources, at };
}

const human = (d: Diagnostic[], sources: Map<string, SourceFile>, maxErrors?: number) =>
  renderDiagnostics(d, sources, { format: "human", color: false, maxErrors });

describe("human format", () => {
  it("prints header, location, the line as written, carets, label, note and help", () => {
    const { sources, at } = setup({ "x.peer": "model m {\n  peer(experts: 1000)\n}\n" });
    const text = human(
      [diagnostic({ code: "E0301", message: "not square", span: at("x.peer", "experts: 1000"), label: "here", notes: ["n1"], help: "h1" })],
      sources,
    );
    expect(text).toBe(
      [
        "error[E0301]: not square",
        " --> x.peer:2:8",
        "  |",
        "2 |   peer(experts: 1000)",
        "  |        ^^^^^^^^^^^^^ here",
        "  = note: n1",
        "  = help: h1",
        "",
        "error: 1 error in x.peer",
        "",
      ].join("\n"),
    );
  });

  it("expands tabs consistently in the line and under it", () => {
    const { sources, at } = setup({ "t.peer": "\tffw(hidden:\t7)\n" });
    const text = human([diagnostic({ code: "E0202", message: "m", span: at("t.peer", "7") })], sources);
    const lines = text.split("\n");
    const source = lines.find((l) => l.startsWith("1 |"))!;
    const caret = lines.find((l) => l.includes("^"))!;
    expect(source).toBe("1 |     ffw(hidden: 7)");
    expect(caret.indexOf("^")).toBe(source.indexOf("7"));
  });

  it("marks a multi-line span from its start to the end of its first line", () => {
    const { sources, at } = setup({ "m.peer": "residual {\n  norm\n}\n" });
    const text = human([diagnostic({ code: "E0408", message: "empty", span: at("m.peer", "residual {\n  norm\n}") })], sources);
    expect(text).toContain("1 | residual {\n  | ^^^^^^^^^^\n");
  });

  it("shows secondary labels with dashes, and other files under :::", () => {
    const { sources, at } = setup({ "a.peer": "let x = 1\nlet y = 2\nlet x = 3\n", "b.peer": "let x = 4\n" });
    const text = human(
      [
        diagnostic({
          code: "E0101",
          message: "dup",
          span: at("a.peer", "x = 3", 1),
          label: "again",
          labels: [
            { span: at("a.peer", "x", 1), message: "first" },
            { span: at("b.peer", "x", 1), message: "elsewhere" },
          ],
        }),
      ],
      sources,
    );
    expect(text).toContain("1 | let x = 1\n  |     - first\n...\n3 | let x = 3\n  |     ^ again\n");
    expect(text).toContain(" ::: b.peer:1:5\n  |\n1 | let x = 4\n  |     - elsewhere\n");
  });

  it("windows very long lines around the span", () => {
    const long = "let x = " + "1 + ".repeat(60) + "oops" + " + 1".repeat(20);
    const { sources, at } = setup({ "l.peer": long + "\n" });
    const text = human([diagnostic({ code: "E0201", message: "m", span: at("l.peer", "oops") })], sources);
    const source = text.split("\n").find((l) => l.startsWith("1 |"))!;
    const caret = text.split("\n").find((l) => l.includes("^"))!;
    expect(source.length).toBeLessThanOrEqual(4 + 122);
    expect(source).toContain("…");
    expect(source.slice(caret.indexOf("^"), caret.indexOf("^") + 4)).toBe("oops");
  });

  it("caps the number shown and says how many are hidden", () => {
    const { sources, at } = setup({ "c.peer": "a b c d e\n" });
    const diags = ["a", "b", "c", "d"].map((w) => diagnostic({ code: "E0105", message: w, span: at("c.peer", w) }));
    diags.push(diagnostic({ code: "W0101", message: "e", span: at("c.peer", "e") }));
    const text = human(diags, sources, 2);
    expect(text.match(/^error\[/gm)).toHaveLength(2);
    expect(text).toContain("… 2 more errors, 1 warning not shown (use --max-errors 0 to show all)");
    expect(text.trimEnd().endsWith("error: 4 errors, 1 warning in c.peer")).toBe(true);
    expect(human(diags, sources, 0).match(/^(error|warning)\[/gm)).toHaveLength(5);
  });

  it("colours only when asked", () => {
    const { sources, at } = setup({ "x.peer": "abc\n" });
    const d = [diagnostic({ code: "E0105", message: "m", span: at("x.peer", "abc") })];
    expect(renderDiagnostics(d, sources, { format: "human", color: false })).not.toContain("\u001b[");
    expect(renderDiagnostics(d, sources, { format: "human", color: true })).toContain("\u001b[1;31merror[E0105]");
  });

  it("renders a diagnostic without a place", () => {
    const text = human([diagnostic({ code: "E0103", message: "cannot read `x.peer`", notes: ["missing"] })], new Map());
    expect(text).toBe("error[E0103]: cannot read `x.peer`\n  = note: missing\n\nerror: 1 error\n");
  });
});

describe("json format", () => {
  it("follows peerc.diagnostics/v1", () => {
    const { sources, at } = setup({ "x.peer": "let x = 1\n" });
    const d = diagnostic({ code: "W0101", message: "unused", span: at("x.peer", "x", 1), label: "here", labels: [{ span: at("x.peer", "1"), message: "value" }], help: "remove" });
    const doc = JSON.parse(renderDiagnostics([d], sources, { format: "json", color: false }));
    expect(doc).toEqual({
      schema: "peerc.diagnostics/v1",
      diagnostics: [
        {
          code: "W0101", severity: "warning", message: "unused", file: "x.peer", line: 1, column: 5, endLine: 1, endColumn: 6,
          label: "here", labels: [{ file: "x.peer", line: 1, column: 9, endLine: 1, endColumn: 10, message: "value" }], notes: [], help: "remove",
        },
      ],
    });
  });
});

describe("github format", () => {
  it("writes workflow commands with escaping", () => {
    const { sources, at } = setup({ "dir,a:b.peer": "x\n" });
    const d = diagnostic({ code: "E0202", message: "50% off\nline two", span: at("dir,a:b.peer", "x"), help: "try a, b" });
    expect(renderDiagnostics([d], sources, { format: "github", color: false })).toBe(
      "::error file=dir%2Ca%3Ab.peer,line=1,col=1,endLine=1,endColumn=2,title=E0202::50%25 off%0Aline two%0Ahelp: try a, b",
    );
    expect(escapeData("a\r\nb%")).toBe("a%0D%0Ab%25");
    expect(escapeProperty("a:b,c")).toBe("a%3Ab%2Cc");
    const w = diagnostic({ code: "W0101", message: "m" });
    expect(renderDiagnostics([w], sources, { format: "github", color: false })).toBe("::warning title=W0101::m");
  });
});
