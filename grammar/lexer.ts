/**
 * Tokens of the .peer language and the lexing pass. Produces the token stream
 * the parser reads (newlines already turned into separators or dropped), the
 * comments (kept aside for `peerc fmt`) and lexical diagnostics. Never throws:
 * an unknown character, an unterminated string or comment, a malformed number
 * each become one diagnostic, and lexing continues after them.
 */
import { createToken, Lexer, type IToken, type TokenType } from "./chevrotain.js";
import type { Comment } from "./ast.js";
import type { SpanFactory } from "../diagnostics/source.js";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";

// ─── Token categories (pattern-less; used by the parser to match groups) ────

/** A statement separator: a significant newline or `;`. */
export const Sep = createToken({ name: "Sep", pattern: Lexer.NA });
/** Tokens that cannot start anything inside a body; the parser reports them one run at a time. */
export const BodyStray = createToken({ name: "BodyStray", pattern: Lexer.NA });
/** Tokens that cannot start a top-level declaration. */
export const TopStray = createToken({ name: "TopStray", pattern: Lexer.NA });

const STRAY_ANYWHERE = [BodyStray, TopStray];
/** Words allowed as budget qualifiers: names, and `train` (as in `memory(train, bf16)`). */
export const QualifierWord = createToken({ name: "QualifierWord", pattern: Lexer.NA });

// ─── Trivia ─────────────────────────────────────────────────────────────────

export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\f\v\uFEFF]+/, group: Lexer.SKIPPED });
export const Newline = createToken({ name: "Newline", pattern: /\r\n|\r|\n/, line_breaks: true, categories: [Sep] });
export const LineComment = createToken({ name: "LineComment", pattern: /\/\/[^\r\n]*/, group: "comments" });

/** `/* … *\/`, or `/*` to the end of the file when the comment never closes (reported later). */
function matchBlockComment(text: string, offset: number): RegExpExecArray | null {
  if (text.charCodeAt(offset) !== 47 /* / */ || text.charCodeAt(offset + 1) !== 42 /* * */) return null;
  const close = text.indexOf("*/", offset + 2);
  const end = close < 0 ? text.length : close + 2;
  const match = [text.slice(offset, end)] as unknown as RegExpExecArray;
  return match;
}
export const BlockComment = createToken({
  name: "BlockComment",
  pattern: { exec: matchBlockComment },
  line_breaks: true,
  start_chars_hint: ["/"],
  group: "comments",
});

// ─── Literals and names ─────────────────────────────────────────────────────

/**
 * A string runs to its closing quote or to the end of the line; escapes are
 * checked afterwards so a bad one is a diagnostic, not a lexing failure.
 */
export const StringLit = createToken({
  name: "String",
  pattern: /"(?:[^"\\\r\n]|\\[^\r\n]?)*"?/,
  categories: STRAY_ANYWHERE,
});

/**
 * A number swallows every letter, digit and `_` glued to it, so `12x` or `3Q`
 * is one malformed number rather than a number followed by a name. A trailing
 * `%` belongs to the number unless a value follows it (`10%3` is modulo).
 */
export const NumberLit = createToken({
  name: "Number",
  pattern: /[0-9][0-9_]*(?:\.[0-9][0-9_]*)?(?:[eE][+-]?[0-9][0-9_]*)?[A-Za-z0-9_]*(?:%(?![0-9A-Za-z_(]))?/,
  categories: STRAY_ANYWHERE,
});

export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_][A-Za-z0-9_]*/, categories: [TopStray, QualifierWord] });

function keyword(word: string, categories: TokenType[] = []): TokenType {
  return createToken({ name: word[0]!.toUpperCase() + word.slice(1), pattern: new RegExp(word), longer_alt: Identifier, categories });
}

