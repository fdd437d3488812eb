/**
 * The concrete-syntax parser: one Chevrotain rule per production of the EBNF in
 * grammar/README.md. Bodies and the file are parsed loosely (statements,
 * separators and stray tokens in any order) so that recovery stays local; the
 * AST builder then checks that statements are separated and reports strays.
 * Expression operator chains are loops, not recursion, and the remaining
 * recursion (parentheses, lists, nested bodies) is capped by `MAX_NESTING`, so
 * no input can exhaust the stack.
 */
import { CstParser, EOF, type IParserErrorMessageProvider, type IToken, type TokenType } from "./chevrotain.js";
import * as T from "./lexer.js";

/** Deepest nesting of parentheses, brackets and bodies the parser descends into. */
export const MAX_NESTING = 100;

/** What a parser error was about, keyed by its message (messages are built from exactly these facts). */
export type ErrorInfo =
  | { readonly kind: "mismatch"; readonly expected: TokenType; readonly ruleName: string }
  | { readonly kind: "noViableAlt"; readonly ruleName: string; readonly tooDeep: boolean }
  | { readonly kind: "notAllInput" }
  | { readonly kind: "earlyExit"; readonly ruleName: string };

/** Names of the expression rules, where "no viable alternative" means a value is missing. */
export const EXPRESSION_RULES = new Set([
  "expression", "orExpr", "andExpr", "notExpr", "compareExpr", "sumExpr",
  "productExpr", "unaryExpr", "powerExpr", "powerTail", "primary",
]);

const CLOSER_CONTEXT: Record<string, string> = {
  argList: "the argument list",
  blockDecl: "the parameter list",
  budgetItem: "the qualifier list",
  parenOrTuple: "the parentheses",
  list: "the value list",
  body: "the body",
  budgetDecl: "the body",
};

export function describeToken(token: IToken): string {
  if (token.tokenType === EOF) return "the end of the file";
  if (token.tokenType === T.Newline) return "the end of the line";
  return `'${token.image}'`;
}

/** Compiler-style wording for Chevrotain's errors; `info` lets parse.ts refine them with context. */
class PeerErrorMessages implements IParserErrorMessageProvider {
  readonly info = new Map<string, ErrorInfo>();
  parser: PeerParser | null = null;

  private record(message: string, info: ErrorInfo): string {
    this.info.set(message, info);
    return message;
  }

  buildMismatchTokenMessage(options: { expected: TokenType; actual: IToken; previous: IToken; ruleName: string }): string {
    const { expected, actual, ruleName } = options;
    const context = CLOSER_CONTEXT[ruleName];
    const isCloser = expected === T.RParen || expected === T.RBracket || expected === T.RCurly;
    const what = isCloser && context ? `${T.describeTokenType(expected)} to close ${context}` : T.describeTokenType(expected);
    const found = actual.tokenType === EOF ? "reached the end of the file" : `found ${describeToken(actual)}`;
    return this.record(`expected ${what} but ${found}`, { kind: "mismatch", expected, ruleName });
  }

  buildNotAllInputParsedMessage(options: { firstRedundant: IToken; ruleName: string }): string {
    return this.record(`unexpected ${describeToken(options.firstRedundant)}`, { kind: "notAllInput" });
  }

  buildNoViableAltMessage(options: { actual: IToken[]; previous: IToken; ruleName: string }): string {
    const tooDeep = (this.parser?.nesting ?? 0) >= MAX_NESTING;
    if (tooDeep) return this.record("expression nested too deeply", { kind: "noViableAlt", ruleName: options.ruleName, tooDeep });
    const actual = options.actual[0];
    const found = actual ? describeToken(actual) : "nothing";
    const message = EXPRESSION_RULES.has(options.ruleName)
      ? `expected a value but found ${found}`
      : `unexpected ${found} in ${options.ruleName}`;
    return this.record(message, { kind: "noViableAlt", ruleName: options.ruleName, tooDeep });
  }

