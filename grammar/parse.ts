/**
 * The entry point of grammar/: text → AST + syntax diagnostics. Runs the
 * lexer, the shared parser and the AST builder, and turns Chevrotain's
 * recognition errors into peerc diagnostics with context ("the argument list
 * of 'peer'") and a secondary label at an unclosed bracket. Never throws.
 */
import { EOF, type IRecognitionException, type IToken, type TokenType } from "./chevrotain.js";
import type { SpecFile } from "./ast.js";
import { SpanFactory, type Span, type SourceFile } from "../diagnostics/source.js";
import { diagnostic, sortDiagnostics, type Diagnostic, type Label } from "../diagnostics/diagnostic.js";
import * as T from "./lexer.js";
import { AstBuilder } from "./ast-builder.js";
import { describeToken, EXPRESSION_RULES, MAX_NESTING, sharedParser, type ErrorInfo } from "./parser.js";

/** More syntax errors than this are summarised by one E0099: past them the rest is mostly noise. */
export const MAX_SYNTAX_ERRORS = 50;

export interface ParseResult {
  readonly file: SpecFile;
  readonly diagnostics: Diagnostic[];
}

export function parseSpec(source: SourceFile): ParseResult {
  const spans = new SpanFactory(source);
  try {
    return parseWith(spans);
  } catch (error) {
    // Last resort: a bug must still come out as a located message, never a stack trace.
    const reason = error instanceof Error ? error.message : String(error);
    return {
      file: { kind: "File", path: source.path, declarations: [], comments: [], span: spans.span(0, source.text.length) },
      diagnostics: [
        diagnostic({
          code: "E0098",
          message: `internal error in the parser: ${reason}`,
          span: spans.span(0, 0),
          notes: ["this is a bug in peerc, not in the spec; please report it with the file"],
        }),
      ],
    };
  }
}

function parseWith(spans: SpanFactory): ParseResult {
  const lexed = T.lex(spans);
  const parser = sharedParser();
  parser.messages.info.clear();
  parser.nesting = 0;
  parser.input = lexed.tokens;
  const cst = parser.file();
  const parseErrors = [...parser.errors];
  const info = new Map(parser.messages.info);
  parser.input = []; // release the tokens of this file

  const ast = new AstBuilder(spans);
  const built = ast.visit(cst, 0) as SpecFile;
  const file: SpecFile = { ...built, comments: lexed.comments };
  const fromParser = afterUnknownCharacters(
    new ErrorTranslator(spans, lexed.tokens, info).translate(parseErrors),
    lexed.diagnostics,
    lexed.tokens,
  );
  const early = [...lexed.diagnostics, ...fromParser];
  const diagnostics = finish([...early, ...withoutFollowOnErrors(ast.diagnostics, early)], spans);
  return { file, diagnostics };
}

/**
 * An unknown character is dropped by the lexer; a parser error at the very
 * next token (`let z = #`: a value is missing) is the same mistake: drop it.
 */
function afterUnknownCharacters(fromParser: Diagnostic[], fromLexer: readonly Diagnostic[], tokens: readonly IToken[]): Diagnostic[] {
  const unknown = fromLexer.filter((d) => d.code === "E0001" && d.span).map((d) => d.span!.offset);
  if (unknown.length === 0) return fromParser;
  return fromParser.filter((d) => {
    const at = d.span?.offset ?? -1;
    return !unknown.some((u) => u < at && !tokens.some((t) => t.startOffset >= u && t.startOffset < at));
  });
}

/**
 * Stray-token and missing-separator reports right after a parser error on the
 * same line are usually the same mistake seen again by recovery: drop them.
 */
function withoutFollowOnErrors(fromBuilder: readonly Diagnostic[], earlier: readonly Diagnostic[]): Diagnostic[] {
  return fromBuilder.filter((d) => {
    if (d.code !== "E0010" && d.code !== "E0014") return true;
    const s = d.span;
    if (!s) return true;
    return !earlier.some((e) => e.span && e.span.line === s.line && e.span.offset <= s.offset);
  });
}

