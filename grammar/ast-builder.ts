/**
 * CST → AST. A Chevrotain visitor with one method per parser rule builds the
 * typed nodes of ast.ts with exact spans. It also reports the syntax problems
 * the loose grammar lets through on purpose: statements not separated by a
 * newline or `;`, stray tokens, and `name = value` inside arguments.
 *
 * After recovery a CST may lack any child; every accessor here tolerates that
 * and fills a gap with an empty name at the place where something was missing.
 */
import type { CstChildrenDictionary, CstElement, CstNode, IToken } from "./chevrotain.js";
import type * as A from "./ast.js";
import type { Span, SpanFactory } from "../diagnostics/source.js";
import { diagnostic, type Diagnostic } from "../diagnostics/diagnostic.js";
import { stringValue, parseNumber, Identifier as IdentToken } from "./lexer.js";
import { sharedParser } from "./parser.js";
import { describeToken } from "./parser.js";

type Ctx = CstChildrenDictionary;

/**
 * Longest operator chain, prefix run or else-if chain kept in the AST. Chains
 * are parsed by loops, but the AST they fold into is as deep as they are long,
 * and every later pass walks it recursively.
 */
export const MAX_CHAIN = 1000;

function isToken(e: CstElement | undefined): e is IToken {
  return e !== undefined && (e as IToken).tokenType !== undefined;
}

/** A token that really is in the text (not one invented by recovery). */
function real(t: IToken | undefined): t is IToken {
  return t !== undefined && !t.isInsertedInRecovery && Number.isFinite(t.startOffset);
}

function tokenAt(ctx: Ctx, key: string, index = 0): IToken | undefined {
  const e = ctx[key]?.[index];
  return isToken(e) && real(e) ? e : undefined;
}

function tokens(ctx: Ctx, key: string): IToken[] {
  return (ctx[key] ?? []).filter((e): e is IToken => isToken(e) && real(e));
}

function nodeAt(ctx: Ctx, key: string, index = 0): CstNode | undefined {
  const e = ctx[key]?.[index];
  return e !== undefined && !isToken(e) ? e : undefined;
}

function nodes(ctx: Ctx, key: string): CstNode[] {
  return (ctx[key] ?? []).filter((e): e is CstNode => !isToken(e));
}

function startOf(e: CstElement): number {
  return isToken(e) ? e.startOffset : (e.location?.startOffset ?? NaN);
}

/** Children of several keys merged back into source order (Chevrotain groups them by name). */
function inSourceOrder(ctx: Ctx, keys: readonly string[]): { key: string; element: CstElement }[] {
  const all: { key: string; element: CstElement }[] = [];
  for (const key of keys) {
    for (const element of ctx[key] ?? []) {
      if (Number.isFinite(startOf(element)) && (!isToken(element) || real(element))) all.push({ key, element });
    }
  }
  return all.sort((a, b) => startOf(a.element) - startOf(b.element));
}

const BuilderBase = sharedParser().getBaseCstVisitorConstructor<number, unknown>();

/** Builds the AST of one file. `param` of every visit is the offset to use when the node turns out empty. */
export class AstBuilder extends BuilderBase {
  readonly diagnostics: Diagnostic[] = [];

  constructor(private readonly spans: SpanFactory) {
    super();
    this.validateVisitor();
  }

  // ─── Span helpers ─────────────────────────────────────────────────────────

  private tokenSpan(t: IToken): Span {
    return this.spans.span(t.startOffset, t.image.length);
  }

  private at(offset: number): Span {
    return this.spans.span(offset, 0);
  }

  /** Cover of the given spans (missing ones skipped); a zero-length span at `fallback` when none. */
  private cover(fallback: number, ...parts: (Span | undefined | null)[]): Span {
    const present = parts.filter((s): s is Span => s !== undefined && s !== null);
    if (present.length === 0) return this.at(fallback);
    return present.reduce((a, b) => this.spans.cover(a, b));
  }

  private end(s: Span): number {
    return s.offset + s.length;
  }

