/**
 * Constant folding of expressions. Integer arithmetic is exact (BigInt); `/`
 * on integers must divide exactly; any float operand makes the result a
 * float. Errors are reported once at the operator or operand and evaluate to
 * the `error` value, which stays silent as it propagates.
 */
import type { BinaryExpr, Expr, LetDecl, LetStatement, ListExpr } from "../../grammar/ast.js";
import type { Span } from "../../diagnostics/source.js";
import type { Reporter } from "./report.js";
import type { Binding, Scope } from "./scope.js";
import { aTypeName, ERROR, groupDigits, show, typeName, withList, type Value } from "./values.js";

/** One value list met while evaluating: an axis of the sweep. */
export interface Axis {
  readonly key: string;
  readonly name: string;
  readonly span: Span;
  readonly size: number;
}

/** Lets used anywhere in the program, for the unused-let warning. */
export type UsageSet = Set<LetDecl | LetStatement>;

/**
 * The state of evaluating one variant: which item each list picks, the lists
 * met so far, and the values of top-level lets (computed once per variant).
 */
export class Run {
  readonly discovered: Axis[] = [];
  /** The value each met list picked, by axis key. */
  readonly picked = new Map<string, Value>();
  private readonly letValues = new Map<LetDecl, Value>();
  private readonly letsInProgress = new Set<LetDecl>();

  constructor(
    readonly reporter: Reporter,
    readonly usage: UsageSet,
    readonly selection: ReadonlyMap<string, number> = new Map(),
  ) {}

  eval(expr: Expr, scope: Scope, hint?: string): Value {
    switch (expr.kind) {
      case "Number":
        if (expr.int === null && !Number.isFinite(expr.float)) {
          // `1e2000`: a literal no double holds (exact integers up to 1e1000 stay exact).
          this.reporter.report({
            code: "E0205",
            message: "number too large",
            span: expr.span,
            label: "this overflows a double",
            help: "numbers must be finite doubles (at most about 1.8e308)",
          });
          return ERROR;
        }
        if (expr.percent) return { t: "percent", v: expr.float / 100 };
        return expr.int !== null ? { t: "int", v: expr.int } : { t: "float", v: expr.float };
      case "String":
        return { t: "string", v: expr.value };
      case "Bool":
        return { t: "bool", v: expr.value };
      case "Name":
        return this.lookup(expr.name, expr.span, scope);
      case "Paren":
        return this.eval(expr.inner, scope, hint);
      case "Tuple": {
        const items = expr.items.map((item) => this.eval(item, scope, hint));
        if (items.some((i) => i.t === "error")) return ERROR;
        return withList({ t: "tuple", items }, items.find((i) => i.fromList)?.fromList);
      }
      case "List":
        return this.list(expr, scope, hint);
      case "Unary":
        return this.unary(expr.op, this.eval(expr.operand, scope, hint), expr.span);
      case "Binary":
        return this.binary(expr, this.eval(expr.left, scope, hint), this.eval(expr.right, scope, hint));
    }
  }

  private lookup(name: string, span: Span, scope: Scope): Value {
    const binding = scope.lookup(name);
    if (!binding) return { t: "word", v: name };
    return this.valueOf(binding, span);
  }

  valueOf(binding: Binding, use: Span): Value {
    switch (binding.kind) {
      case "local":
        this.usage.add(binding.decl);
        return binding.value;
      case "param":
      case "index":
        return binding.value;
      case "block":
        this.reporter.report({
          code: "E0206",
          message: `\`${binding.name.name}\` is a block, not a value`,
          span: use,
          label: "used as a value here",
          labels: [{ span: binding.name.span, message: "block defined here" }],
          help: `invoke it as a statement: \`${binding.name.name}(…)\``,
        });
        return ERROR;
      case "let":
        this.usage.add(binding.decl);
        return this.topLevelLet(binding.decl, binding.file, use);
    }
  }

  /** The value of a top-level let (computed once per run); does not count as a use. */
  topLevelLet(decl: LetDecl, file: Scope, use: Span): Value {
    const known = this.letValues.get(decl);
    if (known) return known;
    if (this.letsInProgress.has(decl)) {
      this.reporter.report({
        code: "E0108",
        message: `\`${decl.name.name}\` is defined in terms of itself`,
        span: use,
        label: "used while it is being defined",
        labels: [{ span: decl.name.span, message: "defined here" }],
      });
      return ERROR;
    }
    this.letsInProgress.add(decl);
    const value = this.eval(decl.value, file, decl.name.name);
    this.letsInProgress.delete(decl);
    this.letValues.set(decl, value);
    return value;
  }

