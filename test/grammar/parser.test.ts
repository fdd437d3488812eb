import { describe, expect, it } from "vitest";
import { parseSpec } from "../../grammar/parse.js";
import type * as A from "../../grammar/ast.js";
import { marked, where } from "./markers.js";
import { TINY } from "./fixtures.js";

function parseClean(text: string): A.SpecFile {
  const { file, diagnostics } = parseSpec({ path: "t.peer", text });
  expect(diagnostics).toEqual([]);
  return file;
}

/** Parses marked text and returns the file plus the marked spans. */
function parseMarked(withMarkers: string) {
  const { text, spans } = marked(withMarkers);
  return { file: parseClean(text), spans };
}

function bodyOf(file: A.SpecFile, index = 0): readonly A.BodyStatement[] {
  const d = file.declarations[index]!;
  if (d.kind !== "Model" && d.kind !== "Train" && d.kind !== "Block") throw new Error(`no body in ${d.kind}`);
  return d.body.statements;
}

/** An expression as a compact s-expression, to check structure without spans. */
function sexp(e: A.Expr): string {
  switch (e.kind) {
    case "Number": return e.raw;
    case "String": return e.raw;
    case "Bool": return String(e.value);
    case "Name": return e.name;
    case "Unary": return `(${e.op} ${sexp(e.operand)})`;
    case "Binary": return `(${e.op} ${sexp(e.left)} ${sexp(e.right)})`;
    case "Paren": return `(paren ${sexp(e.inner)})`;
    case "Tuple": return `(tuple ${e.items.map(sexp).join(" ")})`;
    case "List": return `[${e.items.map(sexp).join(" ")}]`;
  }
}

function exprOf(source: string): A.Expr {
  const file = parseClean(`let x = ${source}\n`);
  const d = file.declarations[0]!;
  if (d.kind !== "Let") throw new Error("not a let");
  return d.value;
}

describe("declarations", () => {
  it("import and let, with spans", () => {
    const { file, spans } = parseMarked(`<|import <|"blocks.peer"|>|>\n<|let <|d|> = <|128|>|>\n`);
    const [imp, letd] = file.declarations as [A.ImportDecl, A.LetDecl];
    expect(imp.kind).toBe("Import");
    expect(imp.path.value).toBe("blocks.peer");
    expect(where(imp.span)).toEqual(spans[0]);
    expect(where(imp.path.span)).toEqual(spans[1]);
    expect(where(letd.span)).toEqual(spans[2]);
    expect(where(letd.name.span)).toEqual(spans[3]);
    expect(where(letd.value.span)).toEqual(spans[4]);
    expect(spans[3]).toMatchObject({ line: 2, column: 5 });
  });

  it("block with parameters and defaults", () => {
    const { file, spans } = parseMarked(`<|block <|mixer|>(<|width|>, <|<|heads|> = <|4|>|>,) {\n  norm rms\n}|>`);
    const b = file.declarations[0] as A.BlockDecl;
    expect(b.kind).toBe("Block");
    expect(where(b.span)).toEqual(spans[0]);
    expect(where(b.name.span)).toEqual(spans[1]);
    expect(b.params.map((p) => [p.name.name, p.default && sexp(p.default)])).toEqual([["width", null], ["heads", "4"]]);
    expect(where(b.params[0]!.span)).toEqual(spans[2]);
    expect(where(b.params[1]!.span)).toEqual(spans[3]);
    expect(where(b.params[1]!.default!.span)).toEqual(spans[5]);
    expect(b.body.statements).toHaveLength(1);
  });

  it("model, train and budget", () => {
    const { file, spans } = parseMarked(
      `model m { vocab 3 }\ntrain <|m|> { batch 16 }\nbudget <|m|> {\n  <|<|memory|>(<|train|>, <|fp32|>) <|<=|> <|2|> <|GiB|> on <|cpu|>|>\n  <|params|> < 5M\n}\n`,
    );
    expect(file.declarations.map((d) => d.kind)).toEqual(["Model", "Train", "Budget"]);
    const train = file.declarations[1] as A.TrainDecl;
    expect(where(train.model.span)).toEqual(spans[0]);
    const budget = file.declarations[2] as A.BudgetDecl;
    expect(where(budget.model.span)).toEqual(spans[1]);
    const [mem, params] = budget.items as [A.BudgetItem, A.BudgetItem];
    expect(where(mem.span)).toEqual(spans[2]);
    expect(where(mem.metric.span)).toEqual(spans[3]);
    expect(mem.qualifiers.map((q) => q.name)).toEqual(["train", "fp32"]);
    expect(where(mem.qualifiers[0]!.span)).toEqual(spans[4]);
    expect(where(mem.qualifiers[1]!.span)).toEqual(spans[5]);
    expect(mem.op).toBe("<=");
    expect(where(mem.opSpan)).toEqual(spans[6]);
    expect(where(mem.limit.span)).toEqual(spans[7]);
    expect(mem.unit?.name).toBe("GiB");
    expect(where(mem.unit!.span)).toEqual(spans[8]);
    expect(mem.target?.name).toBe("cpu");
    expect(where(mem.target!.span)).toEqual(spans[9]);
    expect(params).toMatchObject({ op: "<", qualifiers: [], unit: null, target: null });
    expect(where(params.metric.span)).toEqual(spans[10]);
    expect(spans[10]).toMatchObject({ line: 5, column: 3 });
  });

  it("several models in one file, `;` and newlines as separators", () => {
    const file = parseClean("model a { vocab 1; context 2 }\nmodel b {\n\n  vocab 3\n\n}\n");
    expect(file.declarations.map((d) => (d as A.ModelDecl).name.name)).toEqual(["a", "b"]);
    expect(bodyOf(file, 0)).toHaveLength(2);
    expect(bodyOf(file, 1)).toHaveLength(1);
  });
});

