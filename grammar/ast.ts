/**
 * The typed AST of a .peer file, built by the CST visitor (grammar/ast-builder.ts).
 * Every node carries the span of the text it came from. The AST is syntax only:
 * names are not resolved and expressions are not evaluated (that is compiler/check).
 */
import type { Span } from "../diagnostics/source.js";

interface NodeBase {
  readonly span: Span;
}

export interface Identifier extends NodeBase {
  readonly kind: "Identifier";
  readonly name: string;
}

// ─── Expressions ────────────────────────────────────────────────────────────

/**
 * A number as written: `1024`, `1_000`, `3e-4`, `2.5e9`, `128K`, `4Mi`, `10%`.
 * Suffixes scale exactly (K = 10^3, M = 10^6, G = 10^9, T = 10^12, Ki = 2^10,
 * Mi = 2^20, Gi = 2^30, Ti = 2^40). `int` holds the exact value when the scaled
 * literal is a whole number (so `1.5K` is 1500n but `1.5` is not an integer);
 * `float` always holds the nearest double. A `%` literal keeps its written value
 * (`10%` → int 10n, percent true); the checker turns it into a fraction.
 */
export interface NumberLiteral extends NodeBase {
  readonly kind: "Number";
  readonly raw: string;
  readonly int: bigint | null;
  readonly float: number;
  readonly percent: boolean;
}

/** A double-quoted string; `value` has escapes (\\ \" \n \t \u{…}) resolved. */
export interface StringLiteral extends NodeBase {
  readonly kind: "String";
  readonly raw: string;
  readonly value: string;
}

export interface BoolLiteral extends NodeBase {
  readonly kind: "Bool";
  readonly value: boolean;
}

/** A bare name: a `let`, a block parameter, a repeat index, or an enum word like `gelu`. */
export interface NameRef extends NodeBase {
  readonly kind: "Name";
  readonly name: string;
}

export type UnaryOp = "-" | "+" | "not";
export interface UnaryExpr extends NodeBase {
  readonly kind: "Unary";
  readonly op: UnaryOp;
  readonly operand: Expr;
}

export type BinaryOp =
  | "+" | "-" | "*" | "/" | "%" | "^"
  | "==" | "!=" | "<" | "<=" | ">" | ">="
  | "and" | "or";
export interface BinaryExpr extends NodeBase {
  readonly kind: "Binary";
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
  /** Span of the operator token, for "cannot divide exactly" style messages. */
  readonly opSpan: Span;
}

/** `(a, b)`: a fixed group, e.g. Adam betas. A single parenthesised expr is a `Paren`. */
export interface TupleExpr extends NodeBase {
  readonly kind: "Tuple";
  readonly items: readonly Expr[];
}

export interface ParenExpr extends NodeBase {
  readonly kind: "Paren";
  readonly inner: Expr;
}

/** `[a, b, c]`: a value list. Wherever it is used, the model expands into one variant per item (a sweep). */
export interface ListExpr extends NodeBase {
  readonly kind: "List";
  readonly items: readonly Expr[];
}

export type Expr =
  | NumberLiteral
  | StringLiteral
  | BoolLiteral
  | NameRef
  | UnaryExpr
  | BinaryExpr
  | TupleExpr
  | ParenExpr
  | ListExpr;

// ─── Statements inside model / block / train bodies ─────────────────────────

/** `name: value` or a positional `value` inside `( … )`. A positional bare name is a flag (`causal`). */
export interface Argument extends NodeBase {
  readonly kind: "Argument";
  readonly name: Identifier | null;
  readonly value: Expr;
}

/**
 * The general statement: `head value? (args)?`. Examples:
 *   `vocab 32000`                       head vocab, value 32000
 *   `norm rms`                          head norm, value Name(rms)
 *   `embed tokens(dim: d)`              head embed, value Name(tokens), args [dim: d]
 *   `peer(experts: 1024^2, heads: 8)`   head peer, args
 *   `mixer(d: 512)`                     a block invocation (the checker decides by name)
 *   `optimizer adamw(lr: 3e-4)`         in a train section
 */