  private ident(t: IToken | undefined, fallback: number): A.Identifier {
    if (t === undefined || t.tokenType !== IdentToken) return { kind: "Identifier", name: "", span: this.at(fallback) };
    return { kind: "Identifier", name: t.image, span: this.tokenSpan(t) };
  }

  /** The expression of a child node, or an empty name at `fallback` when recovery left nothing. */
  private expr(node: CstNode | undefined, fallback: number): A.Expr {
    const built = node ? (this.visit(node, fallback) as A.Expr | undefined) : undefined;
    return built ?? { kind: "Name", name: "", span: this.at(fallback) };
  }

  private afterToken(t: IToken | undefined, fallback: number): number {
    return t ? t.startOffset + t.image.length : fallback;
  }

  /** Keeps the first MAX_CHAIN elements and reports the rest once. */
  private capped<X>(list: X[], at: (x: X) => Span): X[] {
    if (list.length <= MAX_CHAIN) return list;
    this.diagnostics.push(
      diagnostic({
        code: "E0012",
        message: `expression or chain too long (more than ${MAX_CHAIN} operators or links)`,
        span: at(list[MAX_CHAIN]!),
        label: "the limit is passed here",
        help: "split it with `let` constants",
      }),
    );
    return list.slice(0, MAX_CHAIN);
  }

  // ─── Separation and strays ────────────────────────────────────────────────

  /**
   * Walks the items of a file or body in source order: reports a run of stray
   * tokens once, and two statements with no separator between them.
   */
  private checkSequence(ctx: Ctx, itemKey: string, strayKey: string, expected: string, strayHelp: (t: IToken, prev: CstElement | undefined) => string | undefined): CstNode[] {
    const ordered = inSourceOrder(ctx, [itemKey, "Sep", strayKey]);
    const items: CstNode[] = [];
    let previous: { key: string; element: CstElement } | undefined;
    for (const entry of ordered) {
      if (entry.key === strayKey) {
        if (previous?.key !== strayKey) {
          const t = entry.element as IToken;
          this.diagnostics.push(
            diagnostic({
              code: "E0010",
              message: `unexpected ${describeToken(t)}`,
              span: this.tokenSpan(t),
              label: expected,
              help: strayHelp(t, previous?.element),
            }),
          );
        }
      } else if (entry.key === itemKey) {
        const node = entry.element as CstNode;
        if (previous?.key === itemKey && !node.recoveredNode && !(previous.element as CstNode).recoveredNode) {
          const first = firstToken(node);
          if (first) {
            this.diagnostics.push(
              diagnostic({
                code: "E0014",
                message: `expected a newline or ';' before ${describeToken(first)}`,
                span: this.tokenSpan(first),
                label: "a new statement starts here",
                help: "put each statement on its own line, or separate them with ';'",
              }),
            );
          }
        }
        items.push(node);
      }
      previous = entry;
    }
    return items;
  }

  // ─── Declarations ─────────────────────────────────────────────────────────

  file(ctx: Ctx): A.SpecFile {
    const items = this.checkSequence(ctx, "declaration", "TopStray", "expected a declaration: import, let, block, model, train or budget", (t) => {
      if (t.tokenType === IdentToken) return "statements belong inside the body of a `model`, `block` or `train`";
      if (t.image === "}") return "this '}' closes nothing";
      return undefined;
    });
    const declarations = items.map((n) => this.visit(n, 0) as A.Declaration | undefined).filter((d): d is A.Declaration => d !== undefined);
    return { kind: "File", path: this.spans.source.path, declarations, comments: [], span: this.spans.span(0, this.spans.source.text.length) };
  }

  declaration(ctx: Ctx, fallback: number): A.Declaration | undefined {
    for (const key of ["importDecl", "letDecl", "blockDecl", "modelDecl", "trainDecl", "budgetDecl"]) {
      const node = nodeAt(ctx, key);
      if (node) return this.visit(node, fallback) as A.Declaration;
    }
    return undefined;
  }