describe("statements", () => {
  it("head, value, arguments, argsSpan", () => {
    const { file, spans } = parseMarked(
      `model m {\n  <|<|embed|> <|tokens|><|(<|<|dim|>: <|d|>|>)|>|>\n  <|vocab <|32000|>|>\n  <|peer<|(<|causal|>, experts: 1024^2)|>|>\n  <|f<|()|>|>\n}\n`,
    );
    const [embed, vocab, peer, f] = bodyOf(file) as [A.Statement, A.Statement, A.Statement, A.Statement];
    expect(where(embed.span)).toEqual(spans[0]);
    expect(where(embed.head.span)).toEqual(spans[1]);
    expect(embed.value && sexp(embed.value)).toBe("tokens");
    expect(where(embed.value!.span)).toEqual(spans[2]);
    expect(where(embed.argsSpan!)).toEqual(spans[3]);
    expect(where(embed.args![0]!.span)).toEqual(spans[4]);
    expect(where(embed.args![0]!.name!.span)).toEqual(spans[5]);
    expect(where(embed.args![0]!.value.span)).toEqual(spans[6]);
    expect(where(vocab.span)).toEqual(spans[7]);
    expect(vocab.args).toBeNull();
    expect(vocab.argsSpan).toBeNull();
    expect(where(vocab.value!.span)).toEqual(spans[8]);
    expect(peer.value).toBeNull();
    expect(where(peer.span)).toEqual(spans[9]);
    expect(where(peer.argsSpan!)).toEqual(spans[10]);
    expect(peer.args!.map((a) => [a.name?.name ?? null, sexp(a.value)])).toEqual([[null, "causal"], ["experts", "(^ 1024 2)"]]);
    expect(where(peer.args![0]!.span)).toEqual(spans[11]);
    expect(f.args).toEqual([]);
    expect(where(f.argsSpan!)).toEqual(spans[13]);
  });

  it("arguments may span lines and end with a comma", () => {
    const file = parseClean("model m {\n  peer(\n    experts: 4,\n    heads: 8,\n  )\n  norm rms\n}\n");
    const [peer, norm] = bodyOf(file) as [A.Statement, A.Statement];
    expect(peer.args!.map((a) => a.name?.name)).toEqual(["experts", "heads"]);
    expect(peer.span).toMatchObject({ line: 2, column: 3, endLine: 5, endColumn: 4 });
    expect(norm.span.line).toBe(6);
  });

  it("let, repeat, residual", () => {
    const { file, spans } = parseMarked(`model m {\n  <|let <|k|> = 2|>\n  <|repeat <|k * 2|> as <|i|> <|{\n    <|residual { norm rms }|>\n  }|>|>\n}\n`);
    const [letS, rep] = bodyOf(file) as [A.LetStatement, A.RepeatStatement];
    expect(letS.kind).toBe("Let");
    expect(where(letS.span)).toEqual(spans[0]);
    expect(where(letS.name.span)).toEqual(spans[1]);
    expect(rep.kind).toBe("Repeat");
    expect(where(rep.span)).toEqual(spans[2]);
    expect(where(rep.count.span)).toEqual(spans[3]);
    expect(where(rep.index!.span)).toEqual(spans[4]);
    expect(where(rep.body.span)).toEqual(spans[5]);
    expect(rep.body.statements[0]!.kind).toBe("Residual");
    expect(where(rep.body.statements[0]!.span)).toEqual(spans[6]);
  });

  it("repeat without index", () => {
    const rep = bodyOf(parseClean("model m { repeat 3 { norm rms } }"))[0] as A.RepeatStatement;
    expect(rep.index).toBeNull();
  });

  it("if / else if / else, with `else` on the next line", () => {
    const { file, spans } = parseMarked(
      `model m {\n  <|if i == 0 { a }\n  else <|if <|i < 3|> <|{ b }|> else <|{ c }|>|>|>\n}\n`,
    );
    const s = bodyOf(file)[0] as A.IfStatement;
    expect(s.kind).toBe("If");
    expect(where(s.span)).toEqual(spans[0]);
    expect(sexp(s.condition)).toBe("(== i 0)");
    const elseIf = s.otherwise as A.IfStatement;
    expect(elseIf.kind).toBe("If");
    expect(where(elseIf.span)).toEqual(spans[1]);
    expect(where(elseIf.condition.span)).toEqual(spans[2]);
    expect(where(elseIf.then.span)).toEqual(spans[3]);
    expect((elseIf.otherwise as A.Body).kind).toBe("Body");
    expect(where(elseIf.otherwise!.span)).toEqual(spans[4]);
  });

  it("parses the tiny example", () => {
    const file = parseClean(TINY);
    expect(file.declarations.map((d) => d.kind)).toEqual(["Import", "Let", "Let", "Block", "Model", "Train", "Budget"]);
    expect(file.comments.map((c) => c.text)).toEqual(["// tiny.peer", "// value list: one variant per item"]);
    const model = file.declarations[4] as A.ModelDecl;
    expect(model.body.statements.map((s) => (s.kind === "Statement" ? s.head.name : s.kind))).toEqual([
      "vocab", "context", "embed", "positions", "Repeat", "norm", "lm_head",
    ]);
    expect(model.span).toMatchObject({ line: 10, column: 1, endLine: 25, endColumn: 2 });
  });
});