export const Import = keyword("import");
export const Let = keyword("let");
export const Block = keyword("block");
export const Model = keyword("model");
export const Train = keyword("train", [QualifierWord]);
export const Budget = keyword("budget");
export const Repeat = keyword("repeat", [TopStray]);
export const As = keyword("as", STRAY_ANYWHERE);
export const If = keyword("if", [TopStray]);
export const Else = keyword("else", STRAY_ANYWHERE);
export const Residual = keyword("residual", [TopStray]);
export const On = keyword("on", STRAY_ANYWHERE);
export const True = keyword("true", STRAY_ANYWHERE);
export const False = keyword("false", STRAY_ANYWHERE);
export const And = keyword("and", STRAY_ANYWHERE);
export const Or = keyword("or", STRAY_ANYWHERE);
export const Not = keyword("not", STRAY_ANYWHERE);

// ─── Punctuation and operators (longest first where prefixes overlap) ───────

function punct(name: string, pattern: RegExp, categories: TokenType[] = STRAY_ANYWHERE): TokenType {
  return createToken({ name, pattern, categories });
}

/** Not an operator of the language: lexed only to say "`^` is power" and carry on as `^`. */
export const StarStar = punct("StarStar", /\*\*/);
export const LessEq = punct("LessEq", /<=/);
export const GreaterEq = punct("GreaterEq", />=/);
export const EqEq = punct("EqEq", /==/);
export const NotEq = punct("NotEq", /!=/);
export const Less = punct("Less", /</);
export const Greater = punct("Greater", />/);
export const Equals = punct("Equals", /=/);
export const Plus = punct("Plus", /\+/);
export const Minus = punct("Minus", /-/);
export const Star = punct("Star", /\*/);
export const Slash = punct("Slash", /\//);
export const Percent = punct("Percent", /%/);
export const Caret = punct("Caret", /\^/);
export const LParen = punct("LParen", /\(/);
export const RParen = punct("RParen", /\)/);
export const LBracket = punct("LBracket", /\[/);
export const RBracket = punct("RBracket", /\]/);
export const LCurly = punct("LCurly", /\{/);
export const RCurly = punct("RCurly", /\}/, [TopStray]);
export const Comma = punct("Comma", /,/);
export const Colon = punct("Colon", /:/);
export const Semicolon = createToken({ name: "Semicolon", pattern: /;/, categories: [Sep] });

export const allTokens: TokenType[] = [
  WhiteSpace,
  Newline,
  BlockComment,
  LineComment,
  StringLit,
  NumberLit,
  Import, Let, Block, Model, Train, Budget, Repeat, As, If, Else, Residual, On, True, False, And, Or, Not,
  Identifier,
  StarStar, LessEq, GreaterEq, EqEq, NotEq, Less, Greater, Equals,
  Plus, Minus, Star, Slash, Percent, Caret,
  LParen, RParen, LBracket, RBracket, LCurly, RCurly, Comma, Colon, Semicolon,
  Sep, BodyStray, TopStray, QualifierWord,
];

/** The text a token kind is shown as in messages: `')'`, `a name`, `a number`. */
export function describeTokenType(type: TokenType): string {
  switch (type) {
    case Identifier: return "a name";
    case NumberLit: return "a number";
    case StringLit: return "a string";
    case Sep: case Newline: case Semicolon: return "a newline or ';'";
    default: break;
  }
  const pattern = type.PATTERN;
  if (pattern instanceof RegExp) return `'${pattern.source.replace(/\\/g, "")}'`;
  return type.name;
}

// Built once: Chevrotain analyses the token set when the lexer is constructed.
const chevrotainLexer = new Lexer(allTokens, {
  positionTracking: "full",
  ensureOptimizations: false,
  recoveryEnabled: true,
});

export interface LexResult {
  /** Tokens for the parser: no whitespace or comments; separators normalised (see `separateStatements`). */
  readonly tokens: IToken[];
  readonly comments: Comment[];
  readonly diagnostics: Diagnostic[];
}

export function lex(spans: SpanFactory): LexResult {
  const text = spans.source.text;
  const result = chevrotainLexer.tokenize(text);
  const diagnostics: Diagnostic[] = [];

  for (const error of result.errors) {
    diagnostics.push(unknownCharacters(spans, error.offset, error.length));
  }

  const comments: Comment[] = [];
  for (const token of result.groups["comments"] ?? []) {
    const block = token.tokenType === BlockComment;
    if (block && !(token.image.length >= 4 && token.image.endsWith("*/"))) {
      diagnostics.push(
        diagnostic({
          code: "E0004",
          message: "unterminated block comment",
          span: spans.span(token.startOffset, 2),
          label: "this comment is never closed with '*/'",
          help: "close the comment with '*/'",
        }),
      );
    }
    comments.push({ kind: "Comment", text: token.image.replace(/[ \t]+$/, ""), block, span: spans.span(token.startOffset, token.image.length) });
  }

  const tokens: IToken[] = [];
  for (const token of result.tokens) {
    if (token.tokenType === StringLit) {
      diagnostics.push(...checkString(spans, token));
    } else if (token.tokenType === NumberLit) {
      const problem = parseNumber(token.image).problem;
      if (problem) {
        diagnostics.push(
          diagnostic({
            code: "E0005",
            message: `malformed number '${token.image}'`,
            span: spans.span(token.startOffset, token.image.length),
            label: problem,
            help: "numbers look like 1024, 1_000, 0.5, 3e-4, 128K, 4Mi or 10%",
          }),
        );
      }
    } else if (token.tokenType === StarStar) {
      diagnostics.push(
        diagnostic({
          code: "E0006",
          message: "'**' is not an operator",
          span: spans.span(token.startOffset, 2),
          label: "power is written '^'",
          help: powerHelp(result.tokens, token),
        }),
      );
      // Carry on as if `^` had been written, so the rest of the expression parses.
      tokens.push({ ...token, tokenType: Caret, tokenTypeIdx: Caret.tokenTypeIdx! });
      continue;
    }
    tokens.push(token);
  }
  return { tokens: separateStatements(tokens), comments, diagnostics };
}

function powerHelp(all: IToken[], starStar: IToken): string {
  const i = all.indexOf(starStar);
  const left = all[i - 1];
  const right = all[i + 1];
  if (left && right && left.tokenType === NumberLit && right.tokenType === NumberLit) {
    return `'^' is power: write \`${left.image}^${right.image}\``;
  }
  return "'^' is power: write `a^b`";
}

function unknownCharacters(spans: SpanFactory, offset: number, length: number): Diagnostic {
  const text = spans.source.text;
  const first = text.codePointAt(offset) ?? 0;
  const width = first > 0xffff ? 2 : 1;
  const shown = describeChar(first);
  const next = text[offset + width];
  let help: string | undefined;
  const ch = String.fromCodePoint(first);
  if (ch === "&" && next === "&") help = "write `and`";
  else if (ch === "|" && next === "|") help = "write `or`";
  else if (ch === "!") help = "write `not` (or `!=` for inequality)";
  else if (ch === "'") help = "strings use double quotes: \"…\"";
  else if (ch === "#") help = "comments start with `//`";
  else if (first > 127 && /\p{L}/u.test(ch)) help = "names use ASCII letters, digits and `_`";
  return diagnostic({
    code: "E0001",
    message: `unexpected character ${shown}`,
    span: spans.span(offset, Math.max(width, length)),
    label: "not valid in a .peer file",
    help,
  });
}

function describeChar(codePoint: number): string {
  const hex = `U+${codePoint.toString(16).toUpperCase().padStart(4, "0")}`;
  const printable = codePoint > 32 && codePoint !== 127 && !(codePoint >= 0xd800 && codePoint <= 0xdfff) && !(codePoint >= 0x80 && codePoint < 0xa0);
  return printable ? `'${String.fromCodePoint(codePoint)}' (${hex})` : hex;
}

// ─── Strings ────────────────────────────────────────────────────────────────

export interface StringValue {
  readonly value: string;
  /** Problems as offsets relative to the token start. */
  readonly problems: readonly { offset: number; length: number; message: string }[];
  readonly terminated: boolean;
}

/** Resolves the escapes of a string token's image (quotes included). */
export function stringValue(raw: string): StringValue {
  const terminated = raw.length >= 2 && raw.endsWith('"') && !isEscapedQuote(raw);
  const end = terminated ? raw.length - 1 : raw.length;
  const problems: { offset: number; length: number; message: string }[] = [];
  let value = "";
  for (let i = 1; i < end; i++) {
    const c = raw[i]!;
    if (c !== "\\") {
      value += c;
      continue;
    }
    const e = raw[i + 1];
    const simple: Record<string, string> = { "\\": "\\", '"': '"', n: "\n", t: "\t", r: "\r" };
    if (e !== undefined && e in simple && i + 1 < end) {
      value += simple[e];
      i++;
      continue;
    }
    if (e === "u") {
      const m = /^\{([0-9A-Fa-f]{1,6})\}/.exec(raw.slice(i + 2, end));
      const code = m ? parseInt(m[1]!, 16) : -1;
      if (m && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)) {
        value += String.fromCodePoint(code);
        i += 1 + m[0].length;
        continue;
      }
      problems.push({ offset: i, length: m ? 2 + m[0].length : 2, message: "invalid unicode escape: write \\u{…} with 1 to 6 hex digits of a code point" });
      i++;
      continue;
    }
    problems.push({ offset: i, length: e === undefined || i + 1 >= end ? 1 : 2, message: "unknown escape" });
    if (e !== undefined && i + 1 < end) i++;
  }
  return { value, problems, terminated };
}