  importDecl(ctx: Ctx, fallback: number): A.ImportDecl {
    const keyword = tokenAt(ctx, "Import");
    const str = tokenAt(ctx, "String");
    const start = keyword ? keyword.startOffset : fallback;
    const path: A.StringLiteral = str
      ? { kind: "String", raw: str.image, value: stringValue(str.image).value, span: this.tokenSpan(str) }
      : { kind: "String", raw: '""', value: "", span: this.at(this.afterToken(keyword, start)) };
    return { kind: "Import", path, span: this.cover(start, keyword && this.tokenSpan(keyword), str && path.span) };
  }

  letDecl(ctx: Ctx, fallback: number): A.LetDecl {
    const keyword = tokenAt(ctx, "Let");
    const start = keyword ? keyword.startOffset : fallback;
    const nameTok = tokenAt(ctx, "Identifier");
    const name = this.ident(nameTok, this.afterToken(keyword, start));
    const eq = tokenAt(ctx, "Equals");
    const value = this.expr(nodeAt(ctx, "expression"), this.afterToken(eq ?? nameTok ?? keyword, start));
    return { kind: "Let", name, value, span: this.cover(start, keyword && this.tokenSpan(keyword), nameTok && name.span, value.span) };
  }

  blockDecl(ctx: Ctx, fallback: number): A.BlockDecl {
    const keyword = tokenAt(ctx, "Block");
    const start = keyword ? keyword.startOffset : fallback;
    const nameTok = tokenAt(ctx, "Identifier");
    const name = this.ident(nameTok, this.afterToken(keyword, start));
    const close = tokenAt(ctx, "RParen");
    const params = nodes(ctx, "param").map((p) => this.visit(p, start) as A.BlockParam);
    const body = this.bodyOf(nodeAt(ctx, "body"), this.afterToken(close ?? nameTok ?? keyword, start));
    return { kind: "Block", name, params, body, span: this.cover(start, keyword && this.tokenSpan(keyword), body.span) };
  }

  param(ctx: Ctx, fallback: number): A.BlockParam {
    const nameTok = tokenAt(ctx, "Identifier");
    const name = this.ident(nameTok, fallback);
    const eq = tokenAt(ctx, "Equals");
    const defaultNode = nodeAt(ctx, "expression");
    const def = eq || defaultNode ? this.expr(defaultNode, this.afterToken(eq, name.span.offset)) : null;
    return { kind: "BlockParam", name, default: def, span: this.cover(name.span.offset, name.span, def?.span) };
  }

  modelDecl(ctx: Ctx, fallback: number): A.ModelDecl {
    const { name, body, span } = this.namedBody(ctx, "Model", fallback);
    return { kind: "Model", name, body, span };
  }

  trainDecl(ctx: Ctx, fallback: number): A.TrainDecl {
    const { name, body, span } = this.namedBody(ctx, "Train", fallback);
    return { kind: "Train", model: name, body, span };
  }

  private namedBody(ctx: Ctx, keywordKey: string, fallback: number): { keyword: IToken | undefined; name: A.Identifier; body: A.Body; span: Span } {
    const keyword = tokenAt(ctx, keywordKey);
    const start = keyword ? keyword.startOffset : fallback;
    const nameTok = tokenAt(ctx, "Identifier");
    const name = this.ident(nameTok, this.afterToken(keyword, start));
    const body = this.bodyOf(nodeAt(ctx, "body"), this.afterToken(nameTok ?? keyword, start));
    return { keyword, name, body, span: this.cover(start, keyword && this.tokenSpan(keyword), body.span) };
  }