export interface Statement extends NodeBase {
  readonly kind: "Statement";
  readonly head: Identifier;
  readonly value: Expr | null;
  /** null when there are no parentheses; [] for `()`. */
  readonly args: readonly Argument[] | null;
  /** Span of `( … )` including the parentheses, when present. */
  readonly argsSpan: Span | null;
}

export interface LetStatement extends NodeBase {
  readonly kind: "Let";
  readonly name: Identifier;
  readonly value: Expr;
}

/** `repeat count as index { … }`; the index counts from 0. */
export interface RepeatStatement extends NodeBase {
  readonly kind: "Repeat";
  readonly count: Expr;
  readonly index: Identifier | null;
  readonly body: Body;
}

/** `if cond { … } else if … { … } else { … }` on compile-time values. */
export interface IfStatement extends NodeBase {
  readonly kind: "If";
  readonly condition: Expr;
  readonly then: Body;
  readonly otherwise: Body | IfStatement | null;
}

/** `residual { … }`: x + body(x). */
export interface ResidualStatement extends NodeBase {
  readonly kind: "Residual";
  readonly body: Body;
}

export type BodyStatement = Statement | LetStatement | RepeatStatement | IfStatement | ResidualStatement;

export interface Body extends NodeBase {
  readonly kind: "Body";
  readonly statements: readonly BodyStatement[];
}

// ─── Top-level declarations ─────────────────────────────────────────────────

/** `import "blocks.peer"`: every top-level `let`, `block` and `model` of that file comes into scope. */
export interface ImportDecl extends NodeBase {
  readonly kind: "Import";
  readonly path: StringLiteral;
}

export interface LetDecl extends NodeBase {
  readonly kind: "Let";
  readonly name: Identifier;
  readonly value: Expr;
}

export interface BlockParam extends NodeBase {
  readonly kind: "BlockParam";
  readonly name: Identifier;
  readonly default: Expr | null;
}

/** `block name(p, q = 4) { … }`: a parametrised group of statements, expanded where invoked. */
export interface BlockDecl extends NodeBase {
  readonly kind: "Block";
  readonly name: Identifier;
  readonly params: readonly BlockParam[];
  readonly body: Body;
}

export interface ModelDecl extends NodeBase {
  readonly kind: "Model";
  readonly name: Identifier;
  readonly body: Body;
}

/** `train model_name { batch 128; steps 10K; optimizer adamw(…); … }` */
export interface TrainDecl extends NodeBase {
  readonly kind: "Train";
  readonly model: Identifier;
  readonly body: Body;
}

export type CompareOp = "<=" | "<" | ">=" | ">" | "==";

/**
 * One budget line: `metric(qualifiers)? op limit unit? (on target)?`, e.g.
 *   `params <= 2.5e9`, `flops_per_token <= 1.2 GFLOP`, `memory(train, bf16) <= 80 GiB on h100`.
 */
export interface BudgetItem extends NodeBase {
  readonly kind: "BudgetItem";
  readonly metric: Identifier;
  /** Words inside `( … )` after the metric; [] when absent. */
  readonly qualifiers: readonly Identifier[];
  readonly op: CompareOp;
  readonly opSpan: Span;
  readonly limit: Expr;
  readonly unit: Identifier | null;
  readonly target: Identifier | null;
}

export interface BudgetDecl extends NodeBase {
  readonly kind: "Budget";
  readonly model: Identifier;
  readonly items: readonly BudgetItem[];
}

export type Declaration = ImportDecl | LetDecl | BlockDecl | ModelDecl | TrainDecl | BudgetDecl;

/** A `//` line or `/* … *\/` block comment, kept for `peerc fmt`. */
export interface Comment extends NodeBase {
  readonly kind: "Comment";
  readonly text: string;
  readonly block: boolean;
}

export interface SpecFile extends NodeBase {
  readonly kind: "File";
  readonly path: string;
  readonly declarations: readonly Declaration[];
  readonly comments: readonly Comment[];
}