describe("expressions", () => {
  it.each([
    ["1 + 2 * 3", "(+ 1 (* 2 3))"],
    ["1 - 2 - 3", "(- (- 1 2) 3)"],
    ["-2^2", "(- (^ 2 2))"],
    ["2^3^2", "(^ 2 (^ 3 2))"],
    ["2^-3^2", "(^ 2 (- (^ 3 2)))"],
    ["a ^ - b ^ c", "(^ a (- (^ b c)))"],
    ["-a * b", "(* (- a) b)"],
    ["a / b % c", "(% (/ a b) c)"],
    ["not a and b or c", "(or (and (not a) b) c)"],
    ["not not a", "(not (not a))"],
    ["a == b and c != d", "(and (== a b) (!= c d))"],
    ["a < b + 1", "(< a (+ b 1))"],
    ["(1 + 2) * 3", "(* (paren (+ 1 2)) 3)"],
    ["(0.9, 0.95)", "(tuple 0.9 0.95)"],
    ["(1,)", "(tuple 1)"],
    ["[64^2, 128^2,]", "[(^ 64 2) (^ 128 2)]"],
    ["[]", "[]"],
    ['"s" ', '"s"'],
    ["true or false", "(or true false)"],
    ["+-+1", "(+ (- (+ 1)))"],
  ])("%s", (source, expected) => {
    expect(sexp(exprOf(source))).toBe(expected);
  });

  it("records opSpan and spans of every node", () => {
    const { text, spans } = marked(`let x = <|<|a|> <|*|> <|(<|b|> <|^|> <|2|>)|>|>\n`);
    const file = parseClean(text);
    const e = (file.declarations[0] as A.LetDecl).value as A.BinaryExpr;
    expect(where(e.span)).toEqual(spans[0]);
    expect(where(e.left.span)).toEqual(spans[1]);
    expect(where(e.opSpan)).toEqual(spans[2]);
    const paren = e.right as A.ParenExpr;
    expect(where(paren.span)).toEqual(spans[3]);
    const pow = paren.inner as A.BinaryExpr;
    expect(where(pow.left.span)).toEqual(spans[4]);
    expect(where(pow.opSpan)).toEqual(spans[5]);
    expect(where(pow.right.span)).toEqual(spans[6]);
  });

  it("keeps number values exact in the AST", () => {
    const n = exprOf("1.5K") as A.NumberLiteral;
    expect(n).toMatchObject({ kind: "Number", raw: "1.5K", int: 1500n, float: 1500, percent: false });
  });

  it("newlines inside a value list are insignificant", () => {
    expect(sexp(exprOf("[\n  1,\n  2\n]"))).toBe("[1 2]");
  });
});