  budgetDecl(ctx: Ctx, fallback: number): A.BudgetDecl {
    const keyword = tokenAt(ctx, "Budget");
    const start = keyword ? keyword.startOffset : fallback;
    const nameTok = tokenAt(ctx, "Identifier");
    const model = this.ident(nameTok, this.afterToken(keyword, start));
    const close = tokenAt(ctx, "RCurly");
    const itemNodes = this.checkSequence(ctx, "budgetItem", "BodyStray", "expected a budget line like `params <= 5M`", () => undefined);
    const items = itemNodes.map((n) => this.visit(n, start) as A.BudgetItem);
    const lastItem = items[items.length - 1];
    return { kind: "Budget", model, items, span: this.cover(start, keyword && this.tokenSpan(keyword), close && this.tokenSpan(close), lastItem?.span) };
  }

  budgetItem(ctx: Ctx, fallback: number): A.BudgetItem {
    const metricTok = tokenAt(ctx, "metric");
    const metric = this.ident(metricTok, fallback);
    const qualifiers = tokens(ctx, "qualifier").map((t): A.Identifier => ({ kind: "Identifier", name: t.image, span: this.tokenSpan(t) }));
    const opNode = nodeAt(ctx, "compareOp");
    const opTok = opNode ? tokenAt(opNode.children, "op") : undefined;
    const afterQualifiers = this.afterToken(tokenAt(ctx, "RParen") ?? metricTok, metric.span.offset);
    const op = (opTok?.image ?? "<=") as A.CompareOp;
    if (!opNode) {
      this.diagnostics.push(
        diagnostic({
          code: "E0010",
          message: `expected a comparison ('<=', '<', '>=', '>' or '==') after ${metricTok ? `'${metricTok.image}'` : "the metric"}`,
          span: this.at(afterQualifiers),
          label: "expected '<=' here",
          help: "a budget line reads like `params <= 5M`",
        }),
      );
    }
    const opSpan = opTok ? this.tokenSpan(opTok) : this.at(afterQualifiers);
    const limit = this.expr(nodeAt(ctx, "expression"), this.end(opSpan));
    const unitTok = tokenAt(ctx, "unit");
    const targetTok = tokenAt(ctx, "target");
    const unit = unitTok ? this.ident(unitTok, 0) : null;
    const target = targetTok ? this.ident(targetTok, 0) : null;
    return {
      kind: "BudgetItem",
      metric,
      qualifiers,
      op,
      opSpan,
      limit,
      unit,
      target,
      span: this.cover(metric.span.offset, metric.span, limit.span, unit?.span, target?.span),
    };
  }

  compareOp(): undefined {
    return undefined; // read directly by budgetItem
  }

  // ─── Bodies and statements ────────────────────────────────────────────────

  private bodyOf(node: CstNode | undefined, fallback: number): A.Body {
    return node ? (this.visit(node, fallback) as A.Body) : { kind: "Body", statements: [], span: this.at(fallback) };
  }

  body(ctx: Ctx, fallback: number): A.Body {
    const open = tokenAt(ctx, "LCurly");
    const close = tokenAt(ctx, "RCurly");
    const items = this.checkSequence(ctx, "bodyStatement", "BodyStray", "expected a statement", (t, prev) => {
      const after = isToken(prev) ? undefined : prev;
      if ((t.image === "=" || t.image === ":") && after !== undefined) {
        const head = firstToken(after);
        return head ? `a statement is written \`${head.image} value\`, without '${t.image}'` : undefined;
      }
      return undefined;
    });
    const statements = items
      .map((n) => this.visit(n, open ? open.startOffset : fallback) as A.BodyStatement | undefined)
      .filter((s): s is A.BodyStatement => s !== undefined);
    const start = open ? open.startOffset : fallback;
    const last = statements[statements.length - 1];
    return { kind: "Body", statements, span: this.cover(start, open && this.tokenSpan(open), last?.span, close && this.tokenSpan(close)) };
  }

  bodyStatement(ctx: Ctx, fallback: number): A.BodyStatement | undefined {
    for (const key of ["letDecl", "repeatStatement", "ifStatement", "residualStatement", "statement"]) {
      const node = nodeAt(ctx, key);
      if (node) return this.visit(node, fallback) as A.BodyStatement;
    }
    return undefined;
  }

