import { describe, expect, it } from "vitest";
import { parseSpec } from "../../grammar/parse.js";
import { SYNTAX_CODES } from "../../diagnostics/codes/syntax.js";
import { marked, where } from "./markers.js";

/** The text with markers: marker `primary` is where the one expected diagnostic points. */
function only(withMarkers: string, primary = 0) {
  const { text, spans } = marked(withMarkers);
  const { diagnostics } = parseSpec({ path: "t.peer", text });
  expect(diagnostics.map((d) => `${d.code} ${d.message}`)).toHaveLength(1);
  const d = diagnostics[0]!;
  expect(where(d.span)).toEqual(spans[primary]);
  return { d, spans };
}

describe("syntax codes, each with its position", () => {
  it("E0001 unexpected character", () => {
    const { d } = only("let x = <|@|> 3\n");
    expect(d).toMatchObject({ code: "E0001", message: "unexpected character '@' (U+0040)" });
  });

  it("E0001 suggests `and` for `&&`", () => {
    const { d } = only("let x = a <|&&|> b\n");
    expect(d.help).toBe("write `and`");
  });

  it("E0002 unterminated string", () => {
    const { d } = only('import <|"|>blocks.peer\n');
    expect(d).toMatchObject({ code: "E0002", message: "unterminated string" });
  });

  it("E0003 invalid escape", () => {
    const { d } = only('import "a<|\\q|>b"\n');
    expect(d).toMatchObject({ code: "E0003", message: "invalid escape '\\q' in string" });
  });

  it("E0004 unterminated block comment", () => {
    const { d } = only("let x = 1\n<|/*|> never closed\n");
    expect(d.code).toBe("E0004");
  });

  it("E0005 malformed number", () => {
    const { d } = only("let x = <|12Q|>\n");
    expect(d).toMatchObject({ code: "E0005", message: "malformed number '12Q'" });
  });

  it("E0006 `**` with the `^` fix", () => {
    const { d } = only("let x = 1024<|**|>2\n");
    expect(d).toMatchObject({ code: "E0006", help: "'^' is power: write `1024^2`" });
  });

  it("E0010 expected a name", () => {
    const { d } = only("model <|{|> vocab 3 }\n");
    expect(d).toMatchObject({ code: "E0010", message: "expected a name after 'model' but found '{'" });
  });

  it("E0010 unexpected '}' at top level", () => {
    const { d } = only("model a {\n  norm rms\n}\n<|}|>\nlet x = 1\n");
    expect(d).toMatchObject({ code: "E0010", message: "unexpected '}'" });
  });

  it("E0010 a statement outside any body", () => {
    const { d } = only("<|vocab|> 256\n");
    expect(d.help).toMatch(/inside the body/);
  });

  it("E0010 `=` in a statement", () => {
    const { d } = only("model a {\n  vocab <|=|> 256\n}\n");
    expect(d).toMatchObject({ code: "E0010", message: "unexpected '='", help: "a statement is written `vocab value`, without '='" });
  });

  it("E0010 missing comparison in a budget", () => {
    const { d } = only("budget m {\n  params<||> 5M\n}\n");
    expect(d).toMatchObject({ code: "E0010", help: "a budget line reads like `params <= 5M`" });
  });

  it("E0011 missing ')' names the statement and labels the '('", () => {
    const { d, spans } = only("model a {\n  peer<|(|>heads: 4 <|experts|>: n)\n}\n", 1);
    expect(d.code).toBe("E0011");
    expect(d.message).toBe("expected ')' to close the argument list of 'peer' but found 'experts'");
    expect(where(d.span)).toEqual(spans[1]);
    expect(d.labels.map((l) => [where(l.span), l.message])).toEqual([[spans[0], "'(' opened here"]]);
    expect(d.help).toBe("separate arguments with ','");
  });

  it("E0011 missing '}' before the next model", () => {
    const { d, spans } = only("model a <|{|>\n  norm rms\n<|model|> b { vocab 3 }\n", 1);
    expect(d.message).toBe("expected '}' to close the body of model 'a' but found 'model'");
    expect(where(d.span)).toEqual(spans[1]);
    expect(where(d.labels[0]!.span)).toEqual(spans[0]);
  });

  it("E0011 at the end of the file points at the end", () => {
    const text = "model a {\n  repeat 2 {\n    norm rms\n";
    const { diagnostics } = parseSpec({ path: "t.peer", text });
    expect(diagnostics[0]).toMatchObject({ code: "E0011", message: "expected '}' to close the body of 'repeat' but reached the end of the file" });
    expect(diagnostics[0]!.span).toMatchObject({ offset: text.length, length: 0 });
  });

  it("E0011 for a list and a qualifier list", () => {
    expect(only("let x = <|[|>1, 2\n<|let|> y = 3\n", 1).d.message).toBe("expected ']' to close the value list but found 'let'");
    expect(only("budget m {\n  memory<|(|>train <|<=|> 3\n}\n", 1).d.message).toBe("expected ')' to close the qualifier list of 'memory' but found '<='");
  });

  it("E0012 nesting too deep, without overflowing the stack", () => {
    const deep = `let x = ${"(".repeat(10_000)}1${")".repeat(10_000)}\nlet y = 2\n`;
    const r = parseSpec({ path: "t.peer", text: deep });
    expect(r.diagnostics[0]).toMatchObject({ code: "E0012", message: "expression nested too deeply" });
    expect(r.diagnostics.filter((d) => d.code === "E0012")).toHaveLength(1);
    const bodies = `model m {\n${"repeat 2 {\n".repeat(5000)}${"}\n".repeat(5000)}}\n`;
    expect(parseSpec({ path: "t.peer", text: bodies }).diagnostics.map((d) => d.code)).toContain("E0012");
  });

  it("E0012 for absurdly long operator chains", () => {
    const r = parseSpec({ path: "t.peer", text: `let x = ${Array(3000).fill("1").join(" + ")}\nlet y = ${"-".repeat(5000)}1\n` });
    expect(r.diagnostics.map((d) => d.code)).toEqual(["E0012", "E0012"]);
  });

  it("E0013 expected a value", () => {
    const { d } = only("model a {\n  peer(experts: <|,|> heads: 4)\n}\n");
    expect(d).toMatchObject({ code: "E0013", message: "expected a value after ':'" });
  });

  it("E0014 statements on one line without a separator", () => {
    const { d } = only("model a { norm rms <|attention|>(heads: 4) }\n");
    expect(d).toMatchObject({ code: "E0014", message: "expected a newline or ';' before 'attention'" });
  });

  it("E0015 `=` instead of `:` in arguments", () => {
    const { d } = only("model a {\n  peer(experts <|=|> 4)\n}\n");
    expect(d).toMatchObject({ code: "E0015" });
    expect(d.help).toMatch(/^did you mean `:`\?/);
  });

  it("E0099 caps the number of errors", () => {
    const r = parseSpec({ path: "t.peer", text: "let x = @\n".repeat(200) });
    expect(r.diagnostics).toHaveLength(51);
    expect(r.diagnostics[50]!.code).toBe("E0099");
  });

  it("every emitted code is in the catalog", () => {
    const codes = new Set(SYNTAX_CODES.map((c) => c.code));
    for (const code of codes) expect(code).toMatch(/^E00\d\d$/);
    const samples = ["let x = @", 'import "a', "/*", "let x = 1x", "let x = 2**2", "model {", "}", "let x = (", "model a { b c d(e = 1) f: }"];
    for (const text of samples) {
      for (const d of parseSpec({ path: "t.peer", text }).diagnostics) expect(codes.has(d.code)).toBe(true);
    }
  });
});