/** One diagnostic per place (the first reported wins), sorted, capped. */
function finish(all: Diagnostic[], spans: SpanFactory): Diagnostic[] {
  const seen = new Set<number>();
  const unique: Diagnostic[] = [];
  for (const d of all) {
    const key = d.span?.offset ?? -1;
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(d);
  }
  const sorted = sortDiagnostics(unique);
  if (sorted.length <= MAX_SYNTAX_ERRORS) return sorted;
  const kept = sorted.slice(0, MAX_SYNTAX_ERRORS);
  const next = sorted[MAX_SYNTAX_ERRORS]!;
  kept.push(
    diagnostic({
      code: "E0099",
      message: `too many syntax errors; ${sorted.length - MAX_SYNTAX_ERRORS} more not shown`,
      span: next.span ?? spans.span(0, 0),
      label: "the next one is here",
      help: "fix the first errors and run again",
    }),
  );
  return kept;
}

const CLOSERS = new Map<TokenType, TokenType>([
  [T.RParen, T.LParen],
  [T.RBracket, T.LBracket],
  [T.RCurly, T.LCurly],
]);
const OPENERS = new Set<TokenType>([T.LParen, T.LBracket, T.LCurly]);
const DECLARATION_KEYWORDS = new Set<TokenType>([T.Model, T.Train, T.Budget, T.Block]);

class ErrorTranslator {
  private readonly index = new Map<IToken, number>();
  private reportedTooDeep = false;

  constructor(
    private readonly spans: SpanFactory,
    private readonly tokens: readonly IToken[],
    private readonly info: ReadonlyMap<string, ErrorInfo>,
  ) {
    tokens.forEach((t, i) => this.index.set(t, i));
  }

  translate(errors: readonly IRecognitionException[]): Diagnostic[] {
    const out: Diagnostic[] = [];
    for (const error of errors) {
      const d = this.one(error);
      if (d) out.push(d);
    }
    return out;
  }

  private tokenSpan(t: IToken | undefined): Span {
    const size = this.spans.source.text.length;
    if (!t || t.tokenType === EOF || !Number.isFinite(t.startOffset)) return this.spans.span(size, 0);
    return this.spans.span(t.startOffset, t.image.length);
  }

  private one(error: IRecognitionException): Diagnostic | null {
    const token = error.token;
    const previous = (error as { previousToken?: IToken }).previousToken;
    const span = this.tokenSpan(token);
    const info = this.info.get(error.message);
    const found = token.tokenType === EOF ? "the file ends here" : `found ${describeToken(token)}`;
    const after = previous && previous.tokenType !== EOF && Number.isFinite(previous.startOffset) && !previous.isInsertedInRecovery ? ` after ${describeToken(previous)}` : "";

    if (info?.kind === "mismatch") {
      const opener = CLOSERS.get(info.expected);
      if (opener) return this.missingCloser(info.expected, opener, token, span, found);
      const help = info.expected === T.Identifier && previous && DECLARATION_KEYWORDS.has(previous.tokenType)
        ? `give the ${previous.image} a name: \`${previous.image} name …\``
        : undefined;
      return diagnostic({
        code: "E0010",
        message: `expected ${T.describeTokenType(info.expected)}${after} but ${token.tokenType === EOF ? "reached the end of the file" : found}`,
        span,
        label: `expected ${T.describeTokenType(info.expected)}`,
        help,
      });
    }
    if (info?.kind === "noViableAlt" && info.tooDeep) {
      if (this.reportedTooDeep) return null;
      this.reportedTooDeep = true;
      return diagnostic({
        code: "E0012",
        message: "expression nested too deeply",
        span,
        label: `more than ${MAX_NESTING} levels of parentheses, brackets or bodies`,
        help: "name the inner parts with `let` constants",
      });
    }
    if (info?.kind === "noViableAlt" && EXPRESSION_RULES.has(info.ruleName)) {
      return diagnostic({
        code: "E0013",
        message: `expected a value${after}`,
        span,
        label: found,
        help: previous?.tokenType === T.Colon ? "write the argument's value, or drop the name to pass a flag" : undefined,
      });
    }
    if (info?.kind === "noViableAlt" && info.ruleName === "compareOp") {
      return diagnostic({
        code: "E0010",
        message: `expected a comparison ('<=', '<', '>=', '>' or '==')${after}`,
        span,
        label: found,
        help: "a budget line reads like `params <= 5M`",
      });
    }
    return diagnostic({ code: "E0010", message: `unexpected ${describeToken(token)}`, span, label: found });
  }