/** True when the final `"` of the image is escaped by an odd run of backslashes (`"abc\"`). */
function isEscapedQuote(raw: string): boolean {
  let slashes = 0;
  for (let i = raw.length - 2; i >= 1 && raw[i] === "\\"; i--) slashes++;
  return slashes % 2 === 1;
}

function checkString(spans: SpanFactory, token: IToken): Diagnostic[] {
  const parsed = stringValue(token.image);
  const out: Diagnostic[] = [];
  for (const p of parsed.problems) {
    out.push(
      diagnostic({
        code: "E0003",
        message: `invalid escape '${token.image.slice(p.offset, p.offset + p.length)}' in string`,
        span: spans.span(token.startOffset + p.offset, p.length),
        label: p.message,
        help: "the escapes are \\\\ \\\" \\n \\t \\r and \\u{hex}",
      }),
    );
  }
  if (!parsed.terminated) {
    out.push(
      diagnostic({
        code: "E0002",
        message: "unterminated string",
        span: spans.span(token.startOffset, 1),
        label: "this string is not closed before the end of the line",
        help: "add a closing '\"'",
      }),
    );
  }
  return out;
}

// ─── Numbers ────────────────────────────────────────────────────────────────

const SUFFIX_SCALE: Record<string, { base: bigint; power: number }> = {
  "": { base: 10n, power: 0 },
  K: { base: 10n, power: 3 },
  M: { base: 10n, power: 6 },
  G: { base: 10n, power: 9 },
  T: { base: 10n, power: 12 },
  Ki: { base: 2n, power: 10 },
  Mi: { base: 2n, power: 20 },
  Gi: { base: 2n, power: 30 },
  Ti: { base: 2n, power: 40 },
};