  buildEarlyExitMessage(options: { actual: IToken[]; ruleName: string }): string {
    const actual = options.actual[0];
    return this.record(`unexpected ${actual ? describeToken(actual) : "end"} in ${options.ruleName}`, { kind: "earlyExit", ruleName: options.ruleName });
  }
}

export class PeerParser extends CstParser {
  /** Current depth of nested expressions and bodies (see MAX_NESTING). */
  nesting = 0;
  readonly messages: PeerErrorMessages;

  constructor() {
    const messages = new PeerErrorMessages();
    super(T.allTokens, {
      recoveryEnabled: true,
      nodeLocationTracking: "full",
      maxLookahead: 3,
      errorMessageProvider: messages,
    });
    this.messages = messages;
    messages.parser = this;
    this.performSelfAnalysis();
  }

  private readonly shallow = (): boolean => this.nesting < MAX_NESTING;

  /** Runs `inner` one nesting level deeper; the finally keeps the count right when recovery throws through. */
  private nested(inner: () => void): void {
    this.nesting++;
    try {
      inner();
    } finally {
      this.nesting--;
    }
  }

  // ─── Declarations ─────────────────────────────────────────────────────────

  /** File = { Declaration Sep } ;   (loose: separators and strays are checked by the AST builder) */
  file = this.RULE("file", () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.declaration) },
        { ALT: () => this.CONSUME(T.Sep) },
        { ALT: () => this.CONSUME(T.TopStray) },
      ]);
    });
  });

  /** Declaration = Import | Let | Block | Model | Train | Budget ; */
  declaration = this.RULE("declaration", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.importDecl) },
      { ALT: () => this.SUBRULE(this.letDecl) },
      { ALT: () => this.SUBRULE(this.blockDecl) },
      { ALT: () => this.SUBRULE(this.modelDecl) },
      { ALT: () => this.SUBRULE(this.trainDecl) },
      { ALT: () => this.SUBRULE(this.budgetDecl) },
    ]);
  });

  /** Import = "import" String ; */
  importDecl = this.RULE("importDecl", () => {
    this.CONSUME(T.Import);
    this.CONSUME(T.StringLit);
  });

  /** Let = "let" Ident "=" Expr ; */
  letDecl = this.RULE("letDecl", () => {
    this.CONSUME(T.Let);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
  });

  /** Block = "block" Ident "(" [ Param { "," Param } [","] ] ")" Body ; */
  blockDecl = this.RULE("blockDecl", () => {
    this.CONSUME(T.Block);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.param);
      this.MANY({
        GATE: () => this.LA(2).tokenType !== T.RParen,
        DEF: () => {
          this.CONSUME(T.Comma);
          this.SUBRULE2(this.param);
        },
      });
      this.OPTION2(() => this.CONSUME2(T.Comma, { LABEL: "trailingComma" }));
    });
    this.CONSUME(T.RParen);
    this.SUBRULE(this.body);
  });

  /** Param = Ident [ "=" Expr ] ; */
  param = this.RULE("param", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.expression);
    });
  });

  /** Model = "model" Ident Body ; */
  modelDecl = this.RULE("modelDecl", () => {
    this.CONSUME(T.Model);
    this.CONSUME(T.Identifier);
    this.SUBRULE(this.body);
  });

  /** Train = "train" Ident Body ; */
  trainDecl = this.RULE("trainDecl", () => {
    this.CONSUME(T.Train);
    this.CONSUME(T.Identifier);
    this.SUBRULE(this.body);
  });

  /** Budget = "budget" Ident "{" { BudgetItem Sep } "}" ; */
  budgetDecl = this.RULE("budgetDecl", () => {
    this.CONSUME(T.Budget);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.LCurly);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.SUBRULE(this.budgetItem) },
        { ALT: () => this.CONSUME(T.Sep) },
        { ALT: () => this.CONSUME(T.BodyStray) },
      ]);
    });
    this.CONSUME(T.RCurly);
  });

  /** BudgetItem = Ident [ "(" Word { "," Word } ")" ] CompareOp Expr [ Ident ] [ "on" Ident ] ; */
  budgetItem = this.RULE("budgetItem", () => {
    this.CONSUME(T.Identifier, { LABEL: "metric" });
    // A `(` right after the metric always opens qualifiers (a limit never follows without an operator).
    this.OPTION({
      MAX_LOOKAHEAD: 1,
      DEF: () => {
      this.CONSUME(T.LParen);
      this.CONSUME(T.QualifierWord, { LABEL: "qualifier" });
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.CONSUME2(T.QualifierWord, { LABEL: "qualifier" });
      });
      this.CONSUME(T.RParen);
      },
    });
    // Optional only so that a missing operator is reported by the AST builder without losing the line.
    this.OPTION4(() => this.SUBRULE(this.compareOp));
    this.SUBRULE(this.expression);
    this.OPTION2(() => this.CONSUME4(T.Identifier, { LABEL: "unit" }));
    this.OPTION3(() => {
      this.CONSUME(T.On);
      this.CONSUME5(T.Identifier, { LABEL: "target" });
    });
  });

  /** CompareOp = "<=" | "<" | ">=" | ">" | "==" ; */
  compareOp = this.RULE("compareOp", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.LessEq, { LABEL: "op" }) },
      { ALT: () => this.CONSUME(T.Less, { LABEL: "op" }) },
      { ALT: () => this.CONSUME(T.GreaterEq, { LABEL: "op" }) },
      { ALT: () => this.CONSUME(T.Greater, { LABEL: "op" }) },
      { ALT: () => this.CONSUME(T.EqEq, { LABEL: "op" }) },
    ]);
  });

  // ─── Bodies and statements ────────────────────────────────────────────────

  /** Body = "{" { BodyStmt Sep } "}" ;   (loose, like File) */
  body = this.RULE("body", () => {
    this.CONSUME(T.LCurly);
    this.nested(() => {
      this.MANY(() => {
        this.OR([
          { ALT: () => this.SUBRULE(this.bodyStatement) },
          { ALT: () => this.CONSUME(T.Sep) },
          { ALT: () => this.CONSUME(T.BodyStray) },
        ]);
      });
    });
    this.CONSUME(T.RCurly);
  });

  /** BodyStmt = Let | Repeat | If | Residual | Statement ; */
  bodyStatement = this.RULE("bodyStatement", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.letDecl) },
      { GATE: this.shallow, ALT: () => this.SUBRULE(this.repeatStatement) },
      { GATE: this.shallow, ALT: () => this.SUBRULE(this.ifStatement) },
      { GATE: this.shallow, ALT: () => this.SUBRULE(this.residualStatement) },
      { ALT: () => this.SUBRULE(this.statement) },
    ]);
  });

  /** Repeat = "repeat" Expr [ "as" Ident ] Body ; */
  repeatStatement = this.RULE("repeatStatement", () => {
    this.CONSUME(T.Repeat);
    this.SUBRULE(this.expression);
    this.OPTION(() => {
      this.CONSUME(T.As);
      this.CONSUME(T.Identifier);
    });
    this.SUBRULE(this.body);
  });

  /** If = "if" Expr Body [ "else" ( If | Body ) ] ;   (else-if chains are a loop here) */
  ifStatement = this.RULE("ifStatement", () => {
    this.CONSUME(T.If);
    this.SUBRULE(this.expression);
    this.SUBRULE(this.body);
    this.MANY(() => this.SUBRULE(this.elseIf));
    this.OPTION(() => {
      this.CONSUME(T.Else);
      this.SUBRULE2(this.body, { LABEL: "elseBody" });
    });
  });

  /** "else" "if" Expr Body — one link of an else-if chain. */
  elseIf = this.RULE("elseIf", () => {
    this.CONSUME(T.Else);
    this.CONSUME(T.If);
    this.SUBRULE(this.expression);
    this.SUBRULE(this.body);
  });

  /** Residual = "residual" Body ; */
  residualStatement = this.RULE("residualStatement", () => {
    this.CONSUME(T.Residual);
    this.SUBRULE(this.body);
  });

  /** Statement = Ident [ Value ] [ "(" [ Arg { "," Arg } [","] ] ")" ] ;   a `(` right after the head opens the arguments */
  statement = this.RULE("statement", () => {
    this.CONSUME(T.Identifier);
    this.OPTION({
      GATE: () => this.LA(1).tokenType !== T.LParen,
      DEF: () => this.SUBRULE(this.expression, { LABEL: "value" }),
    });
    this.OPTION2(() => this.SUBRULE(this.argList));
  });

  /** "(" [ Arg { "," Arg } [","] ] ")" */
  argList = this.RULE("argList", () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.arg);
      this.MANY({
        GATE: () => this.LA(2).tokenType !== T.RParen,
        DEF: () => {
          this.CONSUME(T.Comma);
          this.SUBRULE2(this.arg);
        },
      });
      this.OPTION2(() => this.CONSUME2(T.Comma, { LABEL: "trailingComma" }));
    });
    this.CONSUME(T.RParen);
  });

  /** Arg = [ Ident ":" ] Expr ;   (`name = value` is accepted here only to be reported with a fix) */
  arg = this.RULE("arg", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Identifier, { LABEL: "name" });
          this.CONSUME(T.Colon);
          this.SUBRULE(this.expression);
        },
      },
      {
        ALT: () => {
          this.CONSUME2(T.Identifier, { LABEL: "name" });
          this.CONSUME(T.Equals, { LABEL: "equalsInsteadOfColon" });
          this.SUBRULE2(this.expression);
        },
      },
      { ALT: () => this.SUBRULE3(this.expression) },
    ]);
  });

  // ─── Expressions ──────────────────────────────────────────────────────────

  /** Expr = Or ; */
  expression = this.RULE("expression", () => {
    this.nested(() => this.SUBRULE(this.orExpr));
  });

  /** Or = And { "or" And } ; */
  orExpr = this.RULE("orExpr", () => {
    this.SUBRULE(this.andExpr, { LABEL: "operand" });
    this.MANY(() => {
      this.CONSUME(T.Or, { LABEL: "op" });
      this.SUBRULE2(this.andExpr, { LABEL: "operand" });
    });
  });

  /** And = Not { "and" Not } ; */
  andExpr = this.RULE("andExpr", () => {
    this.SUBRULE(this.notExpr, { LABEL: "operand" });
    this.MANY(() => {
      this.CONSUME(T.And, { LABEL: "op" });
      this.SUBRULE2(this.notExpr, { LABEL: "operand" });
    });
  });

  /** Not = "not" Not | Compare ;   (as a loop: { "not" } Compare) */
  notExpr = this.RULE("notExpr", () => {
    this.MANY(() => this.CONSUME(T.Not, { LABEL: "op" }));
    this.SUBRULE(this.compareExpr);
  });

  /** Compare = Sum [ ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) Sum ] ; */
  compareExpr = this.RULE("compareExpr", () => {
    this.SUBRULE(this.sumExpr, { LABEL: "operand" });
    this.OPTION(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.EqEq, { LABEL: "op" }) },
        { ALT: () => this.CONSUME(T.NotEq, { LABEL: "op" }) },
        { ALT: () => this.CONSUME(T.LessEq, { LABEL: "op" }) },
        { ALT: () => this.CONSUME(T.Less, { LABEL: "op" }) },
        { ALT: () => this.CONSUME(T.GreaterEq, { LABEL: "op" }) },
        { ALT: () => this.CONSUME(T.Greater, { LABEL: "op" }) },
      ]);
      this.SUBRULE2(this.sumExpr, { LABEL: "operand" });
    });
  });

  /** Sum = Product { ( "+" | "-" ) Product } ; */
  sumExpr = this.RULE("sumExpr", () => {
    this.SUBRULE(this.productExpr, { LABEL: "operand" });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Plus, { LABEL: "op" }) },
        { ALT: () => this.CONSUME(T.Minus, { LABEL: "op" }) },
      ]);
      this.SUBRULE2(this.productExpr, { LABEL: "operand" });
    });
  });

  /** Product = Unary { ( "*" | "/" | "%" ) Unary } ; */
  productExpr = this.RULE("productExpr", () => {
    this.SUBRULE(this.unaryExpr, { LABEL: "operand" });
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Star, { LABEL: "op" }) },
        { ALT: () => this.CONSUME(T.Slash, { LABEL: "op" }) },
        { ALT: () => this.CONSUME(T.Percent, { LABEL: "op" }) },
      ]);
      this.SUBRULE2(this.unaryExpr, { LABEL: "operand" });
    });
  });

  /** Unary = ( "-" | "+" ) Unary | Power ;   (as a loop: { "-" | "+" } Power) */
  unaryExpr = this.RULE("unaryExpr", () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Minus, { LABEL: "sign" }) },
        { ALT: () => this.CONSUME(T.Plus, { LABEL: "sign" }) },
      ]);
    });
    this.SUBRULE(this.powerExpr);
  });

  /** Power = Primary [ "^" Unary ] ;   (as a loop of tails, folded right-associatively by the AST builder) */
  powerExpr = this.RULE("powerExpr", () => {
    this.SUBRULE(this.primary);
    this.MANY(() => this.SUBRULE(this.powerTail));
  });

  /** "^" { "-" | "+" } Primary — one exponent of a power chain. */
  powerTail = this.RULE("powerTail", () => {
    this.CONSUME(T.Caret);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Minus, { LABEL: "sign" }) },
        { ALT: () => this.CONSUME(T.Plus, { LABEL: "sign" }) },
      ]);
    });
    this.SUBRULE(this.primary);
  });

  /** Primary = Number | String | "true" | "false" | Ident | "(" Expr ")" | Tuple | List ; */
  primary = this.RULE("primary", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.NumberLit) },
      { ALT: () => this.CONSUME(T.StringLit) },
      { ALT: () => this.CONSUME(T.True) },
      { ALT: () => this.CONSUME(T.False) },
      { ALT: () => this.CONSUME(T.Identifier) },
      { GATE: this.shallow, ALT: () => this.SUBRULE(this.parenOrTuple) },
      { GATE: this.shallow, ALT: () => this.SUBRULE(this.list) },
    ]);
  });

  /** "(" Expr ")" | "(" Expr "," [ Expr { "," Expr } [","] ] ")" */
  parenOrTuple = this.RULE("parenOrTuple", () => {
    this.CONSUME(T.LParen);
    this.SUBRULE(this.expression, { LABEL: "item" });
    this.OPTION(() => {
      this.CONSUME(T.Comma);
      this.OPTION2(() => {
        this.SUBRULE2(this.expression, { LABEL: "item" });
        this.MANY({
          GATE: () => this.LA(2).tokenType !== T.RParen,
          DEF: () => {
            this.CONSUME2(T.Comma);
            this.SUBRULE3(this.expression, { LABEL: "item" });
          },
        });
        this.OPTION3(() => this.CONSUME3(T.Comma));
      });
    });
    this.CONSUME(T.RParen);
  });

  /** "[" [ Expr { "," Expr } [","] ] "]" */
  list = this.RULE("list", () => {
    this.CONSUME(T.LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.expression, { LABEL: "item" });
      this.MANY({
        GATE: () => this.LA(2).tokenType !== T.RBracket,
        DEF: () => {
          this.CONSUME(T.Comma);
          this.SUBRULE2(this.expression, { LABEL: "item" });
        },
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.CONSUME(T.RBracket);
  });
}

let shared: PeerParser | null = null;

/** The one parser instance (self-analysis is expensive; the instance is reset per input). */
export function sharedParser(): PeerParser {
  shared ??= new PeerParser();
  return shared;
}