  private list(expr: ListExpr, scope: Scope, hint: string | undefined): Value {
    if (expr.items.length === 0) {
      this.reporter.report({
        code: "E0213",
        message: "a value list needs at least one value",
        span: expr.span,
        label: "empty list",
        help: "write the values to sweep over, e.g. `[128, 256]`, or a single value without brackets",
      });
      return ERROR;
    }
    const key = `${expr.span.file}:${expr.span.offset}`;
    const index = Math.min(this.selection.get(key) ?? 0, expr.items.length - 1);
    if (!this.discovered.some((a) => a.key === key)) {
      this.discovered.push({ key, name: hint ?? "list", span: expr.span, size: expr.items.length });
    }
    const item = expr.items[index]!;
    const value = this.eval(item, scope, hint);
    if (value.t === "error") return value;
    if (value.fromList && item.kind === "List") {
      this.reporter.report({
        code: "E0209",
        message: "a value list cannot contain another value list",
        span: item.span,
        label: "nested list",
        help: "flatten the lists into one, e.g. `[a, b, c]`",
      });
      return ERROR;
    }
    this.picked.set(key, value);
    return { ...value, fromList: expr.span };
  }

  private unary(op: "-" | "+" | "not", value: Value, span: Span): Value {
    if (value.t === "error") return value;
    if (op === "not") {
      if (value.t === "bool") return withList({ t: "bool", v: !value.v }, value.fromList);
    } else if (value.t === "int") {
      return withList({ t: "int", v: op === "-" ? -value.v : value.v }, value.fromList);
    } else if (value.t === "float" || value.t === "percent") {
      return withList({ t: value.t, v: op === "-" ? -value.v : value.v }, value.fromList);
    }
    this.reporter.report({
      code: "E0201",
      message: `cannot apply \`${op}\` to ${aTypeName(value)}`,
      span,
      label: `${typeName(value)} ${show(value)}`,
    });
    return ERROR;
  }

  private binary(expr: BinaryExpr, left: Value, right: Value): Value {
    if (left.t === "error" || right.t === "error") return ERROR;
    const list = left.fromList ?? right.fromList;
    const result = this.binaryValue(expr, left, right);
    return result.t === "error" ? result : withList(result, list);
  }

  private binaryValue(expr: BinaryExpr, left: Value, right: Value): Value {
    const op = expr.op;
    if (op === "and" || op === "or") {
      if (left.t === "bool" && right.t === "bool") return { t: "bool", v: op === "and" ? left.v && right.v : left.v || right.v };
      return this.typeError(expr, left, right);
    }
    if (op === "==" || op === "!=") {
      const equal = valuesEqual(left, right);
      if (equal === null) return this.typeError(expr, left, right);
      return { t: "bool", v: op === "==" ? equal : !equal };
    }
    if (op === "<" || op === "<=" || op === ">" || op === ">=") {
      const order = compareNumbers(left, right);
      if (order === null) return this.typeError(expr, left, right);
      const v = op === "<" ? order < 0 : op === "<=" ? order <= 0 : op === ">" ? order > 0 : order >= 0;
      return { t: "bool", v };
    }
    if (left.t === "int" && right.t === "int") return this.integer(expr, left.v, right.v);
    const isNum = (v: Value) => v.t === "int" || v.t === "float" || v.t === "percent";
    if (!isNum(left) || !isNum(right)) return this.typeError(expr, left, right);
    const a = left.t === "int" ? Number(left.v) : (left.v as number);
    const b = right.t === "int" ? Number(right.v) : (right.v as number);
    if ((op === "/" || op === "%") && b === 0) return this.divisionByZero(expr);
    const v = op === "+" ? a + b : op === "-" ? a - b : op === "*" ? a * b : op === "/" ? a / b : op === "%" ? a % b : a ** b;
    if (!Number.isFinite(v)) {
      this.reporter.report({ code: "E0205", message: "number too large", span: expr.span, label: "this overflows a double" });
      return ERROR;
    }
    // A percentage scaled by a number, or added to one, stays a percentage.
    const percent =
      (left.t === "percent" && right.t === "percent" && (op === "+" || op === "-")) ||
      ((left.t === "percent") !== (right.t === "percent") && (op === "*" || (op === "/" && left.t === "percent")));
    return { t: percent ? "percent" : "float", v };
  }