  repeatStatement(ctx: Ctx, fallback: number): A.RepeatStatement {
    const keyword = tokenAt(ctx, "Repeat");
    const start = keyword ? keyword.startOffset : fallback;
    const count = this.expr(nodeAt(ctx, "expression"), this.afterToken(keyword, start));
    const asTok = tokenAt(ctx, "As");
    const indexTok = tokenAt(ctx, "Identifier");
    const index = asTok || indexTok ? this.ident(indexTok, this.afterToken(asTok, this.end(count.span))) : null;
    const body = this.bodyOf(nodeAt(ctx, "body"), index ? this.end(index.span) : this.end(count.span));
    return { kind: "Repeat", count, index, body, span: this.cover(start, keyword && this.tokenSpan(keyword), body.span) };
  }

  ifStatement(ctx: Ctx, fallback: number): A.IfStatement {
    const keyword = tokenAt(ctx, "If");
    const start = keyword ? keyword.startOffset : fallback;
    const condition = this.expr(nodeAt(ctx, "expression"), this.afterToken(keyword, start));
    const then = this.bodyOf(nodeAt(ctx, "body"), this.end(condition.span));
    const elseBodyNode = nodeAt(ctx, "elseBody");
    let otherwise: A.Body | A.IfStatement | null = elseBodyNode ? this.bodyOf(elseBodyNode, this.end(then.span)) : null;
    // Fold the else-if links from the last one back, so each `else if` owns what follows it.
    const links = this.capped(nodes(ctx, "elseIf"), (t) => this.at(t.location?.startOffset ?? fallback));
    for (let i = links.length - 1; i >= 0; i--) {
      otherwise = this.elseIfLink(links[i]!.children, this.end(then.span), otherwise);
    }
    return { kind: "If", condition, then, otherwise, span: this.cover(start, keyword && this.tokenSpan(keyword), then.span, otherwise?.span) };
  }

  private elseIfLink(ctx: Ctx, fallback: number, otherwise: A.Body | A.IfStatement | null): A.IfStatement {
    const keyword = tokenAt(ctx, "If");
    const start = keyword ? keyword.startOffset : fallback;
    const condition = this.expr(nodeAt(ctx, "expression"), this.afterToken(keyword, start));
    const then = this.bodyOf(nodeAt(ctx, "body"), this.end(condition.span));
    return { kind: "If", condition, then, otherwise, span: this.cover(start, keyword && this.tokenSpan(keyword), then.span, otherwise?.span) };
  }

  elseIf(): undefined {
    return undefined; // folded by ifStatement
  }

  residualStatement(ctx: Ctx, fallback: number): A.ResidualStatement {
    const keyword = tokenAt(ctx, "Residual");
    const start = keyword ? keyword.startOffset : fallback;
    const body = this.bodyOf(nodeAt(ctx, "body"), this.afterToken(keyword, start));
    return { kind: "Residual", body, span: this.cover(start, keyword && this.tokenSpan(keyword), body.span) };
  }

  statement(ctx: Ctx, fallback: number): A.Statement {
    const headTok = tokenAt(ctx, "Identifier");
    const head = this.ident(headTok, fallback);
    const valueNode = nodeAt(ctx, "value");
    const value = valueNode ? this.expr(valueNode, this.end(head.span)) : null;
    const argsNode = nodeAt(ctx, "argList");
    let args: A.Argument[] | null = null;
    let argsSpan: Span | null = null;
    if (argsNode) {
      const built = this.visit(argsNode, value ? this.end(value.span) : this.end(head.span)) as { args: A.Argument[]; span: Span };
      args = built.args;
      argsSpan = built.span;
    }
    return { kind: "Statement", head, value, args, argsSpan, span: this.cover(head.span.offset, head.span, value?.span, argsSpan) };
  }