/** Beyond this decimal exponent the exact integer is not computed (it would be absurdly large). */
const MAX_EXACT_EXPONENT = 1000;

export interface NumberValue {
  readonly int: bigint | null;
  readonly float: number;
  readonly percent: boolean;
  /** Why the literal is malformed, or null. */
  readonly problem: string | null;
}

const NUMBER_SHAPE = /^([0-9_]+)(?:\.([0-9_]+))?(?:[eE]([+-]?[0-9_]+))?([A-Za-z0-9_]*?)(%?)$/;

/**
 * The exact value of a number literal: `1.5K` → 1500n, `1e6` → 1000000n,
 * `3e-4` → int null, `10%` → 10n with percent. Scaling is done on the digits in
 * BigInt, so no precision is lost on the way.
 */
export function parseNumber(raw: string): NumberValue {
  const m = NUMBER_SHAPE.exec(raw);
  if (!m) return { int: null, float: NaN, percent: false, problem: "not a number" };
  const [, whole = "", fraction, exponent, suffix = "", percentSign] = m;
  const percent = percentSign === "%";
  const groups = /^[0-9]+(?:_[0-9]+)*$/;
  let problem: string | null = null;
  if (!groups.test(whole) || (fraction !== undefined && !groups.test(fraction))) problem = "'_' may only separate digits";
  else if (exponent !== undefined && !/^[+-]?[0-9]+(?:_[0-9]+)*$/.test(exponent)) problem = "'_' may only separate digits";
  else if (!(suffix in SUFFIX_SCALE)) {
    problem = /^[eE]/.test(suffix) ? "the exponent has no digits" : `unknown suffix '${suffix}' (use K, M, G, T or Ki, Mi, Gi, Ti)`;
  }
  if (problem) return { int: null, float: NaN, percent, problem };

  const intDigits = whole.replace(/_/g, "");
  const fracDigits = (fraction ?? "").replace(/_/g, "");
  const exp = exponent === undefined ? 0 : Number(exponent.replace(/_/g, ""));
  const scale = SUFFIX_SCALE[suffix]!;
  const decimalExp = exp - fracDigits.length + (scale.base === 10n ? scale.power : 0);
  const binaryFactor = scale.base === 2n ? 2n ** BigInt(scale.power) : 1n;

  let int: bigint | null = null;
  const mantissa = BigInt(intDigits + fracDigits) * binaryFactor;
  if (Math.abs(decimalExp) <= MAX_EXACT_EXPONENT) {
    if (decimalExp >= 0) int = mantissa * 10n ** BigInt(decimalExp);
    else {
      const divisor = 10n ** BigInt(-decimalExp);
      int = mantissa % divisor === 0n ? mantissa / divisor : null;
    }
  }
  const float =
    int !== null
      ? Number(int)
      : Number(`${intDigits}.${fracDigits || "0"}e${exp + (scale.base === 10n ? scale.power : 0)}`) * Number(binaryFactor);
  return { int, float, percent, problem: null };
}