  private integer(expr: BinaryExpr, a: bigint, b: bigint): Value {
    switch (expr.op) {
      case "+": return { t: "int", v: a + b };
      case "-": return { t: "int", v: a - b };
      case "*": return { t: "int", v: a * b };
      case "%":
        if (b === 0n) return this.divisionByZero(expr);
        return { t: "int", v: a % b };
      case "/": {
        if (b === 0n) return this.divisionByZero(expr);
        if (a % b === 0n) return { t: "int", v: a / b };
        const q = a / b;
        const below = q * b;
        const above = (a > 0n) === (b > 0n) ? below + b : below - b;
        const [lo, hi] = below < above ? [below, above] : [above, below];
        this.reporter.report({
          code: "E0202",
          message: `${groupDigits(a)} / ${groupDigits(b)} is not a whole number`,
          span: expr.opSpan,
          label: `leaves a remainder of ${groupDigits(a % b < 0n ? -(a % b) : a % b)}`,
          labels: [{ span: expr.span, message: "in this division" }],
          help: `the nearest exact divisions are ${groupDigits(lo)} / ${groupDigits(b)} = ${groupDigits(lo / b)} and ${groupDigits(hi)} / ${groupDigits(b)} = ${groupDigits(hi / b)}; write a float (e.g. \`${a}.0 / ${b}\`) for a fraction`,
        });
        return ERROR;
      }
      case "^": {
        if (b < 0n) return this.badExponent(expr, b, "a negative exponent does not give an integer");
        const bits = BigInt(a < 0n ? (-a).toString(2).length : a.toString(2).length);
        if (b > 4096n || (a !== 0n && a !== 1n && a !== -1n && bits * b > 4096n)) {
          return this.badExponent(expr, b, "the result would have more than 4096 bits");
        }
        return { t: "int", v: a ** b };
      }
      default:
        return ERROR;
    }
  }

  private badExponent(expr: BinaryExpr, b: bigint, why: string): Value {
    this.reporter.report({
      code: "E0204",
      message: `exponent ${groupDigits(b)} is out of range`,
      span: expr.right.span,
      label: why,
      help: b < 0n ? "use a float base for a fraction, e.g. `2.0^-3`" : "use a smaller exponent",
    });
    return ERROR;
  }

  private divisionByZero(expr: BinaryExpr): Value {
    this.reporter.report({ code: "E0203", message: "division by zero", span: expr.right.span, label: "this is zero" });
    return ERROR;
  }

  private typeError(expr: BinaryExpr, left: Value, right: Value): Value {
    this.reporter.report({
      code: "E0201",
      message: `cannot apply \`${expr.op}\` to ${aTypeName(left)} and ${aTypeName(right)}`,
      span: expr.opSpan,
      label: `${show(left)} ${expr.op} ${show(right)}`,
      labels: [
        { span: expr.left.span, message: typeName(left) },
        { span: expr.right.span, message: typeName(right) },
      ],
      help: expectedFor(expr.op),
    });
    return ERROR;
  }
}

function expectedFor(op: string): string {
  if (op === "and" || op === "or") return `\`${op}\` needs two bools`;
  if (op === "==" || op === "!=") return "compare two values of the same type";
  return `\`${op}\` needs two numbers`;
}

function valuesEqual(a: Value, b: Value): boolean | null {
  const order = compareNumbers(a, b);
  if (order !== null) return order === 0;
  if (a.t !== b.t) {
    // A word and a string compare by their text: `act == "gelu"`.
    if ((a.t === "word" || a.t === "string") && (b.t === "word" || b.t === "string")) return a.v === b.v;
    return null;
  }
  if (a.t === "tuple" && b.t === "tuple") {
    if (a.items.length !== b.items.length) return false;
    return a.items.every((x, i) => valuesEqual(x, b.items[i]!) === true);
  }
  if ("v" in a && "v" in b) return a.v === b.v;
  return null;
}

function compareNumbers(a: Value, b: Value): number | null {
  if (a.t === "int" && b.t === "int") return a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
  const x = a.t === "int" ? Number(a.v) : a.t === "float" || a.t === "percent" ? a.v : null;
  const y = b.t === "int" ? Number(b.v) : b.t === "float" || b.t === "percent" ? b.v : null;
  if (x === null || y === null) return null;
  return x < y ? -1 : x > y ? 1 : 0;
}