  argList(ctx: Ctx, fallback: number): { args: A.Argument[]; span: Span } {
    const open = tokenAt(ctx, "LParen");
    const close = tokenAt(ctx, "RParen");
    const start = open ? open.startOffset : fallback;
    const args = nodes(ctx, "arg").map((n) => this.visit(n, start) as A.Argument);
    const last = args[args.length - 1];
    return { args, span: this.cover(start, open && this.tokenSpan(open), last?.span, close && this.tokenSpan(close)) };
  }

  arg(ctx: Ctx, fallback: number): A.Argument {
    const nameTok = tokenAt(ctx, "name");
    const name = nameTok ? this.ident(nameTok, fallback) : null;
    const separator = tokenAt(ctx, "Colon") ?? tokenAt(ctx, "equalsInsteadOfColon");
    const wrong = tokenAt(ctx, "equalsInsteadOfColon");
    if (wrong) {
      this.diagnostics.push(
        diagnostic({
          code: "E0015",
          message: "arguments are written `name: value`, not `name = value`",
          span: this.tokenSpan(wrong),
          label: "expected ':' here",
          help: `did you mean \`:\`? write \`${nameTok?.image ?? "name"}: …\``,
        }),
      );
    }
    const value = this.expr(nodeAt(ctx, "expression"), this.afterToken(separator ?? nameTok, fallback));
    return { kind: "Argument", name, value, span: this.cover(value.span.offset, name?.span, value.span) };
  }

  // ─── Expressions ──────────────────────────────────────────────────────────

  expression(ctx: Ctx, fallback: number): A.Expr {
    return this.expr(nodeAt(ctx, "orExpr"), fallback);
  }

