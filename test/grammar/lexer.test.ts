import { describe, expect, it } from "vitest";
import { parseNumber, stringValue, lex } from "../../grammar/lexer.js";
import { SpanFactory } from "../../diagnostics/source.js";

function tokensOf(text: string): string[] {
  return lex(new SpanFactory({ path: "t.peer", text })).tokens.map((t) => `${t.tokenType.name}:${t.image.replace(/\n/g, "\\n")}`);
}

describe("numbers", () => {
  it.each([
    ["1024", 1024n, 1024, false],
    ["1_000_000", 1000000n, 1e6, false],
    ["1.5K", 1500n, 1500, false],
    ["1e6", 1000000n, 1e6, false],
    ["2.5e9", 2500000000n, 2.5e9, false],
    ["3e-4", null, 3e-4, false],
    ["1.5", null, 1.5, false],
    ["0.5K", 500n, 500, false],
    ["128K", 128000n, 128000, false],
    ["4M", 4000000n, 4e6, false],
    ["2G", 2000000000n, 2e9, false],
    ["1T", 1000000000000n, 1e12, false],
    ["4Ki", 4096n, 4096, false],
    ["4Mi", 4194304n, 4194304, false],
    ["2Gi", 2147483648n, 2147483648, false],
    ["1Ti", 1099511627776n, 1099511627776, false],
    ["1.5Ki", 1536n, 1536, false],
    ["10%", 10n, 10, true],
    ["2.5%", null, 2.5, true],
    ["12e-1", null, 1.2, false],
    ["120e-1", 12n, 12, false],
    ["1E3", 1000n, 1000, false],
  ])("%s", (raw, int, float, percent) => {
    const v = parseNumber(raw);
    expect(v.problem).toBeNull();
    expect(v.int).toBe(int);
    expect(v.float).toBeCloseTo(float, 12);
    expect(v.percent).toBe(percent);
  });

  it("is exact beyond 2^53", () => {
    expect(parseNumber("9_007_199_254_740_993").int).toBe(9007199254740993n);
    expect(parseNumber("1.000000000000000001e18").int).toBe(1000000000000000001n);
    expect(parseNumber("1e30").int).toBe(10n ** 30n);
  });

  it("does not compute absurd exponents exactly", () => {
    const v = parseNumber("1e999999999");
    expect(v.int).toBeNull();
    expect(v.float).toBe(Infinity);
  });

  it.each([
    ["12Q", /unknown suffix 'Q'/],
    ["1__0", /'_' may only separate digits/],
    ["1_", /'_'/],
    ["3e", /exponent has no digits/],
    ["1k", /unknown suffix 'k'/],
    ["0x10", /unknown suffix/],
  ])("rejects %s", (raw, problem) => {
    expect(parseNumber(raw).problem).toMatch(problem);
    expect(parseNumber(raw).int).toBeNull();
  });

  it("lexes a number with its suffix and percent as one token", () => {
    expect(tokensOf("a 1.5K 10% 2Mi")).toEqual(["Identifier:a", "Number:1.5K", "Number:10%", "Number:2Mi"]);
  });

  it("reads `%` before a value as modulo", () => {
    expect(tokensOf("10%3")).toEqual(["Number:10", "Percent:%", "Number:3"]);
    expect(tokensOf("10 % 3")).toEqual(["Number:10", "Percent:%", "Number:3"]);
  });
});

describe("strings", () => {
  it("resolves escapes", () => {
    expect(stringValue(String.raw`"a\\b\"c\nd\te\rf\u{41}\u{1F600}"`).value).toBe('a\\b"c\nd\te\rfA\u{1F600}');
  });
  it("reports unknown escapes at their offset", () => {
    const v = stringValue(String.raw`"ab\qc"`);
    expect(v.problems).toEqual([{ offset: 3, length: 2, message: "unknown escape" }]);
    expect(v.terminated).toBe(true);
  });
  it("rejects surrogate and out-of-range code points", () => {
    expect(stringValue(String.raw`"\u{D800}"`).problems).toHaveLength(1);
    expect(stringValue(String.raw`"\u{110000}"`).problems).toHaveLength(1);
    expect(stringValue(String.raw`"\u{}"`).problems).toHaveLength(1);
  });
  it("notices a missing closing quote, also after an escaped quote", () => {
    expect(stringValue('"abc').terminated).toBe(false);
    expect(stringValue(String.raw`"abc\"`).terminated).toBe(false);
    expect(stringValue(String.raw`"abc\\"`).terminated).toBe(true);
  });
  it("stops an unterminated string at the end of the line", () => {
    expect(tokensOf('let s = "abc\nlet t = 1')).toEqual([
      "Let:let", "Identifier:s", "Equals:=", 'String:"abc', "Newline:\\n", "Let:let", "Identifier:t", "Equals:=", "Number:1",
    ]);
  });
});

describe("comments and separators", () => {
  it("keeps comments aside with their spans", () => {
    const r = lex(new SpanFactory({ path: "t.peer", text: "a // one\n/* two\n */ b" }));
    expect(r.comments.map((c) => [c.text, c.block, c.span.line, c.span.column])).toEqual([
      ["// one", false, 1, 3],
      ["/* two\n */", true, 2, 1],
    ]);
    expect(r.tokens.map((t) => t.image)).toEqual(["a", "\n", "b"]);
  });

  it("drops newlines inside ( ) and [ ], keeps them in { }", () => {
    expect(tokensOf("f(a,\n b)\n[1,\n2]\n{x\ny}")).toEqual([
      "Identifier:f", "LParen:(", "Identifier:a", "Comma:,", "Identifier:b", "RParen:)", "Newline:\\n",
      "LBracket:[", "Number:1", "Comma:,", "Number:2", "RBracket:]", "Newline:\\n",
      "LCurly:{", "Identifier:x", "Newline:\\n", "Identifier:y", "RCurly:}",
    ]);
  });

  it("collapses separators and drops them at the start, after `{`, after an operator, before `}` and `else`", () => {
    expect(tokensOf("\n\n a;;\n\n b {\n c ;\n }\n else {}\n x = 1 +\n 2\n\n")).toEqual([
      "Identifier:a", "Semicolon:;", "Identifier:b", "LCurly:{", "Identifier:c", "RCurly:}", "Else:else", "LCurly:{", "RCurly:}",
      "Newline:\\n", "Identifier:x", "Equals:=", "Number:1", "Plus:+", "Number:2",
    ]);
  });

  it("turns `**` into `^` after reporting it", () => {
    const r = lex(new SpanFactory({ path: "t.peer", text: "2**3" }));
    expect(r.tokens.map((t) => t.tokenType.name)).toEqual(["Number", "Caret", "Number"]);
    expect(r.diagnostics.map((d) => d.code)).toEqual(["E0006"]);
  });

  it("keeps lexing after unknown characters, NUL and lone surrogates", () => {
    const r = lex(new SpanFactory({ path: "t.peer", text: "a @ b \u0000 c \ud800 d" }));
    expect(r.tokens.map((t) => t.image)).toEqual(["a", "b", "c", "d"]);
    expect(r.diagnostics.map((d) => [d.code, d.span?.offset])).toEqual([["E0001", 2], ["E0001", 6], ["E0001", 10]]);
    expect(r.diagnostics[1]!.message).toBe("unexpected character U+0000");
  });
});