  /** `expected ')' to close the argument list of 'peer' but found 'experts'`, with a label at the `(`. */
  private missingCloser(closer: TokenType, opener: TokenType, token: IToken, span: Span, found: string): Diagnostic {
    const at = token.tokenType === EOF ? this.tokens.length : (this.index.get(token) ?? this.tokens.length);
    const openIndex = this.findOpener(at, opener);
    const closeText = T.describeTokenType(closer);
    const labels: Label[] = [];
    let owner = opener === T.LCurly ? "the body" : opener === T.LBracket ? "the value list" : "the parentheses";
    if (openIndex >= 0) {
      const open = this.tokens[openIndex]!;
      labels.push({ span: this.tokenSpan(open), message: `${T.describeTokenType(opener)} opened here` });
      owner = this.ownerOf(openIndex) ?? owner;
    }
    const inArgs = owner.startsWith("the argument list");
    const startsValue = token.tokenType === T.Identifier || token.tokenType === T.NumberLit || token.tokenType === T.StringLit;
    return diagnostic({
      code: "E0011",
      message: `expected ${closeText} to close ${owner} but ${token.tokenType === EOF ? "reached the end of the file" : found}`,
      span,
      label: token.tokenType === EOF ? "the file ends here" : `expected ${closeText} before this`,
      labels,
      help: inArgs && startsValue ? "separate arguments with ','" : undefined,
    });
  }

  /** Index of the unmatched opener of this kind nearest before `at`, or -1. */
  private findOpener(at: number, opener: TokenType): number {
    const pending: TokenType[] = [];
    for (let i = at - 1; i >= 0; i--) {
      const type = this.tokens[i]!.tokenType;
      const closes = CLOSERS.get(type);
      if (closes) pending.push(closes);
      else if (OPENERS.has(type)) {
        if (pending[pending.length - 1] === type) pending.pop();
        else if (type === opener) return i;
      }
    }
    return -1;
  }

  /** What an opener belongs to, from the first token of its statement: "the argument list of 'peer'". */
  private ownerOf(openIndex: number): string | undefined {
    const opener = this.tokens[openIndex]!.tokenType;
    let depth = 0;
    let i = openIndex - 1;
    for (; i >= 0; i--) {
      const type = this.tokens[i]!.tokenType;
      if (CLOSERS.has(type)) depth++;
      else if (OPENERS.has(type)) {
        if (depth === 0) break;
        depth--;
      } else if (depth === 0 && (type === T.Newline || type === T.Semicolon)) break;
    }
    const first = this.tokens[i + 1];
    if (!first || i + 1 >= openIndex) return undefined;
    const name = this.tokens[i + 2];
    const named = name?.tokenType === T.Identifier ? ` '${name.image}'` : "";
    if (opener === T.LCurly) {
      if (DECLARATION_KEYWORDS.has(first.tokenType)) return `the body of ${first.image}${named}`;
      return `the body of '${first.image}'`;
    }
    if (opener === T.LParen) {
      if (first.tokenType === T.Block) return `the parameter list of block${named}`;
      if (i + 1 === openIndex - 1 || first.tokenType === T.Identifier) {
        if (first.tokenType !== T.Identifier) return undefined;
        const inBudget = this.insideBudget(i + 1);
        return inBudget ? `the qualifier list of '${first.image}'` : `the argument list of '${first.image}'`;
      }
    }
    return undefined;
  }

  /** Whether the statement starting at `index` sits directly in a `budget { … }`. */
  private insideBudget(index: number): boolean {
    const open = this.findOpener(index, T.LCurly);
    if (open < 2) return false;
    return this.tokens[open - 2]!.tokenType === T.Budget;
  }
}