  /** Left-associative fold of `operand (op operand)*`. */
  private chain(ctx: Ctx, fallback: number): A.Expr {
    const operands = nodes(ctx, "operand");
    const ops = this.capped(tokens(ctx, "op"), (t) => this.tokenSpan(t));
    let left = this.expr(operands[0], fallback);
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      const opSpan = this.tokenSpan(op);
      const right = this.expr(operands[i + 1], this.end(opSpan));
      left = { kind: "Binary", op: op.image as A.BinaryOp, left, right, opSpan, span: this.spans.cover(left.span, right.span) };
    }
    return left;
  }

  orExpr(ctx: Ctx, fallback: number): A.Expr {
    return this.chain(ctx, fallback);
  }
  andExpr(ctx: Ctx, fallback: number): A.Expr {
    return this.chain(ctx, fallback);
  }
  compareExpr(ctx: Ctx, fallback: number): A.Expr {
    return this.chain(ctx, fallback);
  }
  sumExpr(ctx: Ctx, fallback: number): A.Expr {
    return this.chain(ctx, fallback);
  }
  productExpr(ctx: Ctx, fallback: number): A.Expr {
    return this.chain(ctx, fallback);
  }

  /** Prefix operators, innermost last: `- not x` is -(not x). */
  private prefixed(all: IToken[], operand: A.Expr): A.Expr {
    const ops = this.capped(all, (t) => this.tokenSpan(t));
    let result = operand;
    for (let i = ops.length - 1; i >= 0; i--) {
      const op = ops[i]!;
      result = { kind: "Unary", op: op.image as A.UnaryOp, operand: result, span: this.spans.cover(this.tokenSpan(op), result.span) };
    }
    return result;
  }

  notExpr(ctx: Ctx, fallback: number): A.Expr {
    const ops = tokens(ctx, "op");
    const start = ops.length ? this.afterToken(ops[ops.length - 1], fallback) : fallback;
    return this.prefixed(ops, this.expr(nodeAt(ctx, "compareExpr"), start));
  }

  unaryExpr(ctx: Ctx, fallback: number): A.Expr {
    const signs = tokens(ctx, "sign");
    const start = signs.length ? this.afterToken(signs[signs.length - 1], fallback) : fallback;
    return this.prefixed(signs, this.expr(nodeAt(ctx, "powerExpr"), start));
  }

  /** `a ^ -b ^ c` is a ^ (-(b ^ c)): fold the tails from the right. */
  powerExpr(ctx: Ctx, fallback: number): A.Expr {
    const base = this.expr(nodeAt(ctx, "primary"), fallback);
    const tails = this.capped(nodes(ctx, "powerTail"), (t) => this.at(t.location?.startOffset ?? fallback)).map((t) => {
      const caret = tokenAt(t.children, "Caret");
      const signs = tokens(t.children, "sign");
      const opSpan = caret ? this.tokenSpan(caret) : this.at(fallback);
      const operandStart = signs.length ? this.afterToken(signs[signs.length - 1], fallback) : this.end(opSpan);
      return { opSpan, signs, primary: this.expr(nodeAt(t.children, "primary"), operandStart) };
    });
    if (tails.length === 0) return base;
    const last = tails[tails.length - 1]!;
    let right = this.prefixed(last.signs, last.primary);
    for (let i = tails.length - 1; i >= 1; i--) {
      const left = tails[i - 1]!.primary;
      const power: A.Expr = { kind: "Binary", op: "^", left, right, opSpan: tails[i]!.opSpan, span: this.spans.cover(left.span, right.span) };
      right = this.prefixed(tails[i - 1]!.signs, power);
    }
    return { kind: "Binary", op: "^", left: base, right, opSpan: tails[0]!.opSpan, span: this.spans.cover(base.span, right.span) };
  }

  powerTail(): undefined {
    return undefined; // folded by powerExpr
  }

  primary(ctx: Ctx, fallback: number): A.Expr | undefined {
    const num = tokenAt(ctx, "Number");
    if (num) {
      const v = parseNumber(num.image);
      return { kind: "Number", raw: num.image, int: v.int, float: v.float, percent: v.percent, span: this.tokenSpan(num) };
    }
    const str = tokenAt(ctx, "String");
    if (str) return { kind: "String", raw: str.image, value: stringValue(str.image).value, span: this.tokenSpan(str) };
    const t = tokenAt(ctx, "True");
    if (t) return { kind: "Bool", value: true, span: this.tokenSpan(t) };
    const f = tokenAt(ctx, "False");
    if (f) return { kind: "Bool", value: false, span: this.tokenSpan(f) };
    const id = tokenAt(ctx, "Identifier");
    if (id) return { kind: "Name", name: id.image, span: this.tokenSpan(id) };
    const group = nodeAt(ctx, "parenOrTuple") ?? nodeAt(ctx, "list");
    return group ? (this.visit(group, fallback) as A.Expr) : undefined;
  }

  parenOrTuple(ctx: Ctx, fallback: number): A.Expr {
    const open = tokenAt(ctx, "LParen");
    const close = tokenAt(ctx, "RParen");
    const start = open ? open.startOffset : fallback;
    const items = nodes(ctx, "item").map((n) => this.expr(n, this.afterToken(open, start)));
    const last = items[items.length - 1];
    const span = this.cover(start, open && this.tokenSpan(open), last?.span, close && this.tokenSpan(close));
    if ((ctx["Comma"] ?? []).length > 0 || items.length !== 1) return { kind: "Tuple", items, span };
    return { kind: "Paren", inner: items[0]!, span };
  }

  list(ctx: Ctx, fallback: number): A.ListExpr {
    const open = tokenAt(ctx, "LBracket");
    const close = tokenAt(ctx, "RBracket");
    const start = open ? open.startOffset : fallback;
    const items = nodes(ctx, "item").map((n) => this.expr(n, this.afterToken(open, start)));
    const last = items[items.length - 1];
    return { kind: "List", items, span: this.cover(start, open && this.tokenSpan(open), last?.span, close && this.tokenSpan(close)) };
  }
}

/** First real token of a CST node, depth-first. */
export function firstToken(node: CstNode): IToken | undefined {
  let best: IToken | undefined;
  for (const children of Object.values(node.children)) {
    for (const child of children) {
      const t = isToken(child) ? (real(child) ? child : undefined) : firstToken(child);
      if (t && (best === undefined || t.startOffset < best.startOffset)) best = t;
    }
  }
  return best;
}