// ─── Separators ─────────────────────────────────────────────────────────────

const OPENERS = new Set<TokenType>([LParen, LBracket, LCurly]);
const CLOSER_OF = new Map<TokenType, TokenType>([
  [RParen, LParen],
  [RBracket, LBracket],
  [RCurly, LCurly],
]);
/** After these a line cannot end a statement, so a newline there is a continuation. */
const CONTINUES = new Set<TokenType>([
  LCurly, Comma, Colon, Equals, Plus, Minus, Star, Slash, Percent, Caret,
  EqEq, NotEq, Less, LessEq, Greater, GreaterEq, And, Or, Not,
]);

/**
 * Turns newlines into statement separators or drops them: newlines inside
 * `( )` and `[ ]` are insignificant, runs of separators collapse to one,
 * separators at the start, after `{`, after an operator or before `}` and
 * `else` carry no meaning. The grammar then only ever sees a single `Sep`.
 */
export function separateStatements(tokens: readonly IToken[]): IToken[] {
  const out: IToken[] = [];
  const open: TokenType[] = [];
  const isSep = (t: IToken | undefined): boolean => t !== undefined && (t.tokenType === Newline || t.tokenType === Semicolon);
  for (const token of tokens) {
    const type = token.tokenType;
    if (type === Newline || type === Semicolon) {
      const top = open[open.length - 1];
      if (type === Newline && top !== undefined && top !== LCurly) continue;
      const prev = out[out.length - 1];
      if (prev === undefined || isSep(prev)) continue;
      if (type === Newline && CONTINUES.has(prev.tokenType)) continue;
      if (prev.tokenType === LCurly) continue;
      out.push(token);
      continue;
    }
    if (type === RCurly || type === Else) {
      while (isSep(out[out.length - 1]) && (type === RCurly || out[out.length - 1]!.tokenType === Newline)) out.pop();
    }
    if (OPENERS.has(type)) open.push(type);
    const opener = CLOSER_OF.get(type);
    if (opener !== undefined) {
      const at = open.lastIndexOf(opener);
      if (at >= 0) open.length = at;
    }
    out.push(token);
  }
  while (isSep(out[out.length - 1])) out.pop();
  return out;
}