describe("recovery", () => {
  it("reports several errors of one file in one run, in order", () => {
    const text = [
      "let a = 1024**2",          // E0006 line 1
      "model m {",
      "  vocab = 256",            // E0010 line 3
      "  peer(experts = 4)",      // E0015 line 4
      "  ffw(hidden: , act: gelu)", // E0013 line 5
      "}",
      "model n {",
      "  norm rms",
      "budget n {",               // E0011 line 9: model n not closed
      "  params <= 5M",
      "}",
      "let z = #",               // E0001 line 12
      "",
    ].join("\n");
    const r = parseSpec({ path: "t.peer", text });
    expect(r.diagnostics.map((d) => [d.code, d.span?.line])).toEqual([
      ["E0006", 1], ["E0010", 3], ["E0015", 4], ["E0013", 5], ["E0011", 9], ["E0001", 12],
    ]);
    // The best-effort AST still has every declaration.
    expect(r.file.declarations.map((d) => d.kind)).toEqual(["Let", "Model", "Model", "Budget", "Let"]);
  });

  it("returns a best-effort AST with gaps filled in place", () => {
    const r = parseSpec({ path: "t.peer", text: "let x =\nmodel m { vocab 3 }\n" });
    expect(r.diagnostics.map((d) => d.code)).toEqual(["E0013"]);
    expect(r.file.declarations.map((d) => d.kind)).toEqual(["Let", "Model"]);
  });

  it("never points outside the file, also at the end", () => {
    for (const text of ["", "model", "model a {", 'import "', "let x = (1,", "/*", "budget b { params <="]) {
      for (const d of parseSpec({ path: "t.peer", text }).diagnostics) {
        expect(d.span!.offset).toBeGreaterThanOrEqual(0);
        expect(d.span!.offset + d.span!.length).toBeLessThanOrEqual(text.length);
      }
    }
  });
});
